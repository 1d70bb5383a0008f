package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// TestCountyOutageOneIncident: the devices of four villages of two
// townships go offline within seconds, over real MQTT into the hub
// process. The hub opens one county-level incident (county_outage) for
// the technicians naming the villages, not one per village or device,
// no township desk gets it, and the figures count it as the technicians'.
func TestCountyOutageOneIncident(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	dir := t.TempDir()
	port := testenv.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "listen: 127.0.0.1:%d\ndata_dir: %s\nmqtt: {broker: %q, client_id: snowhub-county}\n", port, filepath.Join(dir, "data"), mq.URL)
	cfg.WriteString("influx: {url: \"http://127.0.0.1:1\"}\ncounty: {id: c, name: C}\n" +
		"townships:\n  - id: t1\n    name: T1\n    villages:\n      - {id: v1, name: 东街社区}\n      - {id: v2, name: 西街社区}\n" +
		"  - id: t2\n    name: T2\n    villages:\n      - {id: v3, name: 相公村}\n      - {id: v4, name: 宇家村}\n      - {id: v5, name: 巨家村}\n" +
		"alerts:\n  no_default_rules: true\n  rules:\n    - {name: sensor-gone, type: offline, kinds: [smoke], for: 1s, severity: minor}\nsensors:\n")
	for v := 1; v <= 5; v++ {
		for i := range 2 {
			fmt.Fprintf(&cfg, "  - {id: smoke-v%d-%d, kind: smoke, village: v%d}\n", v, i, v)
		}
	}
	cfg.WriteString("users:\n  - {name: ops, role: operator, token: " + opsToken + "}\n  - {name: t1-desk, role: township, township: t1, token: t1-desk-token-0123456789}\n")
	path := filepath.Join(dir, "snowhub.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	hub := testenv.NewHub(t, path, port)
	get := func(token, url string, v any) bool {
		req, _ := http.NewRequest("GET", hub.Base+url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(v) == nil
	}
	hub.Start()

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID("county-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	status := func(sensor, st string) {
		tok := pub.Publish("snowbright/sensors/"+sensor+"/status", 1, true, st)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", sensor, tok.Error())
		}
	}
	for v := 1; v <= 5; v++ {
		for i := range 2 {
			status(fmt.Sprintf("smoke-v%d-%d", v, i), "online")
		}
	}
	for v := 1; v <= 4; v++ { // v5 stays up
		for i := range 2 {
			status(fmt.Sprintf("smoke-v%d-%d", v, i), "offline")
		}
	}

	var list []event.Incident
	testenv.WaitFor(t, 30*time.Second, "an incident of the outage", func() bool {
		list = nil
		return get(opsToken, "/api/v1/incidents?state=all", &list) && len(list) > 0
	})
	time.Sleep(3 * time.Second) // the offline rule's 1 s: a per-village or per-device incident would show now
	list = nil
	get(opsToken, "/api/v1/incidents?state=all", &list)
	if len(list) != 1 || list[0].Kind != "county_outage" {
		for _, inc := range list {
			t.Logf("incident %s: %s %s %v", inc.ID, inc.Kind, inc.Title, inc.Devices)
		}
		t.Fatalf("%d incidents, want one county_outage", len(list))
	}
	co := list[0]
	if len(co.Devices) != 8 || co.Owner != "technicians" || co.Level != "county" || !strings.Contains(co.Title, "4 个村") {
		t.Errorf("county outage: devices %v owner %q level %q title %q", co.Devices, co.Owner, co.Level, co.Title)
	}
	var desk []event.Incident
	if !get("t1-desk-token-0123456789", "/api/v1/incidents?state=all", &desk) || len(desk) != 0 {
		t.Errorf("the township desk sees %d incidents, want none (the county outage is the technicians')", len(desk))
	}
	var stats struct {
		Rows []event.StatsRow `json:"rows"`
	}
	if !get(opsToken, "/api/v1/stats?group=township", &stats) {
		t.Fatal("stats: no answer")
	}
	opened := map[string]int{}
	for _, r := range stats.Rows {
		opened[r.Key] = r.Opened
	}
	if opened["technicians"] != 1 || opened["t1"] != 0 || opened["t2"] != 0 {
		t.Errorf("the figures count %v opened, want 1 for the technicians and none for the townships", opened)
	}
}
