package alerts

import (
	"context"
	"strings"
	"testing"

	"snowhub/dashboard"
	"snowhub/internal/event"
)

// TestResolveRules: a hard matter closes with its cause and crux written
// down (400 naming the one missing); a matter nobody was sent on site for
// closes only with the reason no visit was needed (409 otherwise), and
// that reason is kept in the history.
func TestResolveRules(t *testing.T) {
	for _, tt := range []struct {
		name     string
		class    string
		assign   bool
		req      event.ActionRequest
		want     int
		mentions string
	}{
		{"hard without cause", "hard", true, event.ActionRequest{Note: "已调解", Crux: "x"}, 400, "cause"},
		{"hard without crux", "hard", true, event.ActionRequest{Note: "已调解", Cause: "c"}, 400, "crux"},
		{"hard with cause and crux", "hard", true, event.ActionRequest{Note: "已调解", Cause: "c", Crux: "x", Advice: "a"}, 200, ""},
		{"hard, nobody sent", "hard", false, event.ActionRequest{Note: "已调解", Cause: "c", Crux: "x"}, 409, "no_visit_reason"},
		{"nobody sent", "", false, event.ActionRequest{Note: "已处理"}, 409, "no_visit_reason"},
		{"nobody sent, blank reason", "", false, event.ActionRequest{Note: "已处理", NoVisitReason: "  "}, 409, "no_visit_reason"},
		{"nobody sent, with the reason", "", false, event.ActionRequest{Note: "已处理", NoVisitReason: "电话核实为误报"}, 200, ""},
		{"someone sent", "", true, event.ActionRequest{Note: "已处理"}, 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), &clock{t: t0})
			ctx := context.Background()
			i, err := e.Create(ctx, ops, event.CreateRequest{Title: "宅基地纠纷", Village: "v-zr-01", Source: "petition", Class: tt.class})
			must(t, err)
			_, err = e.Act(ctx, zhaoren, i.ID, "accept", event.ActionRequest{})
			must(t, err)
			if tt.assign {
				_, err = e.Act(ctx, zhaoren, i.ID, "assign", event.ActionRequest{Person: "p-wang"})
				must(t, err)
			}
			got, err := e.Act(ctx, zhaoren, i.ID, "resolve", tt.req)
			if code := map[bool]int{true: 200, false: dashboard.HTTPStatus(err)}[err == nil]; code != tt.want {
				t.Fatalf("status %d (%v), want %d", code, err, tt.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.mentions) || !strings.Contains(err.Error(), " / ") {
					t.Fatalf("refusal %q does not name %s in both languages", err, tt.mentions)
				}
				return
			}
			last := got.History[len(got.History)-1]
			if last.Action != "resolve" || last.NoVisitReason != strings.TrimSpace(tt.req.NoVisitReason) ||
				last.Cause != tt.req.Cause || last.Crux != tt.req.Crux || last.Advice != tt.req.Advice {
				t.Fatalf("resolve step %+v does not keep what was written", last)
			}
		})
	}
}
