package alerts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/event"
)

func stormConfig(t *testing.T, alerts string) *configs.Config {
	t.Helper()
	y := "county: {id: c, name: 长武县}\ntownships:\n  - id: zhaoren\n    name: 昭仁街道\n    villages:\n      - {id: v1, name: 东街社区}\n      - {id: v2, name: 西街社区}\nsensors:\n"
	for i := range 5 {
		y += fmt.Sprintf("  - {id: s%d, kind: smoke, village: v1}\n", i)
		y += fmt.Sprintf("  - {id: p%d, kind: panic, village: v1}\n", i)
	}
	y += "  - {id: s-v2, kind: smoke, village: v2}\nusers:\n  - {name: ops, role: operator, token: ops-token-0123456789}\n" + alerts
	c, err := configs.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func byKind(e *Engine, kind string) []event.Incident {
	var out []event.Incident
	for _, inc := range e.List(ops, event.IncidentFilter{State: "all"}) {
		if inc.Kind == kind {
			out = append(out, inc)
		}
	}
	slices.SortFunc(out, func(a, b event.Incident) int { return a.OpenedAt.Compare(b.OpenedAt) })
	return out
}

// TestStormJoinsOneIncident: a village's smoke alarms within the window of
// the first are one incident naming every device; the window is counted
// from the first alarm, not slid by each; the storm clears when every
// device in it has gone quiet; its closing window records one step that
// says how many devices; panic buttons stay one incident each.
func TestStormJoinsOneIncident(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, stormConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	for i, at := range []time.Duration{0, 10 * time.Second, 30 * time.Second} {
		must(t, e.Evaluate(ctx, reading(fmt.Sprintf("s%d", i), 1, t0.Add(at))))
	}
	must(t, e.Evaluate(ctx, reading("s-v2", 1, t0.Add(time.Second)))) // another village
	smoke := byKind(e, "smoke")
	if len(smoke) != 2 {
		t.Fatalf("%d smoke incidents, want the storm and the other village's: %+v", len(smoke), smoke)
	}
	s := smoke[0]
	if !slices.Equal(s.Devices, []string{"s0", "s1", "s2"}) || s.Count != 3 || s.Title != "东街社区 3 台 烟雾报警" {
		t.Fatalf("storm = devices %v count %d title %q", s.Devices, s.Count, s.Title)
	}
	if smoke[1].Village != "v2" || len(smoke[1].Devices) != 1 {
		t.Fatalf("the other village's alarm: %+v", smoke[1])
	}
	opens := 0
	for _, st := range s.History {
		if st.Action == "open" {
			opens++
		}
	}
	if opens != 1 {
		t.Fatalf("the storm was opened %d times", opens)
	}

	// The window closes 60 s after the first alarm: one step gives the size.
	clk.set(t0.Add(time.Minute))
	e.Tick(ctx, t0.Add(time.Minute))
	s = byKind(e, "smoke")[0]
	last := s.History[len(s.History)-1]
	if last.Action != "storm" || !strings.Contains(last.Note, "3 台") {
		t.Fatalf("after the window: last step %+v", last)
	}

	// Past the window a new device's alarm is a new matter; a device of the
	// storm alarming again still counts on the storm.
	must(t, e.Evaluate(ctx, reading("s3", 1, t0.Add(61*time.Second))))
	must(t, e.Evaluate(ctx, reading("s0", 1, t0.Add(62*time.Second))))
	smoke = byKind(e, "smoke")
	if len(smoke) != 3 || smoke[0].Count != 4 || len(smoke[0].Devices) != 3 || !slices.Equal(smoke[2].Devices, []string{"s3"}) {
		t.Fatalf("after the window: %d incidents, storm count %d devices %v", len(smoke), smoke[0].Count, smoke[0].Devices)
	}

	// Cleared once every device of the storm is quiet, not at the first.
	for i, id := range []string{"s0", "s1", "s2"} {
		must(t, e.Evaluate(ctx, reading(id, 0, t0.Add(70*time.Second))))
		if got, want := byKind(e, "smoke")[0].Cleared, i == 2; got != want {
			t.Fatalf("after %s quiet: cleared %v, want %v", id, got, want)
		}
	}

	// Panic buttons: one incident each, whatever the burst.
	for i := range 5 {
		must(t, e.Evaluate(ctx, reading(fmt.Sprintf("p%d", i), 1, t0.Add(80*time.Second))))
	}
	if p := byKind(e, "panic"); len(p) != 5 {
		t.Fatalf("%d panic incidents, want 5", len(p))
	}
}

// TestStormConfig: the window and the per-device kinds come from
// alerts.storm; an empty list groups panic buttons too.
func TestStormConfig(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, stormConfig(t, "alerts: {storm: {window: 5s, per_device: []}}\n"), t.TempDir(), clk)
	ctx := context.Background()
	for i := range 3 {
		must(t, e.Evaluate(ctx, reading(fmt.Sprintf("p%d", i), 1, t0.Add(time.Duration(i)*3*time.Second))))
	}
	p := byKind(e, "panic")
	if len(p) != 2 || len(p[0].Devices) != 2 || !slices.Equal(p[1].Devices, []string{"p2"}) {
		t.Fatalf("a 5 s window over panics at 0, 3, 6 s... got %d incidents: %+v", len(p), p)
	}
	if _, err := configs.Parse("x.yaml", []byte("alerts: {storm: {window: -1s}}\n")); err == nil || !strings.Contains(err.Error(), "alerts.storm.window") {
		t.Fatalf("a negative window: %v", err)
	}
}
