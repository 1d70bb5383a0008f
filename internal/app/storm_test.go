package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// TestAlarmStormOneIncident: a fire sets off 200 smoke sensors of one
// village within 10 s, over real MQTT into the hub process. The desk gets
// one matter naming the 200 devices, not 200 matters; the figures count it
// once; a burst of panic buttons in the same village stays one incident per
// button (alerts.storm.per_device), since each is a person asking for help.
func TestAlarmStormOneIncident(t *testing.T) {
	const smokes, panics = 200, 20
	mq := testenv.StartMosquitto(t)
	dir := t.TempDir()
	port := testenv.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "listen: 127.0.0.1:%d\ndata_dir: %s\nmqtt: {broker: %q, client_id: snowhub-storm}\n", port, filepath.Join(dir, "data"), mq.URL)
	cfg.WriteString("influx: {url: \"http://127.0.0.1:1\"}\ncounty: {id: c, name: C}\ntownships:\n  - id: t1\n    name: T1\n    villages:\n      - {id: v1, name: 东街社区}\n      - {id: v2, name: 西街社区}\nsensors:\n")
	for i := range smokes {
		fmt.Fprintf(&cfg, "  - {id: smoke-%03d, kind: smoke, village: v1}\n", i)
	}
	for i := range panics {
		fmt.Fprintf(&cfg, "  - {id: panic-%02d, kind: panic, village: v1}\n", i)
	}
	cfg.WriteString("  - {id: smoke-v2, kind: smoke, village: v2}\n")
	cfg.WriteString("users:\n  - {name: ops, role: operator, token: " + opsToken + "}\n")
	path := filepath.Join(dir, "snowhub.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	hub := testenv.NewHub(t, path, port)
	get := func(url string, v any) bool {
		req, _ := http.NewRequest("GET", hub.Base+url, nil)
		req.Header.Set("Authorization", "Bearer "+opsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(v) == nil
	}
	hub.Start()

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID("storm-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	send := func(sensor string) {
		tok := pub.Publish("snowbright/sensors/"+sensor+"/event", 1, false, `{"value":1}`)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", sensor, tok.Error())
		}
	}
	for i := range smokes {
		send(fmt.Sprintf("smoke-%03d", i))
		time.Sleep(10 * time.Second / smokes)
	}
	send("smoke-v2") // another village: its own matter
	for i := range panics {
		send(fmt.Sprintf("panic-%02d", i))
	}

	var list []event.Incident
	by := func(kind, village string) []event.Incident {
		var out []event.Incident
		for _, inc := range list {
			if inc.Kind == kind && inc.Village == village {
				out = append(out, inc)
			}
		}
		return out
	}
	testenv.WaitFor(t, 30*time.Second, "every alarm handled", func() bool {
		list = nil
		if !get("/api/v1/incidents?state=all", &list) {
			return false
		}
		n := 0 // alarms handled: a storm's devices, or one per incident
		for _, inc := range by("smoke", "v1") {
			n += max(len(inc.Devices), 1)
		}
		return n >= smokes && len(by("panic", "v1")) >= panics && len(by("smoke", "v2")) >= 1
	})
	time.Sleep(time.Second) // a late duplicate would show now
	list = nil
	get("/api/v1/incidents?state=all", &list)

	storm := by("smoke", "v1")
	if len(storm) != 1 {
		t.Fatalf("%d smoke incidents in v1, want 1", len(storm))
	}
	s := storm[0]
	if len(s.Devices) != smokes || s.Count != smokes {
		t.Errorf("the storm names %d devices with count %d, want %d", len(s.Devices), s.Count, smokes)
	}
	slices.Sort(s.Devices)
	for i, d := range slices.Compact(s.Devices) {
		if want := fmt.Sprintf("smoke-%03d", i); d != want {
			t.Fatalf("device %d of the storm is %s, want %s", i, d, want)
		}
	}
	if !strings.Contains(s.Title, fmt.Sprintf("%d 台", smokes)) {
		t.Errorf("the storm's title %q does not say %d 台", s.Title, smokes)
	}
	if n := len(by("smoke", "v2")); n != 1 {
		t.Errorf("the other village's smoke alarm: %d incidents, want 1 of its own", n)
	}
	seen := map[string]int{}
	for _, inc := range by("panic", "v1") {
		seen[inc.Device]++
		if len(inc.Devices) > 1 {
			t.Errorf("panic incident %s groups %v", inc.ID, inc.Devices)
		}
	}
	for i := range panics {
		if n := seen[fmt.Sprintf("panic-%02d", i)]; n != 1 {
			t.Errorf("panic-%02d has %d incidents, want 1", i, n)
		}
	}

	// The figures count the storm once: v1 opened one smoke matter and one
	// per panic button.
	var stats struct {
		Rows []event.StatsRow `json:"rows"`
	}
	if !get("/api/v1/stats?group=village", &stats) {
		t.Fatal("stats: no answer")
	}
	opened := map[string]int{}
	for _, r := range stats.Rows {
		opened[r.Key] = r.Opened
	}
	if opened["v1"] != 1+panics || opened["v2"] != 1 {
		t.Errorf("the figures count %v opened, want v1 %d and v2 1", opened, 1+panics)
	}
}
