package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snowhub/camera"
	"snowhub/configs"
	"snowhub/internal/test/testenv"
)

// The whole hub, with its embedded broker and an unreachable InfluxDB,
// starts and closes without leaving a goroutine behind.
func TestHubStartCloseLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		// net/http's idle keep-alive readers end on their own timers.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
	y := oneVillageYAML(t)
	path := filepath.Join(t.TempDir(), "leak.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "mqtt ready", func() bool { return h.readiness()["mqtt"] == nil })
	resp, err := http.Get("http://" + h.Addr() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	h.Close()
	// A camera worker that reports after the hub stopped (a ticker that
	// fired during Close) must not panic with a send on a closed channel.
	late := camera.Transition{ID: "cam-1", At: time.Now(), From: "online", To: "offline", Cause: "late",
		Status: camera.Status{ID: "cam-1", State: "offline"}}
	h.onCameraTransition(late)
	h.onCameraSample(late.Status)
	// Nothing is accepted after Close.
	if err := h.Reload(cfg.Path); err == nil {
		t.Error("Reload after Close accepted")
	}
	if err := h.Start(context.Background()); err == nil {
		t.Error("Start after Close accepted")
	}
	http.DefaultClient.CloseIdleConnections()
}

// oneVillageYAML is a county of one village with one watched camera, one
// smoke sensor and the operator, on the embedded broker (a free port) and an
// unreachable InfluxDB.
func oneVillageYAML(t *testing.T) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
mqtt: {broker: "", embedded_listen: "127.0.0.1:%d"}
influx: {url: "http://127.0.0.1:1"}
county: {id: c, name: C}
townships:
  - id: t1
    name: T1
    villages:
      - {id: v1, name: V1}
cameras:
  - {id: cam-1, village: v1, url: "rtsp://127.0.0.1:1/x", watch: true}
sensors:
  - {id: s-1, kind: smoke, village: v1}
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
`, t.TempDir(), testenv.FreePort(t))
}
