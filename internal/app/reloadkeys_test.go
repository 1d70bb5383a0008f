package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"snowhub/configs"
	"snowhub/internal/test/testenv"
)

// Every configuration key is either applied by a reload or reported as
// needing a restart: a key added to configs.Config without a place in
// reloadkeys.go fails here.
func TestEveryConfigKeyIsClassified(t *testing.T) {
	keys := configKeys()
	if len(keys) < 50 {
		t.Fatalf("only %d keys found walking configs.Config", len(keys))
	}
	for _, k := range keys {
		live, restart := covered(liveKeys, k.path), covered(restartKeys, k.path)
		switch {
		case !live && !restart:
			t.Errorf("%s: neither applied live nor reported as needing restart: add it to liveKeys or restartKeys in reloadkeys.go", k.path)
		case live && restart:
			t.Errorf("%s: in both liveKeys and restartKeys", k.path)
		}
	}
	// An entry that names no key is a leftover (or a typo hiding a key).
	for _, list := range [][]string{liveKeys, restartKeys} {
		for _, entry := range list {
			found := false
			for _, k := range keys {
				if k.path == entry || strings.HasPrefix(k.path, entry+".") {
					found = true
				}
			}
			if !found {
				t.Errorf("reloadkeys.go names %q, which is no configuration key", entry)
			}
		}
	}
}

// A reload reports each changed key that only a restart applies (and keeps
// its running value), and applies the others: the device rate reaches
// ingest, while mqtt.workers and camera.stall_after wait for a restart.
func TestReloadSaysWhatNeedsRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snowhub.yaml")
	port := testenv.FreePort(t)
	file := func(extra string) string {
		return fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
mqtt: {broker: "", embedded_listen: "127.0.0.1:%d"%s}
influx: {url: "http://127.0.0.1:1"}
county: {id: c, name: C}
townships:
  - id: t1
    name: T1
    villages:
      - {id: v1, name: V1}
sensors:
  - {id: s-1, kind: smoke, village: v1}
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
`, filepath.Join(dir, "data"), port, extra)
	}
	os.WriteFile(path, []byte(file("")), 0o644)
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
	defer h.Close()
	workers := h.Config().MQTT.Workers

	os.WriteFile(path, []byte(file(", workers: 3, device_rate: 7")+"camera: {stall_after: 9s}\n"), 0o644)
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprint(h.readiness()["config"])
	for _, k := range []string{"mqtt.workers", "camera.stall_after"} {
		if !strings.Contains(msg, k) {
			t.Errorf("/readyz config %q does not name %s", msg, k)
		}
	}
	if strings.Contains(msg, "device_rate") || strings.Contains(msg, "mqtt.broker") || strings.Contains(msg, "mqtt.username") {
		t.Errorf("/readyz config %q names a key that was applied or did not change", msg)
	}
	if got := testutil.ToFloat64(h.metrics.restartPending); got != 2 {
		t.Errorf("snowhub_config_restart_pending = %v, want 2", got)
	}
	if c := h.Config(); c.MQTT.Workers != workers || c.MQTT.DeviceRateLimit != 7 || c.Camera.StallAfter == 9*time.Second {
		t.Errorf("running: workers %d (was %d), device_rate %v, stall_after %v", c.MQTT.Workers, workers, c.MQTT.DeviceRateLimit, c.Camera.StallAfter)
	}
	if !strings.HasPrefix(h.Config().MQTT.Broker, "tcp://") {
		t.Errorf("the embedded broker's address was lost: %q", h.Config().MQTT.Broker)
	}

	// Back to the file it started with: nothing waits for a restart.
	os.WriteFile(path, []byte(file("")), 0o644)
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	if err := h.readiness()["config"]; err != nil || testutil.ToFloat64(h.metrics.restartPending) != 0 {
		t.Errorf("after reverting: config %v", err)
	}
}

// The connection cap follows the cameras when the file gives none, without
// turning a reload that adds cameras into a "restart needed".
func TestMaxConnectingFollowsCameras(t *testing.T) {
	base := oneVillageYAML(t)
	small, err := configs.Parse("a.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	var more strings.Builder
	for i := 2; i <= 4000; i++ {
		fmt.Fprintf(&more, "  - {id: cam-%d, village: v1, url: \"rtsp://127.0.0.1:1/x\", watch: false}\n", i)
	}
	big, err := configs.Parse("b.yaml", []byte(strings.Replace(base, "sensors:\n", more.String()+"sensors:\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := maxConnecting(small); got != 32 {
		t.Errorf("1 camera: %d slots, want 32", got)
	}
	if got := maxConnecting(big); got != 100 {
		t.Errorf("4,000 cameras: %d slots, want 100", got)
	}
	for _, k := range changedKeys(small, big) {
		if strings.HasPrefix(k, "camera.") {
			t.Errorf("adding cameras changed the restart key %s", k)
		}
	}
	big.Camera.MaxConnecting = 7
	if got := maxConnecting(big); got != 7 {
		t.Errorf("a set cap: %d, want 7", got)
	}
}
