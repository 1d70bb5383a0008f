package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"snowhub/alerts"
	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Every incident the API hands out carries the steps its caller may take
// now, from the transition table and auth's decision: the county, the
// desk that holds it, a colleague at that desk, a technician and a
// summoned department see the same incident with different steps, none
// where they may do nothing, and every step left out is refused.
func TestActionsPerCaller(t *testing.T) {
	y := `listen: 127.0.0.1:0
county: {id: c, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages: [{id: v-zr-01, name: 东街社区}]
  - id: xiangong
    name: 相公镇
    villages: [{id: v-xg-01, name: 相公村}]
departments:
  - {id: power, name: 供电所}
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
  - {name: zr, role: township, township: zhaoren, token: zr-token-0123456789}
  - {name: zr-visits, role: township, township: zhaoren, token: zr2-token-0123456789}
  - {name: xg, role: township, township: xiangong, token: xg-token-0123456789}
  - {name: tech, role: technician, token: tech-token-0123456789}
  - {name: power, role: department, department: power, token: power-token-0123456789}
`
	cfg, err := configs.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	e, err := alerts.New(alerts.Options{Config: cfg, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	users := map[string]auth.Principal{}
	for _, u := range cfg.Users {
		users[u.Token] = auth.Principal{Name: u.Name, Role: u.Role, Township: u.Township, Department: u.Department}
	}
	s, err := dashboard.New(dashboard.Options{Config: func() *configs.Config { return cfg },
		Auth:      func(tok string) (auth.Principal, bool) { p, ok := users[tok]; return p, ok },
		Incidents: e, IncidentQuery: e, IncidentCreate: e})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const ops, zr, zr2, xg, tech, power = "ops-token-0123456789", "zr-token-0123456789", "zr2-token-0123456789", "xg-token-0123456789", "tech-token-0123456789", "power-token-0123456789"
	call := func(method, tok, path string, body any, out any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, "http://"+s.Addr()+path, rd)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil && resp.StatusCode/100 == 2 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, b)
			}
		}
		return resp.StatusCode
	}
	var inc event.Incident
	if code := call("POST", ops, "/api/v1/incidents", map[string]any{"title": "路口打架", "village": "v-zr-01", "source": "wall", "severity": "major"}, &inc); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if !slices.Equal(inc.Actions, []string{"accept", "escalate", "reassign", "hold", "acknowledge", "remind", "summon"}) {
		t.Errorf("the creator's answer: actions %v", inc.Actions)
	}
	path := "/api/v1/incidents/" + inc.ID
	// actionsOf is what GET gives the caller, and what the list gives it
	// for the same incident.
	actionsOf := func(tok string) []string {
		t.Helper()
		var got event.Incident
		if code := call("GET", tok, path, nil, &got); code != 200 {
			t.Fatalf("GET as %s: %d", users[tok].Name, code)
		}
		var list []event.Incident
		call("GET", tok, "/api/v1/incidents?state=open", nil, &list)
		for _, l := range list {
			if l.ID == inc.ID && !slices.Equal(l.Actions, got.Actions) {
				t.Errorf("%s: the list says %v, the incident %v", users[tok].Name, l.Actions, got.Actions)
			}
		}
		if got.Actions == nil {
			t.Fatalf("%s: no actions field", users[tok].Name)
		}
		return got.Actions
	}
	check := func(when string, want map[string][]string) {
		t.Helper()
		for tok, w := range want {
			if got := actionsOf(tok); !slices.Equal(got, w) {
				t.Errorf("%s, %s: actions %v, want %v", when, users[tok].Name, got, w)
			}
		}
	}
	check("dispatched to the township", map[string][]string{
		ops:  {"accept", "escalate", "reassign", "hold", "acknowledge", "remind", "summon"}, // 催办: the township holds it
		zr:   {"accept", "escalate", "hold", "acknowledge", "summon"},
		tech: {},
	})
	if code := call("GET", xg, path, nil, nil); code != 403 {
		t.Errorf("another township: %d", code)
	}
	var acted event.Incident
	if code := call("POST", zr, path+"/accept", map[string]any{}, &acted); code != 200 || !slices.Contains(acted.Actions, "resolve") {
		t.Fatalf("accept: %d, the answer's actions %v", code, acted.Actions)
	}
	call("POST", zr, path+"/summon", map[string]any{"departments": []string{"power"}}, nil)
	check("summoned", map[string][]string{power: {"report"}})
	call("POST", power, path+"/report", map[string]any{}, nil)
	check("reported in", map[string][]string{power: {"done"}})
	if code := call("POST", zr, path+"/resolve", map[string]any{"note": "调解完毕", "no_visit_reason": "电话调解，无需到场"}, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	// The resolver may not rate its own work; a colleague and the county may.
	check("resolved", map[string][]string{
		ops:  {"evaluate", "escalate", "reassign", "hold", "reopen", "acknowledge", "remind"},
		zr:   {"escalate", "hold", "reopen", "acknowledge"},
		zr2:  {"evaluate", "escalate", "hold", "reopen", "acknowledge"},
		tech: {},
	})
	// Every step left out is refused, and nothing changes.
	var before event.Incident
	call("GET", ops, path, nil, &before)
	for tok := range users {
		got := []string{} // another township does not see it
		if tok != xg {
			got = actionsOf(tok)
		}
		for _, a := range alerts.Actions {
			if slices.Contains(got, a) {
				continue
			}
			if code := call("POST", tok, path+"/"+a, map[string]any{}, nil); code/100 == 2 {
				t.Errorf("%s: %s is not among its actions %v, yet was taken", users[tok].Name, a, got)
			}
		}
	}
	var after event.Incident
	call("GET", ops, path, nil, &after)
	if len(after.History) != len(before.History) {
		t.Errorf("refused steps changed the incident: %d steps, then %d", len(before.History), len(after.History))
	}
}
