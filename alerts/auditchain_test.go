package alerts

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"snowhub/internal/event"
)

// The audit chain passes on a normal run, including a record whose time is
// earlier than the one before (a clock stepped back), and fails once one
// record is edited in the file on disk, naming the record after it.
func TestAuditChainOnDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	for i, e := range []event.AuditEntry{
		{At: t0, User: "zr-desk", Action: "login", Result: "ok"},
		{At: t0.Add(time.Minute), Action: "auth_refused", Remote: "10.0.0.9", Result: "wrong name, password or code"},
		{At: t0.Add(30 * time.Second), User: "zr-desk", Action: "logout", Result: "ok"}, // clock stepped back
		{At: t0.Add(2 * time.Minute), User: "sec-1", Action: "login", Result: "ok"},
		{At: t0.Add(3 * time.Minute), User: "sec-1", Action: "logout", Result: "ok"},
	} {
		if err := s.audit(e); err != nil {
			t.Fatalf("audit %d: %v", i, err)
		}
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	got, err := VerifyAudit(dir)
	if err != nil || got.Records != 5 || got.Legacy != 0 || len(got.Last) != 64 {
		t.Fatalf("normal run: %+v, %v", got, err)
	}

	// One byte-for-byte edit of a value in the file: bbolt checks no sum
	// over its data pages, so only the chain can tell.
	path := filepath.Join(dir, "incidents.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old, edited := []byte(`"user":"sec-1","role":"","action":"login"`), []byte(`"user":"sec-9","role":"","action":"login"`)
	// bbolt writes pages anew, so freed pages may hold older copies too.
	if !bytes.Contains(b, old) {
		t.Fatal("the record to edit is not in the file")
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(b, old, edited), 0o640); err != nil {
		t.Fatal(err)
	}
	s, err = openStore(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("the edited file no longer opens, so the test shows nothing of the chain: %v", err)
	}
	list, err := s.auditSince(time.Time{}, 10)
	s.close()
	if err != nil || len(list) != 5 || list[1].User != "sec-9" {
		t.Fatalf("the edit did not reach the record: %v %+v", err, list)
	}
	if _, err := VerifyAudit(dir); err == nil || !strings.Contains(err.Error(), "audit record 5") {
		t.Fatalf("after an edit: %v, want record 5 named as following an edited record", err)
	}
}
