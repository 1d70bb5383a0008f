package alerts

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"snowhub/internal/event"
)

func TestAuditFieldsCapped(t *testing.T) {
	long := strings.Repeat("村", 300000) // 900 KB
	a := capAudit(event.AuditEntry{User: "u", Action: long, Incident: long, Target: long, Remote: long, Result: "incident " + long + " not found"})
	for name, v := range map[string]string{"action": a.Action, "incident": a.Incident, "target": a.Target, "remote": a.Remote} {
		if len(v) > maxAuditField || !utf8.ValidString(v) || !strings.HasSuffix(v, "…") {
			t.Errorf("%s: %d bytes, valid %v", name, len(v), utf8.ValidString(v))
		}
	}
	if len(a.Result) > maxAuditResult || !strings.HasPrefix(a.Result, "incident 村") {
		t.Errorf("result: %d bytes", len(a.Result))
	}
	if a.User != "u" {
		t.Errorf("a short field changed: %q", a.User)
	}
}

// 40 refused actions with 900 KB incident ids (before: the audit log grew
// 101 MB) leave the store small.
func TestAuditLogBoundedInBytes(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	long := strings.Repeat("A", 900<<10)
	for i := 0; i < 40; i++ {
		if err := s.audit(event.AuditEntry{At: time.Now(), User: "tech", Action: "accept", Incident: long, Result: "incident " + long + " not found"}); err != nil {
			t.Fatal(err)
		}
	}
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	const ceiling = 1 << 20
	if size > ceiling {
		t.Fatalf("the store is %d KiB after 40 entries; ceiling %d KiB", size>>10, ceiling>>10)
	}
}
