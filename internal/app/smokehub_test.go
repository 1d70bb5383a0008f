package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"snowhub/internal/test/testenv"
)

// smokeHub prepares (does not start) the real hub process on a county of
// one village with n smoke sensors smoke-00… on broker, an unreachable
// InfluxDB (the spool keeps the readings) and the operator's token; each
// smoke alarm is an incident of its own.
func smokeHub(t *testing.T, broker, clientID string, n int) *testenv.Hub {
	t.Helper()
	dir := t.TempDir()
	port := testenv.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "listen: 127.0.0.1:%d\ndata_dir: %s\nmqtt: {broker: %q, client_id: %s}\n", port, filepath.Join(dir, "data"), broker, clientID)
	cfg.WriteString("influx: {url: \"http://127.0.0.1:1\"}\ncounty: {id: c, name: C}\ntownships:\n  - id: t1\n    name: T1\n    villages:\n      - {id: v1, name: V1}\nsensors:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&cfg, "  - {id: smoke-%02d, kind: smoke, village: v1}\n", i)
	}
	// These tests count one incident per alarm: smoke stays per device
	// here instead of joining a storm (alerts.storm).
	cfg.WriteString("alerts: {storm: {per_device: [smoke]}}\n")
	cfg.WriteString("users:\n  - {name: ops, role: operator, token: " + opsToken + "}\n")
	path := filepath.Join(dir, "snowhub.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return testenv.NewHub(t, path, port)
}
