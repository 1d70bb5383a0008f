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

// Records past audit.keep are removed hourly, the removal is itself in the
// trail, and the chain after it still checks (from the anchor the removal
// keeps); an edit after a removal is still found.
func TestAuditKeepPrunesAndTheChainHolds(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	clk := &clock{t: t0.Add(200 * 24 * time.Hour)}
	e, _ := newEngine(t, testConfig(t, ""), dir, clk)
	for d := 0; d < 200; d += 10 { // one record every 10 days, days 0 to 190: those of days 0 and 10 are past 180 days
		if err := e.store.audit(event.AuditEntry{At: t0.Add(time.Duration(d) * 24 * time.Hour), User: "zr-desk", Action: "login", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	e.keepAudit(clk.now())
	e.keepAudit(clk.now()) // within the hour: nothing more
	list, _ := e.store.auditSince(time.Time{}, 100)
	// Days 20..190 are within 180 days of day 200: 18 records, and the removal's own.
	if len(list) != 19 || list[0].Action != AuditPruned || !strings.Contains(list[0].Result, "2 records") {
		t.Fatalf("after the removal: %d records, newest %+v", len(list), list[0])
	}
	if err := e.store.audit(event.AuditEntry{At: clk.now(), User: "sec-1", Action: "login", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	e.Close()
	got, err := VerifyAudit(dir)
	if err != nil || got.Records != 20 || got.Pruned != 2 {
		t.Fatalf("the chain after a removal: %+v, %v", got, err)
	}
	path := filepath.Join(dir, "incidents.db")
	b, _ := os.ReadFile(path)
	old := []byte(`"user":"sec-1","role":"","action":"login"`)
	if !bytes.Contains(b, old) {
		t.Fatal("the record to edit is not in the file")
	}
	os.WriteFile(path, bytes.ReplaceAll(b, []byte(`"at":"2026-01-21T08:00:00Z","user":"zr-desk"`), []byte(`"at":"2026-01-21T08:00:00Z","user":"zr-dusk"`)), 0o640)
	if _, err := VerifyAudit(dir); err == nil || !strings.Contains(err.Error(), "audit record 2") {
		t.Fatalf("an edit of the first record kept: %v, want the record after it named", err)
	}
}
