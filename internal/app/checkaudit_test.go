package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"snowhub/alerts"
)

// snowhub -config FILE -check-audit: 0 and one line on an intact chain,
// 1 and the broken record once a record is edited on disk, 2 without -config.
func TestCheckAuditCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := buildConfig(t, dir, "127.0.0.1:0", `{broker: "tcp://127.0.0.1:1"}`, "")
	path := filepath.Join(t.TempDir(), "hub.yaml")
	y := "data_dir: " + dir + "\ninflux: {url: \"http://127.0.0.1:1\"}\ncounty: {id: c, name: C}\ntownships: [{id: t1, name: T1, villages: [{id: v1, name: V1}]}]\nusers: [{name: ops, role: operator, token: ops-token-0123456789}]\n"
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := alerts.New(alerts.Options{Config: cfg.Owned(), DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"alpha-1", "bravo-2", "charlie-3"} {
		if err := e.AuditAuthRefused(time.Now(), "10.0.0.7", r); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), Options{ConfigPath: path, CheckAudit: true, Stdout: &out, Stderr: &errOut}); err != nil || !strings.HasPrefix(out.String(), "ok: 3 audit records, chain intact") {
		t.Fatalf("intact: %v %q", err, out.String())
	}
	db := filepath.Join(dir, "incidents.db")
	b, _ := os.ReadFile(db)
	os.WriteFile(db, bytes.ReplaceAll(b, []byte("bravo-2"), []byte("bravo-9")), 0o640)
	err = Run(context.Background(), Options{ConfigPath: path, CheckAudit: true, Stdout: &out})
	if ExitCode(err) != 1 || err == nil || !strings.Contains(err.Error(), "audit record 3") {
		t.Fatalf("edited: exit %d, %v", ExitCode(err), err)
	}
	if err := Run(context.Background(), Options{CheckAudit: true}); ExitCode(err) != 2 {
		t.Fatalf("no -config: %v", err)
	}
}
