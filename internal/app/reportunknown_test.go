package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/internal/test/testenv"
)

// The hub that reports unknown devices learns on a reload which devices
// the other hubs now own: a device added to another hub's township stops
// being listed as unknown here without a restart (it was listed until one,
// since the set was built once at start).
func TestReportUnknownFollowsReload(t *testing.T) {
	testenv.Short(t)
	mq := testenv.StartMosquitto(t)
	dir := t.TempDir()
	port := testenv.FreePort(t)
	path := filepath.Join(dir, "snowhub.yaml")
	write := func(otherDevices string) {
		body := fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
mqtt: {broker: %q, client_id: snowhub-north}
influx: {url: "http://127.0.0.1:1"}
county: {id: c, name: C}
townships:
  - id: t1
    name: T1
    villages:
      - {id: v1, name: V1}
  - id: t2
    name: T2
    villages:
      - {id: v2, name: V2}
sensors:
  - {id: smoke-own, kind: smoke, village: v1}
  - {id: smoke-other, kind: smoke, village: v2}
%susers:
  - {name: ops, role: operator, token: %s}
hub: {id: north, townships: [t1], report_unknown: true}
`, port, filepath.Join(dir, "data"), mq.URL, otherDevices, opsToken)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	hub := testenv.NewHub(t, path, port)
	hub.Start()

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID("unknown-devices"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("devices' client: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	publish := func(topic string) {
		t.Helper()
		if tok := pub.Publish(topic, 1, false, `{"value":true}`); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	unknown := func() []string {
		req, _ := http.NewRequest("GET", hub.Base+"/api/v1/sensors?unknown=1", nil)
		req.Header.Set("Authorization", "Bearer "+opsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var list []struct {
			ID string `json:"id"`
		}
		json.NewDecoder(resp.Body).Decode(&list)
		var ids []string
		for _, u := range list {
			ids = append(ids, u.ID)
		}
		slices.Sort(ids)
		return ids
	}

	// At start: another hub's sensor is not unknown; a device no hub has is.
	publish("snowbright/sensors/smoke-other/event")
	publish("snowbright/sensors/ghost-s/event")
	publish("snowbright/cameras/ghost-c/event")
	testenv.WaitFor(t, 10*time.Second, "ghost-s and ghost-c listed as unknown", func() bool {
		return slices.Equal(unknown(), []string{"ghost-c", "ghost-s"})
	})

	// Both ghosts are added to t2, another hub's township, and the hub
	// reloads: they leave the unknown list, and stay off it when they
	// publish again.
	write("  - {id: ghost-s, kind: smoke, village: v2}\ncameras:\n  - {id: ghost-c, village: v2, url: \"rtsp://127.0.0.1:1/x\", watch: false}\n")
	hub.Reload()
	testenv.WaitFor(t, 10*time.Second, "the reload takes the ghosts off the unknown list", func() bool {
		return len(unknown()) == 0
	})
	publish("snowbright/sensors/ghost-s/event")
	publish("snowbright/cameras/ghost-c/event")
	publish("snowbright/sensors/ghost-late/event") // still unknown: after it is listed, the others were handled
	testenv.WaitFor(t, 10*time.Second, "ghost-late listed as unknown", func() bool {
		return slices.Contains(unknown(), "ghost-late")
	})
	time.Sleep(200 * time.Millisecond) // the hub handles devices in parallel: give the others' workers their turn
	if got := unknown(); !slices.Equal(got, []string{"ghost-late"}) {
		t.Errorf("unknown after the reload: %v, want only ghost-late", got)
	}
}
