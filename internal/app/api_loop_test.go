package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"snowhub/alerts"
	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// The closed loop through HTTP against the real engine and server: the
// statuses and reasons a client sees.
func TestClosedLoopOverHTTP(t *testing.T) {
	y := `listen: 127.0.0.1:0
county: {id: c, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages: [{id: v-zr-01, name: 东街社区}]
  - id: xiangong
    name: 相公镇
    villages: [{id: v-xg-01, name: 相公村}]
people:
  - {id: p-wang, name: 王网格员, role: grid_worker, village: v-zr-01}
departments:
  - {id: power, name: 供电所}
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
  - {name: zr, role: township, township: zhaoren, token: zr-token-0123456789}
  - {name: xg, role: township, township: xiangong, token: xg-token-0123456789}
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
		Incidents: e, IncidentQuery: e, IncidentCreate: e, Outbox: e, Stats: e, Backlog: e})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr()
	call := func(method, tok, path string, body any) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const ops, zr, xg, power = "ops-token-0123456789", "zr-token-0123456789", "xg-token-0123456789", "power-token-0123456789"

	code, body := call("POST", ops, "/api/v1/incidents", map[string]any{"title": "路口打架", "village": "v-zr-01", "source": "wall", "severity": "major"})
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var inc event.Incident
	json.Unmarshal([]byte(body), &inc)
	id := "/api/v1/incidents/" + inc.ID
	for _, tt := range []struct {
		method, tok, path string
		body              any
		code              int
		in                string
	}{
		{"POST", ops, "/api/v1/incidents", map[string]any{"title": "x", "village": "v-nowhere"}, 400, "v-nowhere"},
		{"POST", ops, "/api/v1/incidents", map[string]any{"title": "烟雾报警\n### 【紧急】县委书记要求立即处理", "village": "v-zr-01"}, 400, "控制字符"},
		{"POST", xg, "/api/v1/incidents", map[string]any{"title": "x", "village": "v-zr-01"}, 403, "own villages"},
		{"POST", zr, id + "/resolve", map[string]any{"note": "x"}, 409, "accept first"},
		{"POST", zr, id + "/escalate", map[string]any{"note": "old client"}, 400, "reason"},
		{"POST", zr, id + "/accept", map[string]any{"note": strings.Repeat("长", 4001)}, 413, "4000"},
		{"POST", xg, id + "/accept", map[string]any{}, 403, ""},
		{"GET", power, id, nil, 404, ""},
		{"POST", zr, id + "/accept", map[string]any{"note": "到场"}, 200, `"state":"accepted"`},
		{"POST", zr, id + "/assign", map[string]any{"person": "p-wang"}, 200, `"assignee":{"id":"p-wang"`},
		{"POST", zr, id + "/summon", map[string]any{"departments": []string{"power"}}, 200, `"summoned"`},
		{"GET", power, id, nil, 200, inc.ID},
		{"POST", power, id + "/report", map[string]any{"note": "到场"}, 200, ""},
		{"POST", zr, id + "/resolve", map[string]any{"note": "调解完毕"}, 200, `"state":"resolved"`},
		{"POST", zr, id + "/evaluate", map[string]any{"rating": "satisfied", "method": "phone", "asked": "reporter"}, 403, "办结人"},
		{"POST", ops, id + "/evaluate", map[string]any{"rating": "satisfied", "method": "phone"}, 400, "asked"},
		{"POST", ops, id + "/evaluate", map[string]any{"rating": "satisfied", "method": "phone", "asked": "reporter"}, 200, `"ratings"`},
		{"POST", ops, id + "/review", map[string]any{"note": "ok"}, 400, "score"},
		{"POST", ops, id + "/review", map[string]any{"score": 95}, 200, `"score":95`},
		{"GET", zr, "/api/v1/outbox?after=0", nil, 403, ""},
		{"GET", ops, "/api/v1/outbox?after=0&limit=2", nil, 200, `"action":"open"`},
		{"GET", xg, "/api/v1/stats?group=township", nil, 200, `"rows":[]`},
		{"GET", ops, "/api/v1/stats?group=county", nil, 400, "group"},
		{"GET", ops, "/api/v1/stats?from=yesterday", nil, 400, "RFC3339"},
		{"GET", xg, "/api/v1/stats/backlog?group=township", nil, 200, `"rows":[]`},
		{"GET", ops, "/api/v1/stats/backlog?group=village", nil, 400, "township"},
		{"GET", ops, "/api/v1/stats/backlog?from=2025-01-01T00:00:00Z&to=2026-02-01T00:00:00Z", nil, 400, "366"},
	} {
		code, body := call(tt.method, tt.tok, tt.path, tt.body)
		if code != tt.code || !strings.Contains(body, tt.in) {
			t.Errorf("%s %s: %d %.200s, want %d with %q", tt.method, tt.path, code, body, tt.code, tt.in)
		}
	}
	code, body = call("GET", zr, "/api/v1/stats?group=township&format=csv", nil)
	if code != 200 || !strings.HasPrefix(body, "\ufeff分组 group,编号 key,名称 name,新增 opened,已办结 closed,在办 open_now") || !strings.Contains(body, "township,zhaoren,昭仁街道,1,1,0") {
		t.Fatalf("stats CSV: %d %s", code, body)
	}
	code, body = call("GET", zr, "/api/v1/stats/backlog?format=csv", nil)
	if code != 200 || !strings.HasPrefix(body, "\ufeff时点 at,分组 group,编号 key,名称 name,在办 open,超7天 over_7d,超30天 over_30d\n") || !strings.Contains(body, ",township,,全县 / county,0,0,0") {
		t.Fatalf("backlog CSV: %d %s", code, body)
	}
	code, body = call("GET", ops, "/api/v1/incidents?state=reviewed&format=csv", nil)
	if code != 200 || !strings.Contains(body, inc.ID) || !strings.Contains(body, ",95,") {
		t.Fatalf("archive CSV: %d %s", code, body)
	}
}
