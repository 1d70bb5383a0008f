package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// The figures on a fixed timeline, with exact rates.
func TestStatsOnAFixedTimeline(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	at := func(d time.Duration) { clk.set(t0.Add(d)); e.Tick(ctx, t0.Add(d)) }
	do := func(p auth.Principal, id, action string, req event.ActionRequest) {
		t.Helper()
		if _, err := e.Act(ctx, p, id, action, req); err != nil {
			t.Fatalf("%s %s: %v", id, action, err)
		}
	}
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0))) // A, zhaoren
	must(t, e.Evaluate(ctx, reading("smoke-x", 1, t0))) // B, xiangong
	var a, b string
	for _, i := range open(e) {
		if i.Township == "zhaoren" {
			a = i.ID
		} else {
			b = i.ID
		}
	}
	c, err := e.Create(ctx, ops, event.CreateRequest{Title: "C", Village: "v-zr-02", Source: "hotline_12345"})
	must(t, err)
	d, err := e.Create(ctx, ops, event.CreateRequest{Title: "D", Village: "v-zr-01", Source: "grid"})
	must(t, err)
	sat := event.ActionRequest{Rating: "satisfied", Method: "phone", Asked: "reporter"}

	at(time.Minute)
	do(zhaoren, a, "accept", event.ActionRequest{})
	do(zhaoren, d.ID, "escalate", event.ActionRequest{Reason: "跨镇"})
	at(2 * time.Minute)
	do(zhaoren, a, "assign", event.ActionRequest{Person: "p-wang"})
	at(10 * time.Minute) // B's accept was due at 5 min: supervised
	do(xiang, b, "accept", event.ActionRequest{})
	at(time.Hour)
	do(zhaoren, a, "resolve", event.ActionRequest{Note: "ok", NoVisitReason: "电话核实，无需到场"})
	at(2 * time.Hour)
	do(ops, a, "evaluate", sat)
	at(2*time.Hour + 20*time.Minute) // B's resolve was due at 2h10m
	do(xiang, b, "resolve", event.ActionRequest{Note: "ok", NoVisitReason: "电话核实，无需到场"})
	at(2*time.Hour + 30*time.Minute)
	do(ops, b, "evaluate", event.ActionRequest{Rating: "unsatisfied", Method: "visit", Asked: "household"})
	at(2*time.Hour + 40*time.Minute)
	do(ops, b, "reopen", event.ActionRequest{})
	at(2*time.Hour + 41*time.Minute)
	do(xiang, b, "accept", event.ActionRequest{})
	at(2*time.Hour + 50*time.Minute)
	do(xiang, b, "resolve", event.ActionRequest{Note: "again", NoVisitReason: "电话核实，无需到场"})
	at(2*time.Hour + 55*time.Minute)
	do(ops, b, "evaluate", sat)
	at(3 * time.Hour)
	do(ops, a, "review", event.ActionRequest{Score: ptr(90)})
	do(ops, b, "review", event.ActionRequest{Score: ptr(70)})

	rows, err := e.Stats(ops, t0, t0.Add(24*time.Hour), "township")
	must(t, err)
	if len(rows) != 2 || rows[0].Key != "xiangong" || rows[1].Key != "zhaoren" {
		t.Fatalf("rows: %+v", rows)
	}
	f := func(v *float64) any {
		if v == nil {
			return nil
		}
		return *v
	}
	type fig struct {
		name      string
		got, want any
	}
	xg, zr := rows[0], rows[1]
	for _, x := range []fig{
		{"zr opened", zr.Opened, 3}, {"zr closed", zr.Closed, 1}, {"zr open_now", zr.OpenNow, 2},
		{"zr on time dispatch", f(zr.OnTimeRate["dispatch"]), 1.0}, {"zr on time accept", f(zr.OnTimeRate["accept"]), 1.0},
		{"zr on time assign", f(zr.OnTimeRate["assign"]), 1.0}, {"zr on time review", f(zr.OnTimeRate["review"]), 1.0},
		{"zr supervised", zr.Supervised, 0}, {"zr escalated", zr.EscalatedManual, 1}, {"zr rated", zr.Rated, 1},
		{"zr satisfaction", f(zr.SatisfactionRate), 1.0}, {"zr mean score", f(zr.MeanScore), 90.0},
		{"zr accept s", f(zr.MeanTimeToAcceptS), 60.0}, {"zr resolve s", f(zr.MeanTimeToResolveS), 3600.0},
		{"xg opened", xg.Opened, 1}, {"xg closed", xg.Closed, 1}, {"xg open_now", xg.OpenNow, 0},
		{"xg on time accept", f(xg.OnTimeRate["accept"]), 0.5}, {"xg on time resolve", f(xg.OnTimeRate["resolve"]), 0.5},
		{"xg on time evaluate", f(xg.OnTimeRate["evaluate"]), 1.0}, {"xg on time assign", f(xg.OnTimeRate["assign"]), nil},
		{"xg supervised", xg.Supervised, 1}, {"xg reopened", xg.Reopened, 1}, {"xg rated", xg.Rated, 1},
		{"xg satisfied (final)", xg.Satisfied, 1}, {"xg unsatisfied (final)", xg.Unsatisfied, 0},
		{"xg satisfaction (final)", f(xg.SatisfactionRate), 1.0}, {"xg satisfaction (first)", f(xg.FirstSatisfactionRate), 0.0},
		{"xg mean score", f(xg.MeanScore), 70.0}, {"xg accept s", f(xg.MeanTimeToAcceptS), 600.0}, {"xg resolve s", f(xg.MeanTimeToResolveS), 8400.0},
	} {
		if x.got != x.want {
			t.Errorf("%s = %v, want %v", x.name, x.got, x.want)
		}
	}

	// A township desk gets its own row, and its own villages.
	own, err := e.Stats(zhaoren, t0, t0.Add(24*time.Hour), "township")
	must(t, err)
	if len(own) != 1 || own[0].Key != "zhaoren" || own[0].Opened != 3 {
		t.Fatalf("township's own figures: %+v", own)
	}
	vil, err := e.Stats(zhaoren, t0, t0.Add(24*time.Hour), "village")
	must(t, err)
	if len(vil) != 2 || vil[0].Key != "v-zr-01" || vil[0].Opened != 2 || vil[1].Key != "v-zr-02" || vil[1].Opened != 1 {
		t.Fatalf("township's villages: %+v", vil)
	}
	as, err := e.Stats(ops, t0, t0.Add(24*time.Hour), "assignee")
	must(t, err)
	if len(as) != 2 || as[1].Key != "p-wang" || as[1].Opened != 1 || as[0].Key != "" || as[0].Opened != 3 {
		t.Fatalf("by assignee: %+v", as)
	}
	if _, err := e.Stats(tech, t0, t0.Add(time.Hour), "township"); !errors.Is(err, event.ErrForbidden) {
		t.Fatalf("technician's figures: %v", err)
	}
	if _, err := e.Stats(ops, t0, t0.Add(time.Hour), "county"); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("unknown group: %v", err)
	}
	// The range is on opening: nothing opened after the first day.
	if r, _ := e.Stats(ops, t0.Add(24*time.Hour), t0.Add(48*time.Hour), "township"); len(r) != 0 {
		t.Fatalf("next day: %+v", r)
	}

	var buf bytes.Buffer
	must(t, event.WriteStatsCSV(&buf, rows))
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(buf.String(), "\ufeff")), "\n")
	keys := []string{}
	for _, h := range strings.Split(lines[0], ",") {
		keys = append(keys, h[strings.LastIndex(h, " ")+1:]) // Chinese first, the key last
	}
	lines[0] = strings.Join(keys, ",")
	const header = "group,key,name,opened,closed,open_now,backlog_over_7d,backlog_over_30d,on_time_dispatch,on_time_accept,on_time_assign,on_time_resolve,on_time_evaluate,on_time_review,supervised,escalated_manual,reopened,rated,satisfied,neutral,unsatisfied,satisfaction_rate,first_satisfied,first_satisfaction_rate,mean_score,mean_time_to_accept_s,mean_time_to_resolve_s"
	// Columns are only ever added at the end: old readers keep theirs.
	if !strings.HasPrefix(lines[0], header+",") || len(lines) != 3 {
		t.Fatalf("CSV:\n%s", buf.String())
	}
	if !strings.HasPrefix(lines[1], "township,xiangong,相公镇,1,1,0,0,0,1.0000,0.5000,,0.5000,1.0000,1.0000,1,0,1,1,1,0,0,1.0000,0,0.0000,70.0000,600.0000,8400.0000") {
		t.Fatalf("CSV row: %s", lines[1])
	}
	_ = c
}

// Reviewed incidents leave memory after keep_in_memory and stay in the
// archive, the figures and Get, read from the store.
func TestArchiveAfterKeepInMemory(t *testing.T) {
	clk := &clock{t: t0}
	dir := t.TempDir()
	cfg := testConfig(t, "alerts:\n  keep_in_memory: 1d\n")
	e, _ := newEngine(t, cfg, dir, clk)
	ctx := context.Background()
	i, err := e.Create(ctx, ops, event.CreateRequest{Title: "归档", Village: "v-zr-01", Source: "petition", Ref: "XF-1"})
	must(t, err)
	for _, s := range []struct {
		p      auth.Principal
		action string
	}{{zhaoren, "accept"}, {zhaoren, "resolve"}, {ops, "evaluate"}, {ops, "review"}} {
		_, err := e.Act(ctx, s.p, i.ID, s.action, event.ActionRequest{Note: "n", Rating: "satisfied", Method: "visit", Asked: "household", Score: ptr(88), NoVisitReason: "电话核实"})
		must(t, err)
	}
	e.Tick(ctx, t0.Add(3*24*time.Hour))
	e.mu.Lock()
	_, inMemory := e.incidents[i.ID]
	e.mu.Unlock()
	if inMemory {
		t.Fatal("still in memory after keep_in_memory")
	}
	l := e.List(ops, event.IncidentFilter{State: StateReviewed, From: t0, To: t0.Add(24 * time.Hour)})
	if len(l) != 1 || l[0].ID != i.ID || l[0].Ref != "XF-1" || *l[0].Score != 88 {
		t.Fatalf("archive: %+v", l)
	}
	if _, err := e.Get(zhaoren, i.ID); err != nil {
		t.Fatalf("get archived: %v", err)
	}
	if _, err := e.Act(ctx, ops, i.ID, "reopen", event.ActionRequest{}); !errors.Is(err, event.ErrConflict) {
		t.Fatalf("act on archived: %v", err)
	}
	rows, err := e.Stats(ops, t0, t0.Add(24*time.Hour), "township")
	must(t, err)
	if len(rows) != 1 || rows[0].Opened != 1 || rows[0].MeanScore == nil || *rows[0].MeanScore != 88 {
		t.Fatalf("figures of archived: %+v", rows)
	}
	// After a restart too.
	must(t, e.Close())
	e2, _ := newEngine(t, cfg, dir, clk)
	if l := e2.List(ops, event.IncidentFilter{State: StateReviewed, From: t0, To: t0.Add(24 * time.Hour)}); len(l) != 1 {
		t.Fatalf("archive after restart: %d", len(l))
	}
}

// Two hubs each holding one township's incidents answer their township's
// figures; merged, they are exactly the figures of one hub holding both,
// in every grouping, rates included, where the two share keys (the
// unassigned row, a department summoned in both townships). The timeline
// gives the shared rows different rates on each side, with times not in
// whole seconds.
func TestStatsOfTwoHubsMergeToTheCountys(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	at := func(d time.Duration) { clk.set(t0.Add(d)); e.Tick(ctx, t0.Add(d)) }
	do := func(p auth.Principal, id, action string, req event.ActionRequest) {
		t.Helper()
		if _, err := e.Act(ctx, p, id, action, req); err != nil {
			t.Fatalf("%s %s: %v", id, action, err)
		}
	}
	mk := func(village string) string {
		i, err := e.Create(ctx, ops, event.CreateRequest{Title: "事件", Village: village, Source: "grid"})
		must(t, err)
		return i.ID
	}
	zr1, zr2, zr3, xg2 := mk("v-zr-01"), mk("v-zr-02"), mk("v-zr-02"), mk("v-xg-01")
	must(t, e.Evaluate(ctx, reading("smoke-x", 1, t0))) // an alarm: accept due in minutes
	var xg1 string
	for _, i := range open(e) {
		if i.Device == "smoke-x" {
			xg1 = i.ID
		}
	}
	rate := func(r string) event.ActionRequest {
		return event.ActionRequest{Rating: r, Method: "phone", Asked: "reporter"}
	}
	at(61*time.Second + 7*time.Millisecond)
	do(zhaoren, zr1, "accept", event.ActionRequest{})
	do(zhaoren, zr2, "accept", event.ActionRequest{})
	do(zhaoren, zr3, "accept", event.ActionRequest{}) // unassigned: 2 of 2 on time here, 0 of 1 in xiangong
	do(zhaoren, zr1, "assign", event.ActionRequest{Person: "p-wang"})
	do(zhaoren, zr2, "summon", event.ActionRequest{Departments: []string{"power"}})
	at(9*time.Minute + 333*time.Millisecond) // xiangong's accepts late
	do(xiang, xg1, "accept", event.ActionRequest{})
	do(xiang, xg2, "accept", event.ActionRequest{})
	do(xiang, xg1, "summon", event.ActionRequest{Departments: []string{"power", "water"}})
	do(xiang, xg2, "assign", event.ActionRequest{Person: "p-xg"})
	at(50*time.Minute + 1*time.Millisecond)
	do(zhaoren, zr2, "resolve", event.ActionRequest{Note: "ok", NoVisitReason: "电话核实，无需到场"})
	do(xiang, xg1, "resolve", event.ActionRequest{Note: "ok", NoVisitReason: "电话核实，无需到场"})
	at(3*time.Hour + 500*time.Millisecond)
	do(zhaoren, zr1, "resolve", event.ActionRequest{Note: "ok", NoVisitReason: "电话核实，无需到场"})
	do(ops, zr2, "evaluate", rate("unsatisfied"))
	do(ops, xg1, "evaluate", rate("satisfied"))
	at(4 * time.Hour)
	do(ops, zr1, "evaluate", rate("neutral"))
	do(ops, zr2, "reopen", event.ActionRequest{})
	do(ops, xg1, "review", event.ActionRequest{Score: ptr(77)})
	at(5 * time.Hour)
	do(ops, zr1, "review", event.ActionRequest{Score: ptr(92)})

	for _, group := range StatGroups {
		county, err := e.Stats(ops, t0, t0.Add(24*time.Hour), group)
		must(t, err)
		north, err := e.Stats(zhaoren, t0, t0.Add(24*time.Hour), group)
		must(t, err)
		south, err := e.Stats(xiang, t0, t0.Add(24*time.Hour), group)
		must(t, err)
		shared := 0
		for _, n := range north {
			for _, s := range south {
				if n.Key == s.Key {
					shared++
				}
			}
		}
		if group == "assignee" || group == "department" {
			if shared == 0 {
				t.Fatalf("%s: no key in both townships; the test proves nothing", group)
			}
		}
		if got := event.MergeStats(north, south); !reflect.DeepEqual(got, county) {
			t.Errorf("%s: merged\n%s\nwant\n%s", group, dump(got), dump(county))
		}
	}
}

func dump(rows []event.StatsRow) string {
	b, _ := json.MarshalIndent(rows, "", " ")
	return string(b)
}
