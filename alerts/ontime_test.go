package alerts

import (
	"context"
	"testing"
	"time"

	"snowhub/internal/event"
)

// An accept left past its deadline is late: beside one accepted on time,
// 接单按时率 is 50 %, not the 100 % of "done on time / done".
func TestOnTimeRateCountsPendingPastDeadline(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0))) // dispatched to zhaoren by itself
	left, err := e.Create(ctx, ops, event.CreateRequest{Title: "路灯不亮", Village: "v-zr-01", Source: "grid"})
	must(t, err) // dispatched to zhaoren at once
	clk.set(t0.Add(time.Minute))
	for _, i := range open(e) {
		if i.ID != left.ID {
			if _, err := e.Act(ctx, zhaoren, i.ID, "accept", event.ActionRequest{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	late := t0.Add(40 * 24 * time.Hour)
	clk.set(late)
	e.Tick(ctx, late)
	rows, err := e.Stats(ops, t0, t0.Add(24*time.Hour), "township")
	must(t, err)
	if len(rows) != 1 {
		t.Fatalf("rows: %+v", rows)
	}
	r := rows[0]
	if v := r.OnTimeRate["accept"]; v == nil || *v != 0.5 {
		t.Fatalf("接单按时率 = %v, want 0.5 (steps done %d, on time %d, pending late %d)", deref(v), r.StepsDone["accept"], r.StepsOnTime["accept"], r.StepsPendingLate["accept"])
	}
	if r.StepsPendingLate["accept"] != 1 || r.StepsDone["accept"] != 1 {
		t.Errorf("counts: done %v, pending late %v", r.StepsDone, r.StepsPendingLate)
	}
	// Rows of several hubs add up with the pending steps.
	m := event.MergeStats(rows, rows)
	if v := m[0].OnTimeRate["accept"]; v == nil || *v != 0.5 || m[0].StepsPendingLate["accept"] != 2 {
		t.Errorf("merged: %v %v", deref(v), m[0].StepsPendingLate)
	}
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}
