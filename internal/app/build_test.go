package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"snowhub/configs"
	"snowhub/internal/test/testenv"
)

// buildConfig writes and loads a county configuration with mqtt and hub
// sections of the caller's choosing.
func buildConfig(t *testing.T, dataDir, listen, mqtt, hub string) *configs.Config {
	t.Helper()
	y := fmt.Sprintf(`listen: %s
data_dir: %s
mqtt: %s
influx: {url: "http://127.0.0.1:1"}
%s
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
`, listen, dataDir, mqtt, hub)
	path := filepath.Join(t.TempDir(), "build.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// New builds every component and starts none: a hub built and closed
// without Start leaves no goroutine, releases its files (a second hub on
// the same data_dir builds) and the embedded broker's socket.
func TestHubBuildCloseWithoutStart(t *testing.T) {
	for _, tc := range []struct{ name, mqtt, hub string }{
		{name: "embedded broker", mqtt: `{broker: "", embedded_listen: "127.0.0.1:%d"}`},
		{name: "external broker", mqtt: `{broker: "tcp://127.0.0.1:1"}`},
		{name: "federated owner", mqtt: `{broker: "tcp://127.0.0.1:1"}`, hub: "hub: {id: north, townships: [t1]}"},
		{name: "federated view", mqtt: `{broker: "tcp://127.0.0.1:1"}`, hub: "hub: {id: city, view: [all]}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			mq := tc.mqtt
			port := 0
			if strings.Contains(mq, "%d") {
				port = testenv.FreePort(t)
				mq = fmt.Sprintf(mq, port)
			}
			cfg := buildConfig(t, t.TempDir(), "127.0.0.1:0", mq, tc.hub)
			for round := 0; round < 2; round++ { // the second build finds the files and the port free
				h, err := New(cfg, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatalf("round %d: New: %v", round, err)
				}
				if port != 0 && h.Config().MQTT.Broker != fmt.Sprintf("tcp://127.0.0.1:%d", port) {
					t.Fatalf("the hub's client is built for %q, not the bound broker", h.Config().MQTT.Broker)
				}
				if r := h.readiness(); r["mqtt"] == nil {
					t.Error("ready before Start")
				}
				if err := h.Close(); err != nil {
					t.Fatalf("round %d: Close without Start: %v", round, err)
				}
				if err := h.Start(context.Background()); err == nil {
					t.Fatal("Start after Close accepted")
				}
			}
		})
	}
}

// A New that fails half way (the embedded broker's port is taken) closes
// what it built: nothing leaks and the data_dir's stores are free.
func TestHubFailedNewClosesWhatItBuilt(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := buildConfig(t, dir, "127.0.0.1:0", fmt.Sprintf(`{broker: "", embedded_listen: %q}`, busy.Addr().String()), "")
	if _, err := New(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "embedded broker") {
		t.Fatalf("New with the broker's port taken: %v, want an embedded broker error", err)
	}
	addr := busy.Addr().String()
	busy.Close()
	cfg = buildConfig(t, dir, "127.0.0.1:0", fmt.Sprintf(`{broker: "", embedded_listen: %q}`, addr), "")
	h, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New on the same data_dir after a failed New: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}

// A Start that fails (the pages' port is taken) rolls back: every
// component is closed, nothing leaks, the broker's port is free again.
func TestHubFailedStartRollsBack(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	mq := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg := buildConfig(t, t.TempDir(), busy.Addr().String(), fmt.Sprintf(`{broker: "", embedded_listen: %q}`, mq), "")
	h, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err == nil {
		t.Fatal("Start with the pages' port taken succeeded")
	}
	ln, err := net.Listen("tcp", mq)
	if err != nil {
		t.Fatalf("the broker's port is still held after a failed Start: %v", err)
	}
	ln.Close()
	if err := h.Close(); err != nil {
		t.Errorf("Close after a failed Start: %v", err)
	}
}
