package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"snowhub/internal/event"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, b, 0o644))
}

// rawHistories reads each incident's history length straight from a store.
func rawHistories(t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := bbolt.Open(path, 0o400, &bbolt.Options{ReadOnly: true})
	must(t, err)
	defer db.Close()
	out := map[string]int{}
	must(t, db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("incidents")).ForEach(func(k, v []byte) error {
			var r struct{ History []json.RawMessage }
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out[string(k)] = len(r.History)
			return nil
		})
	}))
	return out
}

// A store written by the code before the closed loop keeps every incident
// and its history, and goes on from where it was.
func TestUpgradeFromTheFirstStore(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "testdata/incidents-v1.db", filepath.Join(dir, "incidents.db"))
	want := rawHistories(t, filepath.Join(dir, "incidents.db"))
	if len(want) != 4 {
		t.Fatalf("testdata holds %d incidents, want 4", len(want))
	}
	clk := &clock{t: t0.Add(3 * time.Hour)}
	e, _ := newEngine(t, testConfig(t, ""), dir, clk)
	all := e.List(ops, event.IncidentFilter{})
	if len(all) != 4 {
		t.Fatalf("loaded %d incidents", len(all))
	}
	byID := map[string]event.Incident{}
	for _, i := range all {
		byID[i.ID] = i
		if len(i.History) != want[i.ID] {
			t.Errorf("%s: %d steps, the store had %d", i.ID, len(i.History), want[i.ID])
		}
	}
	rev := byID["INC-20261124-0001"]
	if rev.State != StateReviewed || rev.Score == nil || *rev.Score != 92 || len(rev.Ratings) != 1 || rev.Ratings[0].Rating != "satisfied" || rev.ReviewedAt.IsZero() {
		t.Errorf("reviewed incident: state %s score %v ratings %+v", rev.State, rev.Score, rev.Ratings)
	}
	held := byID["INC-20261124-0002"]
	if held.State != StateHeld || held.HeldFrom != StateDispatched {
		t.Errorf("held incident: %+v", held)
	}
	// The outage the first code took over from the township: the county
	// holds it, the township keeps its read-only view.
	out := byID["INC-20261124-0004"]
	if out.Owner != LevelCounty || len(out.Owners) != 1 || out.Owners[0] != "zhaoren" {
		t.Errorf("taken-over outage: owner %s owners %v", out.Owner, out.Owners)
	}
	if _, err := e.Get(zhaoren, out.ID); err != nil {
		t.Errorf("the township lost its view: %v", err)
	}
	if len(e.Maintenance(t0)) != 1 {
		t.Error("the maintenance window did not load")
	}
	// The held incident resumes with the time it had left.
	clk.set(t0.Add(4 * time.Hour))
	i, err := e.Act(context.Background(), xiang, held.ID, "resume", event.ActionRequest{})
	must(t, err)
	if i.State != StateDispatched || i.Deadline.IsZero() {
		t.Fatalf("resumed: %s deadline %v", i.State, i.Deadline)
	}
	// New ids go on after the stored ones (MW-0005 was the last).
	must(t, e.Evaluate(context.Background(), reading("smoke-1", 1, clk.now())))
	for _, x := range open(e) {
		if x.Device == "smoke-1" && x.ID != "INC-20261124-0006" {
			t.Fatalf("new id %s", x.ID)
		}
	}
}

// One record that does not decode is quarantined; the others load.
func TestMalformedRecordIsQuarantined(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: t0}
	cfg := testConfig(t, "")
	e, _ := newEngine(t, cfg, dir, clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	must(t, e.Evaluate(ctx, reading("smoke-x", 1, t0)))
	must(t, e.Close())
	db, err := bbolt.Open(filepath.Join(dir, "incidents.db"), 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("incidents")).Put([]byte("INC-20261124-0001"), []byte(`{"id": "INC-20261124-0001", "history": [`))
	}))
	must(t, db.Close())

	e2, _ := newEngine(t, cfg, dir, clk)
	l := e2.List(ops, event.IncidentFilter{})
	if len(l) != 1 || l[0].ID != "INC-20261124-0002" {
		t.Fatalf("after a malformed record: %+v", l)
	}
	var q []byte
	must(t, e2.store.db.View(func(tx *bbolt.Tx) error {
		q = tx.Bucket(bucketQuarantine).Get([]byte("incidents/INC-20261124-0001"))
		return nil
	}))
	if !bytes.HasPrefix(q, []byte(`{"id"`)) {
		t.Fatalf("quarantined copy: %q", q)
	}
	// Its id is not given out again.
	must(t, e2.Evaluate(ctx, reading("smoke-1", 1, t0.Add(time.Minute))))
	for _, x := range e2.List(ops, event.IncidentFilter{}) {
		if x.ID == "INC-20261124-0001" {
			t.Fatal("the quarantined id was reused")
		}
	}
}

// A lost sequence key does not make the next incident overwrite one.
func TestLostSequenceKeyOverwritesNothing(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: t0}
	cfg := testConfig(t, "")
	e, _ := newEngine(t, cfg, dir, clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	must(t, e.Close())
	db, err := bbolt.Open(filepath.Join(dir, "incidents.db"), 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bbolt.Tx) error { return tx.Bucket([]byte("meta")).Delete([]byte("seq")) }))
	must(t, db.Close())

	e2, _ := newEngine(t, cfg, dir, clk)
	must(t, e2.Evaluate(ctx, reading("smoke-x", 1, t0)))
	l := e2.List(ops, event.IncidentFilter{})
	if len(l) != 2 || l[0].ID == l[1].ID {
		t.Fatalf("after the sequence key was lost: %+v", l)
	}
}

// A bad page does not panic the hub at start: the file moves aside, what
// can be read is copied, the rest of the hub starts.
func TestBadPageDoesNotStopTheStart(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: t0}
	cfg := testConfig(t, "")
	e, _ := newEngine(t, cfg, dir, clk)
	ctx := context.Background()
	if _, err := e.SetMaintenance(ctx, ops, event.Maintenance{Device: "cam-1", Until: t0.Add(time.Hour), Note: "换杆"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ { // enough incidents for several pages
		_, err := e.Create(ctx, ops, event.CreateRequest{Title: strings.Repeat("长", 200), Village: "v-zr-01", Note: strings.Repeat("记", 300)})
		must(t, err)
	}
	// Steps on incident 30 leave older copies of it in freed pages.
	var last event.Incident
	for _, step := range []string{"accept", "assign"} {
		var err error
		last, err = e.Act(ctx, ops, "INC-20261124-0030", step, event.ActionRequest{Person: "p-wang", Note: "到场"})
		must(t, err)
	}
	must(t, e.Close())
	path := filepath.Join(dir, "incidents.db")
	b, err := os.ReadFile(path)
	must(t, err)
	// The live leaf page holding incident 30: its key followed by its value
	// (outbox entries have numeric keys), and not a freed copy.
	const pageSize = 4096
	needle := []byte(`INC-20261124-0030{"id":"INC-20261124-0030"`)
	page := -1
	db, err := bbolt.Open(path, 0o600, nil) // not read-only: the freelist tells live pages from freed ones
	must(t, err)
	must(t, db.View(func(tx *bbolt.Tx) error {
		for id := 2; page < 0; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			from, to := id*pageSize, (id+1+info.OverflowCount)*pageSize
			if info.Type == "leaf" && bytes.Contains(b[from:min(to, len(b))], needle) {
				page = from
			}
			if info.Type == "leaf" || info.Type == "branch" { // a freed page's header is stale
				id += info.OverflowCount
			}
		}
		return nil
	}))
	must(t, db.Close())
	if page < 0 {
		t.Fatal("incident 30's leaf page not found")
	}
	copy(b[page:page+8], []byte{0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef}) // the page no longer says which it is
	must(t, os.WriteFile(path, b, 0o600))

	e2, err := New(Options{Config: cfg, DataDir: dir, Now: clk.now})
	if err != nil {
		t.Fatalf("start after a bad page: %v", err)
	}
	defer e2.Close()
	aside, _ := filepath.Glob(filepath.Join(dir, "incidents.db.damaged-*"))
	if len(aside) != 1 {
		t.Fatalf("damaged copy kept: %v", aside)
	}
	if len(e2.Maintenance(t0)) != 1 {
		t.Error("the maintenance bucket was not recovered")
	}
	n := len(e2.List(ops, event.IncidentFilter{}))
	// The tree could not reach the damaged leaf or those after it; the
	// leaves themselves still hold every incident, incident 30 included.
	if n != 60 {
		t.Fatalf("%d of 60 incidents recovered", n)
	}
	if i30, err := e2.Get(ops, "INC-20261124-0030"); err != nil || len(i30.History) != len(last.History) || i30.State != last.State {
		t.Fatalf("incident 30 after recovery: %s with %d steps (%v); want its newest copy, %s with %d steps", i30.State, len(i30.History), err, last.State, len(last.History))
	}
	// And it works on: a new incident does not take a used id.
	i, err := e2.Create(ctx, ops, event.CreateRequest{Title: "x", Village: "v-zr-01"})
	must(t, err)
	if i.ID <= "INC-20261124-0060" {
		t.Fatalf("new id %s after recovery", i.ID)
	}
}

// A failed commit changes nothing in memory.
func TestFailedCommitChangesNothing(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	must(t, e.store.db.Close()) // every commit fails from here
	if _, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{}); err == nil || errors.Is(err, event.ErrConflict) {
		t.Fatalf("accept on a closed store: %v", err)
	}
	if err := e.Evaluate(ctx, reading("smoke-x", 1, t0)); err == nil {
		t.Fatal("an alarm on a closed store was acknowledged")
	}
	e.Tick(ctx, t0.Add(time.Hour)) // the deadline passes, the supervise step cannot be stored
	i, _ := e.Get(ops, id)
	if i.State != StateDispatched || i.Overdue || len(i.History) != 2 {
		t.Fatalf("memory changed without a commit: %s overdue %v steps %d", i.State, i.Overdue, len(i.History))
	}
	if n := len(e.List(ops, event.IncidentFilter{})); n != 1 {
		t.Fatalf("%d incidents in memory, 1 committed", n)
	}
}

// The outbox holds every committed step once, in order, with stable ids; a
// relay resumes from its cursor.
func TestOutboxOrderAndCursor(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: t0}
	cfg := testConfig(t, "")
	e, _ := newEngine(t, cfg, dir, clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	_, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{})
	must(t, err)
	ents, err := e.Outbox().Read(0, 100)
	must(t, err)
	var acts []string
	for n, en := range ents {
		if en.ID != uint64(n+1) {
			t.Fatalf("entry %d has id %d", n, en.ID)
		}
		acts = append(acts, en.Action)
	}
	if strings.Join(acts, ",") != "open,dispatch,accept" {
		t.Fatalf("outbox: %v", acts)
	}
	inc, _ := e.Get(ops, id)
	for n, s := range inc.History {
		if s.ID != uint64(n+1) {
			t.Fatalf("step %s id %d", s.Action, s.ID)
		}
	}
	got := make(chan event.OutboxEntry, 100)
	r := NewRelay(e.Outbox(), "test", e.log, func(_ context.Context, en Entry) error { got <- en; return nil })
	r.Start(ctx)
	for i := 1; i <= 3; i++ {
		select {
		case en := <-got:
			if en.ID != uint64(i) {
				t.Fatalf("relay delivered %d, want %d", en.ID, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("relay delivered nothing")
		}
	}
	r.Close()
	_, err = e.Act(ctx, zhaoren, id, "resolve", event.ActionRequest{Note: "ok", NoVisitReason: "电话核实，无需到场"})
	must(t, err)
	must(t, e.Close())

	e2, _ := newEngine(t, cfg, dir, clk)
	r2 := NewRelay(e2.Outbox(), "test", e2.log, func(_ context.Context, en Entry) error { got <- en; return nil })
	r2.Start(ctx)
	defer r2.Close()
	select {
	case en := <-got:
		if en.ID != 4 || en.Action != "resolve" {
			t.Fatalf("after restart the relay resumed at %d %s, want 4 resolve", en.ID, en.Action)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("relay did not resume")
	}
}
