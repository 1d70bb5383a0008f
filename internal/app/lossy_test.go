package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// A county of 400 probe-mode cameras behind a network that resets 10 % of
// the connections at accept, every stream up, with a camera-offline rule
// that raises an incident after one second: over several probe intervals
// no camera is offline or degraded, no cause is auth or not_found, and no
// incident is open (a single camera's nor a village's outage).
func TestLossyCountyRaisesNothing(t *testing.T) {
	testenv.Short(t)
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t, "snowhub")
	srv, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return simcam.ProbeCamera() })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.SetFaults(rawrtsp.Faults{Drop: 0.1})
	const n, interval = 400, 3 * time.Second
	var b strings.Builder
	dir := t.TempDir()
	fmt.Fprintf(&b, `listen: 127.0.0.1:%d
data_dir: %s
mqtt: {broker: %s, client_id: snowhub-lossy}
influx: {url: %s, bucket: snowhub, flush_interval: 200ms}
county: {id: changwu, name: 长武县}
camera:
  probe_interval: %s
  media_check_interval: 6s
alerts:
  rules:
    - {name: camera-gone, type: offline, kinds: [camera], for: 1s, severity: major}
townships:
`, testenv.FreePort(t), filepath.Join(dir, "data"), mq.URL, db.URL, interval)
	for tw := range 2 {
		fmt.Fprintf(&b, "  - id: t%d\n    name: 镇%d\n    villages:\n", tw, tw)
		for v := range 4 {
			fmt.Fprintf(&b, "      - {id: v%d%d, name: 村%d%d}\n", tw, v, tw, v)
		}
	}
	b.WriteString("cameras:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: cam-%03d, village: v%d%d, url: %q, transport: tcp, watch: false}\n", i, i%2, i/2%4, srv.URL(fmt.Sprintf("/cam-%03d", i)))
	}
	fmt.Fprintf(&b, "users:\n  - {name: county-ops, role: operator, token: %s}\n", opsToken)
	path := filepath.Join(dir, "snowhub.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &e2eEnv{t: t, path: path}
	e.start()
	t.Cleanup(e.stop)
	testenv.WaitFor(t, 30*time.Second, "every camera known", func() bool {
		cams := e.cameras(opsToken)
		for _, c := range cams {
			if c.State == event.StateUnknown {
				return false
			}
		}
		return len(cams) == n
	})
	end := time.Now().Add(5 * interval)
	bad := 0
	for time.Now().Before(end) {
		for _, c := range e.cameras(opsToken) {
			if c.State != event.StateOnline || c.Cause == "auth" || c.Cause == "not_found" {
				if bad++; bad <= 5 {
					t.Errorf("%s: %s (%s) with every stream up", c.ID, c.State, c.Cause)
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	if inc := e.incidents(opsToken); len(inc) > 0 {
		for i, x := range inc[:min(len(inc), 5)] {
			t.Errorf("incident %d: %s %s (%s)", i, x.Kind, x.Title, x.Device)
		}
		t.Errorf("%d incidents open with every stream up", len(inc))
	}
	if srv.Dropped.Load() == 0 {
		t.Fatal("no connection was dropped: the network was not lossy")
	}
	t.Logf("%d connections reset at accept; %d false states seen", srv.Dropped.Load(), bad)
}
