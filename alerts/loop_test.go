package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

var (
	zrWorker = auth.Principal{Name: "zr-worker", Role: auth.RoleTownship, Township: "zhaoren"}
	village1 = auth.Principal{Name: "v1-desk", Role: auth.RoleVillage, Village: "v-zr-01", Township: "zhaoren"}
	village2 = auth.Principal{Name: "v2-desk", Role: auth.RoleVillage, Village: "v-zr-02", Township: "zhaoren"}
	powerDep = auth.Principal{Name: "power-desk", Role: auth.RoleDepartment, Department: "power"}
	waterDep = auth.Principal{Name: "water-desk", Role: auth.RoleDepartment, Department: "water"}
)

func TestOverdueIsSupervisionInTiers(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	due := t0.Add(5 * time.Minute) // critical accept
	e.Tick(ctx, due.Add(-time.Nanosecond))
	if i, _ := e.Get(ops, id); i.Overdue || i.SupervisionTier != 0 {
		t.Fatalf("one ns before the deadline: %+v", i)
	}
	e.Tick(ctx, due)
	i, _ := e.Get(ops, id)
	last := i.History[len(i.History)-1]
	if !i.Overdue || i.SupervisionTier != 1 || last.Action != "supervise" || last.Tier != 1 || i.Owner != "zhaoren" || i.Level != LevelTownship || i.Escalated {
		t.Fatalf("at the deadline: tier %d, last %+v, owner %s level %s", i.SupervisionTier, last, i.Owner, i.Level)
	}
	// Tier 2 and 3 every further 5 minutes (the step's own limit), then no more.
	e.Tick(ctx, due.Add(5*time.Minute))
	e.Tick(ctx, due.Add(10*time.Minute))
	e.Tick(ctx, due.Add(time.Hour))
	i, _ = e.Get(ops, id)
	var tiers []int
	for _, s := range i.History {
		if s.Action == "supervise" {
			tiers = append(tiers, s.Tier)
		}
	}
	if fmt.Sprint(tiers) != "[1 2 3]" || i.SupervisionTier != 3 {
		t.Fatalf("tiers %v, incident tier %d", tiers, i.SupervisionTier)
	}
	// The township keeps its buttons: a late accept is allowed and recorded.
	clk.set(due.Add(2 * time.Hour))
	got, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{Note: "late, sorry"})
	if err != nil || got.State != StateAccepted {
		t.Fatalf("late accept: %v", err)
	}
	if len(got.LateSteps) != 1 || got.LateSteps[0].Step != "accept" || got.LateSteps[0].Owner != "zhaoren" ||
		!got.LateSteps[0].DoneAt.Equal(due.Add(2*time.Hour)) || got.LateSteps[0].LateBy != "2h0m0s" {
		t.Fatalf("late_steps = %+v", got.LateSteps)
	}
	if got.Overdue || got.SupervisionTier != 0 {
		t.Fatalf("after the late step was done: overdue %v tier %d", got.Overdue, got.SupervisionTier)
	}
	// Later steps never erase it.
	_, err = e.Act(ctx, zhaoren, id, "resolve", event.ActionRequest{Note: "done", NoVisitReason: "电话核实，无需到场"})
	must(t, err)
	_, err = e.Act(ctx, ops, id, "reopen", event.ActionRequest{})
	must(t, err)
	if i, _ := e.Get(ops, id); len(i.LateSteps) != 1 || i.LateSteps[0].Step != "accept" {
		t.Fatalf("late_steps after resolve and reopen: %+v", i.LateSteps)
	}
}

func TestTakeOverKeepsTheFirstBehaviour(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, "alerts:\n  on_overdue: take_over\n"), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	e.Tick(ctx, t0.Add(5*time.Minute))
	i, _ := e.Get(ops, id)
	if i.Level != LevelCounty || !i.Escalated || i.Owner != LevelCounty || i.History[len(i.History)-1].Action != "escalate" {
		t.Fatalf("take_over: %+v", i)
	}
	if _, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{}); !errors.Is(err, event.ErrForbidden) {
		t.Fatalf("township accept after take-over: %v", err)
	}
	if _, err := e.Get(zhaoren, id); err != nil {
		t.Fatalf("the township lost its read-only view: %v", err)
	}
}

// A county review that is late is the county's: supervised against the
// county, never a township escalation, even with take_over.
func TestMissedCountyReviewIsChargedToTheCounty(t *testing.T) {
	for _, policy := range []string{"supervise", "take_over"} {
		t.Run(policy, func(t *testing.T) {
			clk := &clock{t: t0}
			e, _ := newEngine(t, testConfig(t, "alerts:\n  on_overdue: "+policy+"\n"), t.TempDir(), clk)
			ctx := context.Background()
			must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
			id := open(e)[0].ID
			for _, s := range []struct {
				p      auth.Principal
				action string
			}{{zhaoren, "accept"}, {zhaoren, "resolve"}, {ops, "evaluate"}} {
				if _, err := e.Act(ctx, s.p, id, s.action, fullReq()); err != nil {
					t.Fatal(s.action, err)
				}
			}
			e.Tick(ctx, t0.Add(3*24*time.Hour+time.Second)) // critical review: 3 days
			i, _ := e.Get(ops, id)
			if i.Escalated || i.Owner != "zhaoren" || len(i.LateSteps) != 1 || i.LateSteps[0].Step != "review" || i.LateSteps[0].Owner != LevelCounty {
				t.Fatalf("owner %s escalated %v late %+v", i.Owner, i.Escalated, i.LateSteps)
			}
			for _, s := range i.History {
				if s.Action == "escalate" {
					t.Fatalf("a county step became an escalation: %+v", s)
				}
			}
		})
	}
}

func TestHoldPausesTheClockUpToMaxHold(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, "alerts:\n  deadlines:\n    critical: {hold: 2h}\n"), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	clk.set(t0.Add(2 * time.Minute)) // 3 minutes of the 5 left
	if _, err := e.Act(ctx, zhaoren, id, "hold", event.ActionRequest{}); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("hold without a reason: %v", err)
	}
	if _, err := e.Act(ctx, zhaoren, id, "hold", event.ActionRequest{Reason: "road closed by snow"}); err != nil {
		t.Fatal(err)
	}
	e.Tick(ctx, t0.Add(time.Hour))
	if i, _ := e.Get(ops, id); i.Overdue || i.State != StateHeld {
		t.Fatalf("held incident went overdue within max hold: %+v", i.History)
	}
	clk.set(t0.Add(time.Hour))
	i, err := e.Act(ctx, zhaoren, id, "resume", event.ActionRequest{})
	if err != nil || i.State != StateDispatched || !i.Deadline.Equal(t0.Add(time.Hour+3*time.Minute)) {
		t.Fatalf("resume: %+v %v", i.Deadline, err)
	}
	e.Tick(ctx, t0.Add(time.Hour+3*time.Minute))
	if i, _ := e.Get(ops, id); !i.Overdue {
		t.Fatalf("not overdue after the remaining time: %+v", i)
	}
}

func TestHoldBeyondMaxHoldGoesOverdue(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, "alerts:\n  max_hold: 7d\n"), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("water-1", 5, t0)))
	e.Tick(ctx, t0.Add(30*time.Second))
	id := open(e)[0].ID // major: max_hold applies
	clk.set(t0.Add(30 * time.Second))
	if _, err := e.Act(ctx, zhaoren, id, "hold", event.ActionRequest{Reason: "等待水利站"}); err != nil {
		t.Fatal(err)
	}
	e.Tick(ctx, t0.Add(7*24*time.Hour))
	if i, _ := e.Get(ops, id); i.Overdue {
		t.Fatal("overdue before max_hold")
	}
	e.Tick(ctx, t0.Add(7*24*time.Hour+31*time.Second))
	i, _ := e.Get(ops, id)
	if !i.Overdue || i.State != StateHeld || len(i.LateSteps) != 1 || i.LateSteps[0].Step != "hold" || i.LateSteps[0].Owner != "zhaoren" {
		t.Fatalf("hold beyond max_hold: overdue %v late %+v", i.Overdue, i.LateSteps)
	}
}

func TestEvaluateByThePeople(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	_, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{})
	must(t, err)
	_, err = e.Act(ctx, zhaoren, id, "resolve", event.ActionRequest{Note: "fixed", NoVisitReason: "电话核实，无需到场"})
	must(t, err)
	for _, tt := range []struct {
		name string
		p    auth.Principal
		req  event.ActionRequest
		want error
		in   string
	}{
		{"self-evaluation", zhaoren, event.ActionRequest{Rating: "satisfied", Method: "phone", Asked: "reporter"}, event.ErrForbidden, "办结人"},
		{"no rating", ops, event.ActionRequest{Method: "phone", Asked: "reporter"}, event.ErrBadRequest, "rating"},
		{"method without asked", ops, event.ActionRequest{Rating: "satisfied", Method: "phone"}, event.ErrBadRequest, "asked"},
		{"bad method", ops, event.ActionRequest{Rating: "satisfied", Method: "email", Asked: "reporter"}, event.ErrBadRequest, "method"},
	} {
		if _, err := e.Act(ctx, tt.p, id, "evaluate", tt.req); !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.in) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	i, err := e.Act(ctx, ops, id, "evaluate", event.ActionRequest{Rating: "unsatisfied", Method: "visit", Asked: "household"})
	must(t, err)
	// on_unsatisfied: county (default): it waits for the county's decision.
	if i.State != StateEvaluated || i.Rating != "unsatisfied" {
		t.Fatalf("after unsatisfied: %s %s", i.State, i.Rating)
	}
	_, err = e.Act(ctx, ops, id, "reopen", event.ActionRequest{Note: "do it again"})
	must(t, err)
	i, _ = e.Get(ops, id)
	if i.Rating != "unsatisfied" || len(i.Ratings) != 1 || i.Reopened != 1 {
		t.Fatalf("reopen erased the rating: %q %+v", i.Rating, i.Ratings)
	}
	_, err = e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{})
	must(t, err)
	_, err = e.Act(ctx, zhaoren, id, "resolve", event.ActionRequest{Note: "done properly", NoVisitReason: "电话核实，无需到场"})
	must(t, err)
	// The old form: a rating alone still works.
	i, err = e.Act(ctx, ops, id, "evaluate", event.ActionRequest{Rating: "satisfied"})
	must(t, err)
	if len(i.Ratings) != 2 || i.Ratings[0].Rating != "unsatisfied" || i.Ratings[1].Method != "unrecorded" {
		t.Fatalf("ratings = %+v", i.Ratings)
	}
	if _, err := e.Act(ctx, ops, id, "review", event.ActionRequest{Score: ptr(101)}); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("score 101: %v", err)
	}
	i, err = e.Act(ctx, ops, id, "review", event.ActionRequest{Score: ptr(80), Note: "reopened once"})
	must(t, err)
	if i.Score == nil || *i.Score != 80 || i.ReviewedAt.IsZero() || len(i.Timeliness) == 0 {
		t.Fatalf("review: %+v", i)
	}
}

func TestOnUnsatisfiedReopen(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, "alerts:\n  on_unsatisfied: reopen\n"), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	for _, a := range []string{"accept", "resolve"} {
		_, err := e.Act(ctx, zhaoren, id, a, fullReq())
		must(t, err)
	}
	req := fullReq()
	req.Rating = "unsatisfied"
	i, err := e.Act(ctx, ops, id, "evaluate", req)
	must(t, err)
	if i.State != StateDispatched || i.Reopened != 1 || i.Rating != "unsatisfied" {
		t.Fatalf("unsatisfied with reopen: %s reopened %d", i.State, i.Reopened)
	}
}

func TestAcceptBeforeResolveThenAssign(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	if _, err := e.Act(ctx, zhaoren, id, "resolve", event.ActionRequest{Note: "x", NoVisitReason: "电话核实，无需到场"}); !errors.Is(err, event.ErrConflict) || !strings.Contains(err.Error(), "accept first") {
		t.Fatalf("resolve before accept: %v", err)
	}
	_, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{})
	must(t, err)
	if _, err := e.Act(ctx, zhaoren, id, "assign", event.ActionRequest{Person: "p-xg"}); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("assign someone of another township: %v", err)
	}
	if _, err := e.Act(ctx, zhaoren, id, "assign", event.ActionRequest{}); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("assign without a person: %v", err)
	}
	clk.add(10 * time.Minute)
	i, err := e.Act(ctx, zhaoren, id, "assign", event.ActionRequest{Person: "p-wang"})
	must(t, err)
	if i.Assignee == nil || i.Assignee.ID != "p-wang" || i.Assignee.Name != "王网格员" {
		t.Fatalf("assignee = %+v", i.Assignee)
	}
	i, err = e.Act(ctx, village1, id, "assign", event.ActionRequest{Person: "p-li", Note: "the cadre goes"})
	must(t, err)
	if i.Assignee.ID != "p-li" || i.History[len(i.History)-1].Person != "p-li" {
		t.Fatalf("reassign to another person: %+v", i.Assignee)
	}
	found := false
	for _, s := range i.Timeliness {
		if s.Step == "assign" && s.OnTime {
			found = true
		}
	}
	if !found {
		t.Fatalf("assign's timeliness: %+v", i.Timeliness)
	}
}

// After the county hands an incident to another township, the new owner
// acts and the old one keeps a read-only view.
func TestReassignMovesTheButtons(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	i, err := e.Act(ctx, ops, id, "reassign", event.ActionRequest{To: "xiangong"})
	must(t, err)
	if i.Township != "zhaoren" || i.Owner != "xiangong" {
		t.Fatalf("origin %s owner %s", i.Township, i.Owner)
	}
	if _, err := e.Act(ctx, xiang, id, "accept", event.ActionRequest{}); err != nil {
		t.Fatalf("the new owner cannot act: %v", err)
	}
	if _, err := e.Act(ctx, zhaoren, id, "resolve", event.ActionRequest{Note: "x", NoVisitReason: "电话核实，无需到场"}); !errors.Is(err, event.ErrForbidden) {
		t.Fatalf("the old owner can still act: %v", err)
	}
	if _, err := e.Get(zhaoren, id); err != nil {
		t.Fatalf("the old owner lost its view: %v", err)
	}
	if l := e.List(xiang, event.IncidentFilter{}); len(l) != 1 {
		t.Fatalf("the new owner's list: %d", len(l))
	}
}

func TestSummonReportDone(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	if _, err := e.Get(powerDep, id); !errors.Is(err, event.ErrNotFound) {
		t.Fatalf("a department sees what it was not summoned to: %v", err)
	}
	if _, err := e.Act(ctx, zhaoren, id, "summon", event.ActionRequest{Departments: []string{"nope"}}); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("unknown department: %v", err)
	}
	_, err := e.Act(ctx, zhaoren, id, "summon", event.ActionRequest{Departments: []string{"power"}, Note: "停电"})
	must(t, err)
	if l := e.List(powerDep, event.IncidentFilter{}); len(l) != 1 {
		t.Fatalf("summoned department's list: %d", len(l))
	}
	if l := e.List(waterDep, event.IncidentFilter{}); len(l) != 0 {
		t.Fatalf("another department sees it: %d", len(l))
	}
	if _, err := e.Act(ctx, powerDep, id, "done", event.ActionRequest{Note: "x"}); !errors.Is(err, event.ErrConflict) {
		t.Fatalf("done before report: %v", err)
	}
	if _, err := e.Act(ctx, powerDep, id, "accept", event.ActionRequest{}); !errors.Is(err, event.ErrForbidden) {
		t.Fatalf("a department accepting: %v", err)
	}
	clk.add(time.Hour) // critical 报到: 30 minutes
	e.Tick(ctx, clk.now())
	_, err = e.Act(ctx, powerDep, id, "report", event.ActionRequest{Note: "到场"})
	must(t, err)
	i, err := e.Act(ctx, powerDep, id, "done", event.ActionRequest{Note: "已恢复供电"})
	must(t, err)
	s := i.Summoned[0]
	if s.ReportedAt.IsZero() || s.DoneAt.IsZero() || s.Note != "已恢复供电" {
		t.Fatalf("summons: %+v", s)
	}
	late := false
	for _, l := range i.LateSteps {
		if l.Step == "report" && l.Owner == "department:power" && !l.DoneAt.IsZero() {
			late = true
		}
	}
	if !late {
		t.Fatalf("late 报到 not recorded: %+v", i.LateSteps)
	}
}

func TestCreateByHand(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	q := event.CreateRequest{Title: "路口打架", Severity: "major", Village: "v-zr-01", Cameras: []string{"cam-1"}, Source: "hotline_12345", Ref: "12345-0001", Note: "市民来电"}
	i, err := e.Create(ctx, ops, q)
	must(t, err)
	if i.State != StateDispatched || i.Owner != "zhaoren" || i.Source != "hotline_12345" || i.Ref != "12345-0001" || i.Class != "hotline_12345" || i.CreatedBy != "ops" {
		t.Fatalf("created: %+v", i)
	}
	if l := e.List(ops, event.IncidentFilter{Source: "hotline_12345"}); len(l) != 1 {
		t.Fatalf("filter by source: %d", len(l))
	}
	for _, tt := range []struct {
		p    auth.Principal
		q    event.CreateRequest
		want error
		in   string
	}{
		{ops, event.CreateRequest{Title: "x", Village: "v-nowhere"}, event.ErrBadRequest, "v-nowhere"},
		{ops, event.CreateRequest{Village: "v-zr-01"}, event.ErrBadRequest, "title"},
		{ops, event.CreateRequest{Title: "x", Village: "v-zr-01", Source: "rumour"}, event.ErrBadRequest, "source"},
		{ops, event.CreateRequest{Title: "x", Village: "v-zr-01", Class: "urgentish"}, event.ErrBadRequest, "class"},
		{ops, event.CreateRequest{Title: "x", Village: "v-zr-01", Note: strings.Repeat("长", 4001)}, event.ErrTooLarge, "4000"},
		{xiang, event.CreateRequest{Title: "x", Village: "v-zr-01"}, event.ErrForbidden, "own villages"},
		{tech, event.CreateRequest{Title: "x", Village: "v-zr-01"}, event.ErrForbidden, ""},
	} {
		if _, err := e.Create(ctx, tt.p, tt.q); !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.in) {
			t.Errorf("%s %+v: %v", tt.p.Name, tt.q.Title, err)
		}
	}
	i, err = e.Create(ctx, zhaoren, event.CreateRequest{Title: "网格员上报", Village: "v-zr-02", Source: "grid"})
	must(t, err)
	if i.Owner != "zhaoren" || i.Severity != "minor" {
		t.Fatalf("township's own: %+v", i)
	}
}

func TestNoteOverTheLimitIs413(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	_, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{Note: strings.Repeat("x", 4001)})
	if dashboard.HTTPStatus(err) != 413 {
		t.Fatalf("long note: %v", err)
	}
	if _, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{Note: strings.Repeat("雪", 4000)}); err != nil {
		t.Fatalf("4,000 characters: %v", err)
	}
}

func TestEscalateNeedsAReason(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	_, err := e.Act(ctx, zhaoren, id, "escalate", event.ActionRequest{Note: "old clients sent only a note"})
	if !errors.Is(err, event.ErrBadRequest) || !strings.Contains(err.Error(), "上报需要") || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("escalate without reason: %v", err)
	}
	i, err := e.Act(ctx, zhaoren, id, "escalate", event.ActionRequest{Reason: "涉及跨镇供水"})
	must(t, err)
	if i.Owner != LevelCounty || i.EscalatedManual != 1 || !slices.Contains(i.Owners, "zhaoren") {
		t.Fatalf("escalated: %+v", i)
	}
	// The county may hand it back.
	i, err = e.Act(ctx, ops, id, "reassign", event.ActionRequest{To: "zhaoren"})
	must(t, err)
	if _, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{}); err != nil {
		t.Fatalf("handed back, the township acts again: %v", err)
	}
}

func TestExtendHardCase(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)} // Monday 09:00 in Beijing
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	i, err := e.Create(ctx, ops, event.CreateRequest{Title: "宅基地纠纷", Village: "v-zr-01", Source: "petition", Class: "hard"})
	must(t, err)
	_, err = e.Act(ctx, zhaoren, i.ID, "accept", event.ActionRequest{})
	must(t, err)
	for _, tt := range []struct {
		req  event.ActionRequest
		want error
	}{
		{event.ActionRequest{Crux: "x", By: "5wd"}, event.ErrBadRequest},
		{event.ActionRequest{Cause: "x", By: "5wd"}, event.ErrBadRequest},
		{event.ActionRequest{Cause: "x", Crux: "y", By: "soon"}, event.ErrBadRequest},
		{event.ActionRequest{Cause: "x", Crux: "y", By: "31wd"}, event.ErrConflict}, // 30wd + 31wd > 60wd
	} {
		if _, err := e.Act(ctx, zhaoren, i.ID, "extend", tt.req); !errors.Is(err, tt.want) {
			t.Errorf("%+v: %v", tt.req, err)
		}
	}
	i, err = e.Act(ctx, zhaoren, i.ID, "extend", event.ActionRequest{Cause: "双方各执一词", Crux: "历史证据缺失", By: "10wd"})
	must(t, err)
	if i.Extension == nil || i.Extension.Approved {
		t.Fatalf("extension: %+v", i.Extension)
	}
	if _, err := e.Act(ctx, zhaoren, i.ID, "approve_extension", event.ActionRequest{}); !errors.Is(err, event.ErrForbidden) {
		t.Fatalf("the township approves itself: %v", err)
	}
	i, err = e.Act(ctx, ops, i.ID, "approve_extension", event.ActionRequest{})
	must(t, err)
	var resolve time.Time
	for _, d := range i.Dues {
		if d.Step == "resolve" {
			resolve = d.Due
		}
	}
	if !resolve.Equal(i.Extension.Until) || !i.Extension.Approved {
		t.Fatalf("resolve due %v, extension %+v", resolve, i.Extension)
	}
}

// TestRejectExtensionAndRemind: 驳回 refuses an extension with a reason and
// the matter keeps its deadline (the desk may ask again); 催办 needs a
// note, is the county's, leaves the matter with its owner and is counted.
func TestRejectExtensionAndRemind(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)} // Monday 09:00 in Beijing
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	i, err := e.Create(ctx, ops, event.CreateRequest{Title: "宅基地纠纷", Village: "v-zr-01", Source: "petition", Class: "hard"})
	must(t, err)
	i, err = e.Act(ctx, zhaoren, i.ID, "accept", event.ActionRequest{})
	must(t, err)
	deadline := i.Deadline
	i, err = e.Act(ctx, zhaoren, i.ID, "extend", event.ActionRequest{Cause: "双方各执一词", Crux: "历史证据缺失", By: "10wd"})
	must(t, err)
	if _, err := e.Act(ctx, zhaoren, i.ID, "reject_extension", event.ActionRequest{Reason: "x"}); !errors.Is(err, event.ErrForbidden) {
		t.Fatalf("the township refuses its own extension: %v", err)
	}
	if _, err := e.Act(ctx, ops, i.ID, "reject_extension", event.ActionRequest{}); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("驳回 without a reason: %v", err)
	}
	i, err = e.Act(ctx, ops, i.ID, "reject_extension", event.ActionRequest{Reason: "证据可调取，按期办结"})
	must(t, err)
	last := i.History[len(i.History)-1]
	if i.Extension != nil || !i.Deadline.Equal(deadline) || last.Action != "reject_extension" || !strings.Contains(last.Note, "证据可调取") {
		t.Fatalf("after 驳回: extension %+v, deadline %v (was %v), last step %+v", i.Extension, i.Deadline, deadline, last)
	}
	if _, err := e.Act(ctx, ops, i.ID, "approve_extension", event.ActionRequest{}); !errors.Is(err, event.ErrConflict) {
		t.Fatalf("approve after 驳回: %v", err)
	}
	if _, err := e.Act(ctx, zhaoren, i.ID, "extend", event.ActionRequest{Cause: "需鉴定", Crux: "鉴定机构排期", By: "5wd"}); err != nil {
		t.Fatalf("asking again after 驳回: %v", err)
	}

	if _, err := e.Act(ctx, zhaoren, i.ID, "remind", event.ActionRequest{Note: "x"}); !errors.Is(err, event.ErrForbidden) {
		t.Fatalf("a township reminds: %v", err)
	}
	if _, err := e.Act(ctx, ops, i.ID, "remind", event.ActionRequest{}); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("催办 without a note: %v", err)
	}
	i, err = e.Act(ctx, ops, i.ID, "remind", event.ActionRequest{Note: "请本周内入户调解"})
	must(t, err)
	if i.Reminders != 1 || i.Owner != "zhaoren" || i.State != StateAccepted {
		t.Fatalf("after 催办: reminders %d, owner %s, state %s", i.Reminders, i.Owner, i.State)
	}
	rows, err := e.Stats(ops, clk.t.Add(-time.Hour), clk.t.Add(time.Hour), "township")
	must(t, err)
	n := 0
	for _, r := range rows {
		n += r.Reminded
	}
	if n != 1 {
		t.Fatalf("figures count %d reminders, want 1", n)
	}
}

// TestExtendOptionsFollowTheClass: a matter is offered the extension
// lengths its class's maximum allows and no others: each one offered is
// taken by the extend step, each one left out is refused; a hard case is
// offered 30 working days, a simple matter a few; at its maximum the
// matter offers no extension and says until when it could have run.
func TestExtendOptionsFollowTheClass(t *testing.T) {
	for _, tt := range []struct {
		class      string
		has, lacks string
	}{
		{"simple", "3wd", "10wd"},
		{"hard", "30wd", ""},
	} {
		t.Run(tt.class, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)} // Monday 09:00 in Beijing
			e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
			ctx := context.Background()
			i, err := e.Create(ctx, ops, event.CreateRequest{Title: "宅基地纠纷", Village: "v-zr-01", Source: "petition", Class: tt.class})
			must(t, err)
			if len(i.ExtendOptions) != 0 {
				t.Fatalf("offered before acceptance: %+v", i.ExtendOptions)
			}
			i, err = e.Act(ctx, zhaoren, i.ID, "accept", event.ActionRequest{})
			must(t, err)
			offered := map[string]bool{}
			for _, o := range i.ExtendOptions {
				offered[o.By] = true
				if o.Until.After(i.ExtendMax) {
					t.Errorf("%s until %v: beyond the maximum %v", o.By, o.Until, i.ExtendMax)
				}
			}
			if !offered[tt.has] || (tt.lacks != "" && offered[tt.lacks]) {
				t.Fatalf("offered %+v (max %v), want %s and not %q", i.ExtendOptions, i.ExtendMax, tt.has, tt.lacks)
			}
			for _, by := range extendLadder {
				_, err := e.Act(ctx, zhaoren, i.ID, "extend", event.ActionRequest{Cause: "需鉴定", Crux: "鉴定机构排期", By: by})
				if offered[by] != (err == nil) {
					t.Fatalf("%s: offered %v, extend gave %v", by, offered[by], err)
				}
				if err == nil {
					got, _ := e.Get(zhaoren, i.ID)
					if len(got.ExtendOptions) != 0 || slices.Contains(e.Actions(zhaoren, got), "extend") {
						t.Fatalf("an extension waits, yet offered %+v, actions %v", got.ExtendOptions, e.Actions(zhaoren, got))
					}
					_, err = e.Act(ctx, ops, i.ID, "reject_extension", event.ActionRequest{Reason: "按期办结"})
					must(t, err)
				}
			}
			// The longest offered, approved: the matter is at its maximum.
			longest := i.ExtendOptions[len(i.ExtendOptions)-1]
			_, err = e.Act(ctx, zhaoren, i.ID, "extend", event.ActionRequest{Cause: "需鉴定", Crux: "鉴定机构排期", By: longest.By})
			must(t, err)
			i, err = e.Act(ctx, ops, i.ID, "approve_extension", event.ActionRequest{})
			must(t, err)
			for _, d := range i.Dues {
				if d.Step == "resolve" && !d.Due.Equal(longest.Until) {
					t.Errorf("resolve due %v, the option said %v", d.Due, longest.Until)
				}
			}
			// What is left is counted from the new deadline, within the same maximum.
			for _, o := range i.ExtendOptions {
				if o.Until.After(i.ExtendMax) || !o.Until.After(longest.Until) {
					t.Errorf("after the longest: %s until %v, outside (%v, %v]", o.By, o.Until, longest.Until, i.ExtendMax)
				}
			}
		})
	}
}

// TestExtendRefusedAtTheClassMaximum: a matter with no time left under its
// class's maximum lists no extend action, and the step says why in words.
func TestExtendRefusedAtTheClassMaximum(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)}
	cfg := testConfig(t, "")
	cfg.Alerts.Classes["simple"] = configs.ClassLimits{Resolve: configs.Dur(48 * time.Hour), Max: configs.Dur(48 * time.Hour)}
	e, _ := newEngine(t, cfg, t.TempDir(), clk)
	ctx := context.Background()
	i, err := e.Create(ctx, ops, event.CreateRequest{Title: "路灯不亮", Village: "v-zr-01", Source: "grid", Class: "simple"})
	must(t, err)
	i, err = e.Act(ctx, zhaoren, i.ID, "accept", event.ActionRequest{})
	must(t, err)
	if len(i.ExtendOptions) != 0 || i.ExtendMax.IsZero() || slices.Contains(e.Actions(zhaoren, i), "extend") {
		t.Fatalf("at the maximum: options %+v, max %v, actions %v", i.ExtendOptions, i.ExtendMax, e.Actions(zhaoren, i))
	}
	_, err = e.Act(ctx, zhaoren, i.ID, "extend", event.ActionRequest{Cause: "x", Crux: "y", By: "1wd"})
	if !errors.Is(err, event.ErrConflict) || !strings.Contains(err.Error(), "最长期限") {
		t.Fatalf("extend at the maximum: %v", err)
	}
}

// TestHandBackKeepsTheWork: the county hands an escalated matter back to
// the township that reported it up: accepted, its person, the approved
// extension and every deadline are as they were. Handed to another
// township instead, it is a fresh dispatch waiting for that one's accept.
func TestHandBackKeepsTheWork(t *testing.T) {
	for _, tt := range []struct {
		name      string
		to        string
		state     string
		assignee  bool
		wantDues  []string
		wantOwner string
	}{
		{"back to the township that escalated", "zhaoren", StateAccepted, true, []string{"resolve"}, "zhaoren"},
		{"to another township", "xiangong", StateDispatched, false, []string{"accept"}, "xiangong"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)} // Monday 09:00 in Beijing
			e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
			ctx := context.Background()
			i, err := e.Create(ctx, ops, event.CreateRequest{Title: "宅基地纠纷", Village: "v-zr-01", Source: "petition", Class: "hard"})
			must(t, err)
			id := i.ID
			_, err = e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{})
			must(t, err)
			_, err = e.Act(ctx, zhaoren, id, "assign", event.ActionRequest{Person: "p-wang"})
			must(t, err)
			_, err = e.Act(ctx, zhaoren, id, "extend", event.ActionRequest{Cause: "双方各执一词", Crux: "历史证据缺失", By: "10wd"})
			must(t, err)
			before, err := e.Act(ctx, ops, id, "approve_extension", event.ActionRequest{})
			must(t, err)
			clk.t = clk.t.Add(2 * time.Hour)
			_, err = e.Act(ctx, zhaoren, id, "escalate", event.ActionRequest{Reason: "涉及跨镇土地"})
			must(t, err)
			i, err = e.Act(ctx, ops, id, "reassign", event.ActionRequest{To: tt.to})
			must(t, err)
			if i.State != tt.state || i.Owner != tt.wantOwner || (i.Assignee != nil) != tt.assignee {
				t.Fatalf("after hand-back: state %s owner %s assignee %+v; want %s, %s, assignee %v", i.State, i.Owner, i.Assignee, tt.state, tt.wantOwner, tt.assignee)
			}
			var steps []string
			for _, d := range i.Dues {
				steps = append(steps, d.Step)
				if d.Owner != tt.wantOwner {
					t.Errorf("due %s owned by %s, want %s", d.Step, d.Owner, tt.wantOwner)
				}
			}
			if !slices.Equal(steps, tt.wantDues) {
				t.Fatalf("dues %v, want %v", steps, tt.wantDues)
			}
			if !tt.assignee {
				return
			}
			if i.Assignee.ID != before.Assignee.ID || i.Extension == nil || !i.Extension.Approved || !i.Deadline.Equal(before.Deadline) || !i.Dues[0].Due.Equal(before.Extension.Until) {
				t.Fatalf("work not kept: assignee %+v extension %+v deadline %v (was %v)", i.Assignee, i.Extension, i.Deadline, before.Deadline)
			}
			if _, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{}); !errors.Is(err, event.ErrConflict) {
				t.Fatalf("accept again after hand-back: %v, want 409", err)
			}
			if _, err := e.Act(ctx, zhaoren, id, "resolve", event.ActionRequest{Note: "已调解", Cause: "c", Crux: "x"}); err != nil {
				t.Fatalf("resolve after hand-back: %v", err)
			}
		})
	}
}
