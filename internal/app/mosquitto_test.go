package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snowhub -config F -mosquitto-acl DIR writes the three files and says
// so; a configuration without the hub's password is refused with exit 2.
func TestMosquittoACLFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	body := `county: {id: c, name: C}
townships:
  - id: t1
    name: T1
    villages: [{id: v1, name: V1}]
sensors:
  - {id: smoke-1, kind: smoke, village: v1}
mqtt:
  password: hub-password-0123
  device_users: [{username: gw, password: gw-password, villages: [v1]}]
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
`
	os.WriteFile(cfg, []byte(body), 0o600)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), Options{ConfigPath: cfg, MosquittoACL: out, Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, f := range []string{"passwd", "acl", "snowhub.conf"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", f, err)
		}
		if strings.Contains(string(b), "hub-password-0123") || strings.Contains(string(b), "gw-password") {
			t.Fatalf("%s holds a password in clear", f)
		}
	}
	if !strings.Contains(stdout.String(), "1 device users") {
		t.Errorf("stdout: %q", stdout.String())
	}
	os.WriteFile(cfg, []byte(strings.Replace(body, "  password: hub-password-0123\n", "", 1)), 0o600)
	err := Run(context.Background(), Options{ConfigPath: cfg, MosquittoACL: out, Stdout: &stdout, Stderr: &stderr})
	if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), "mqtt.password") {
		t.Fatalf("without the hub's password: %v (exit %d)", err, ExitCode(err))
	}
}
