package alerts

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// fullReq carries every field any action needs.
func fullReq() event.ActionRequest {
	return event.ActionRequest{Note: "n", Reason: "r", Rating: "satisfied", Method: "phone", Asked: "reporter", Score: ptr(90),
		Person: "p-wang", Departments: []string{"power"}, Cause: "c", Crux: "x", By: "1h", NoVisitReason: "v"}
}

// bring takes a fresh incident (opened, waiting for the county) to state;
// summoned adds the power department first.
func bring(t *testing.T, e *Engine, id, state string, summoned bool) {
	t.Helper()
	ctx := context.Background()
	do := func(p auth.Principal, action string, req event.ActionRequest) {
		t.Helper()
		if _, err := e.Act(ctx, p, id, action, req); err != nil {
			t.Fatalf("setup %s: %v", action, err)
		}
	}
	path := map[string][]string{StateOpened: {}, StateDispatched: {"dispatch"}, StateAccepted: {"dispatch", "accept"},
		StateResolved: {"dispatch", "accept", "resolve"}, StateEvaluated: {"dispatch", "accept", "resolve", "evaluate"},
		StateReviewed: {"dispatch", "accept", "resolve", "evaluate", "review"}, StateHeld: {"dispatch", "hold"}}[state]
	for i, a := range path {
		if summoned && i == 1 {
			do(ops, "summon", fullReq())
		}
		who := ops
		if a == "resolve" {
			who = zrWorker // so that the desk and the county may evaluate
		}
		do(who, a, fullReq())
	}
	if summoned && len(path) <= 1 {
		if len(path) == 0 {
			t.Skip("no summons before dispatch")
		}
		do(ops, "summon", fullReq())
	}
	if a := e.incidents[id]; a.State != state {
		t.Fatalf("brought to %s, want %s", a.State, state)
	}
}

// The transition table, every state × action × role: 200, 403 (role or
// scope), 404 (not visible), 409 (wrong state), never 500.
func TestTransitionTable(t *testing.T) {
	roles := []struct {
		name string
		p    auth.Principal
	}{{"operator", ops}, {"own-township", zhaoren}, {"other-township", xiang}, {"technician", tech},
		{"own-village", village1}, {"other-village", village2}, {"summoned-dept", powerDep}, {"other-dept", waterDep}}
	states := []string{StateOpened, StateDispatched, StateAccepted, StateResolved, StateEvaluated, StateReviewed, StateHeld}
	// expected status when the state is right, by role and the action's Who.
	want := func(role string, tr *Transition) int {
		switch role {
		case "operator":
			if tr.Who == whoDepartment {
				return 403
			}
			return 200
		case "own-township", "own-village":
			if tr.Who == whoOwner || tr.Who == whoViewer {
				return 200
			}
			return 403
		case "summoned-dept":
			if tr.Who == whoDepartment {
				return 200
			}
			return 403
		case "other-village", "other-dept":
			return 404
		}
		return 403
	}
	extra := "alerts:\n  hold_for_county: [critical]\n"
	for _, tr := range Transitions {
		for _, st := range states {
			for _, role := range roles {
				t.Run(tr.Action+"/"+st+"/"+role.name, func(t *testing.T) {
					clk := &clock{t: t0}
					e, _ := newEngine(t, testConfig(t, extra), t.TempDir(), clk)
					ctx := context.Background()
					must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
					id := open(e)[0].ID
					bring(t, e, id, st, true)
					req := fullReq()
					if tr.Action == "reassign" {
						req.To = "county"
					}
					if (tr.Action == "approve_extension" || tr.Action == "reject_extension") && st == StateAccepted {
						if _, err := e.Act(ctx, zhaoren, id, "extend", req); err != nil {
							t.Fatal(err)
						}
					}
					if tr.Action == "done" && slices.Contains(tr.From, st) {
						if _, err := e.Act(ctx, powerDep, id, "report", req); err != nil {
							t.Fatal(err)
						}
					}
					if tr.Action == "evaluate" && role.name == "own-township" {
						req.Note = "the desk that did not resolve it may record the people's rating"
					}
					_, err := e.Act(ctx, role.p, id, tr.Action, req)
					got := 200
					if err != nil {
						got = dashboard.HTTPStatus(err)
					}
					w := want(role.name, &tr)
					if w == 200 && !slices.Contains(tr.From, st) {
						w = 409
					}
					if w == 200 && tr.Action == "escalate" && st == StateOpened {
						w = 409 // held for the county's dispatch: the county has no level above it
					}
					if st == StateReviewed && w != 404 {
						w = map[bool]int{true: 409, false: w}[w == 200]
					}
					if got != w {
						t.Fatalf("status %d (%v), want %d", got, err, w)
					}
					if got != 200 && !strings.Contains(err.Error(), "/") {
						t.Fatalf("a refusal without its Chinese and English reason: %v", err)
					}
				})
			}
		}
	}
}

// The docs' state table is the engine's: every action appears with its
// from states and who may take it.
func TestDocsTableMatchesTransitions(t *testing.T) {
	b, err := readDocs()
	if err != nil {
		t.Skip(err)
	}
	if !strings.Contains(b, TransitionTableMarkdown()) {
		t.Fatalf("docs/incidents.md does not hold the transition table; paste:\n%s", TransitionTableMarkdown())
	}
}

func readDocs() (string, error) {
	b, err := os.ReadFile("../docs/incidents.md")
	return string(b), err
}

// 确认 stops the sound on every wall: recorded once with who and when, a
// second one says who was first, and a reopened matter sounds again.
func TestAcknowledge(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	inc, err := e.Act(ctx, ops, id, "acknowledge", event.ActionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if inc.AcknowledgedBy != ops.Name || !inc.AcknowledgedAt.Equal(t0) || inc.State == StateAccepted {
		t.Fatalf("acknowledged by %q at %v in state %s; want %s at %v, not accepted", inc.AcknowledgedBy, inc.AcknowledgedAt, inc.State, ops.Name, t0)
	}
	if last := inc.History[len(inc.History)-1]; last.Action != "acknowledge" || last.By != ops.Name {
		t.Fatalf("last step %+v, want acknowledge by %s", last, ops.Name)
	}
	_, err = e.Act(ctx, zhaoren, id, "acknowledge", event.ActionRequest{})
	if dashboard.HTTPStatus(err) != 409 || !strings.Contains(err.Error(), ops.Name) {
		t.Fatalf("second acknowledge: %v, want 409 naming %s", err, ops.Name)
	}
	_, err = e.Act(ctx, tech, id, "acknowledge", event.ActionRequest{})
	if dashboard.HTTPStatus(err) != 403 {
		t.Fatalf("technician: %v, want 403", err)
	}
	for _, step := range []string{"accept", "resolve", "reopen"} {
		if inc, err = e.Act(ctx, ops, id, step, fullReq()); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	if !inc.AcknowledgedAt.IsZero() || inc.AcknowledgedBy != "" {
		t.Fatalf("after reopen still acknowledged by %q", inc.AcknowledgedBy)
	}
	if _, err = e.Act(ctx, zhaoren, id, "acknowledge", event.ActionRequest{}); err != nil {
		t.Fatalf("acknowledge after reopen: %v", err)
	}
}

// An accepted matter handed to another township waits for that township's
// accept: it may not resolve what it never accepted, and the old
// township's person is no longer on it.
func TestReassignAcceptedNeedsAcceptAgain(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	for _, step := range []string{"accept", "assign"} {
		if _, err := e.Act(ctx, zhaoren, id, step, fullReq()); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	inc, err := e.Act(ctx, ops, id, "reassign", event.ActionRequest{To: "xiangong"})
	if err != nil {
		t.Fatal(err)
	}
	if inc.State != StateDispatched || inc.Owner != "xiangong" || inc.Assignee != nil {
		t.Fatalf("after reassign: state %s owner %s assignee %v; want dispatched, xiangong, none", inc.State, inc.Owner, inc.Assignee)
	}
	if len(inc.Dues) != 1 || inc.Dues[0].Step != "accept" || inc.Dues[0].Owner != "xiangong" {
		t.Fatalf("dues %+v, want one accept due of xiangong", inc.Dues)
	}
	if _, err := e.Act(ctx, xiang, id, "resolve", fullReq()); dashboard.HTTPStatus(err) != 409 {
		t.Fatalf("resolve before accept by the new owner: %v, want 409", err)
	}
	if _, err := e.Act(ctx, zhaoren, id, "resolve", fullReq()); dashboard.HTTPStatus(err) != 403 {
		t.Fatalf("the old owner resolving: %v, want 403", err)
	}
	if _, err := e.Act(ctx, xiang, id, "accept", fullReq()); err != nil {
		t.Fatalf("accept by the new owner: %v", err)
	}
}
