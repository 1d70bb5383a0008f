package dashboard

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"snowhub/configs"
	"snowhub/internal/auth"
)

func startWithDataDir(t *testing.T, dir string) *Server {
	t.Helper()
	cfg := &configs.Config{Listen: "127.0.0.1:0", DataDir: dir, County: configs.Area{ID: "changwu", Name: "长武县"}}
	s, err := New(Options{Config: func() *configs.Config { return cfg },
		Auth: func(tok string) (auth.Principal, bool) { p, ok := principals[tok]; return p, ok }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func do(t *testing.T, s *Server, method, token, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// Saved layouts are per user, survive a restart of the hub (a wall PC
// reboots and finds its layout), and bad input is refused with the reason.
func TestLayoutsPerUserAndDurable(t *testing.T) {
	dir := t.TempDir()
	s := startWithDataDir(t, dir)
	tests := []struct {
		method, token, path, body string
		status                    int
		contains                  string
	}{
		{"GET", "ops-token", "/api/v1/layouts", "", 200, `"layouts":[]`},
		{"PUT", "ops-token", "/api/v1/layouts/" + "%E5%80%BC%E7%8F%AD", `{"layout":"1+5","cameras":["cam-1","cam-2"],"tour":{"name":"昭仁","cameras":["cam-1"],"every":15}}`, 200, `"current":"值班"`},
		{"PUT", "ops-token", "/api/v1/layouts/night", `{"layout":"4","cameras":[]}`, 200, `"current":"night"`},
		{"PUT", "ops-token", "/api/v1/layouts/bad", `{"layout":"7x7"}`, 400, "未知的画面布局"},
		{"PUT", "ops-token", "/api/v1/layouts/bad", `{"layout":"4","colour":"red"}`, 400, "布局格式有误"},
		{"PUT", "ops-token", "/api/v1/layouts/bad", `{"layout":"4","tour":{"cameras":["a"],"every":1}}`, 400, "轮巡间隔"},
		{"PUT", "ops-token", "/api/v1/layouts/" + strings.Repeat("x", 41), `{"layout":"4"}`, 400, "布局名称"},
		{"PUT", "ops-token", "/api/v1/layouts/big", `{"layout":"4","cameras":["` + strings.Repeat("c", 300<<10) + `"]}`, 413, "布局过大"},
		{"GET", "zhaoren-token", "/api/v1/layouts", "", 200, `"layouts":[]`},
		{"DELETE", "zhaoren-token", "/api/v1/layouts/night", "", 404, "不存在"},
		{"DELETE", "ops-token", "/api/v1/layouts/night", "", 200, `"current":""`},
		{"GET", "", "/api/v1/layouts", "", 401, "missing bearer token"},
	}
	for _, tt := range tests {
		status, body := do(t, s, tt.method, tt.token, tt.path, tt.body)
		if status != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("%s %s as %s: %d %.200s; want %d with %q", tt.method, tt.path, tt.token, status, body, tt.status, tt.contains)
		}
	}
	// The file is whole JSON and nothing temporary is left beside it.
	b, err := os.ReadFile(filepath.Join(dir, "layouts.json"))
	if err != nil || !json.Valid(b) {
		t.Fatalf("layouts.json: %v %s", err, b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".layouts-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	s.Close()

	s2 := startWithDataDir(t, dir)
	status, body := do(t, s2, "GET", "ops-token", "/api/v1/layouts", "")
	var u userLayouts
	if err := json.Unmarshal([]byte(body), &u); status != 200 || err != nil {
		t.Fatalf("after restart: %d %s", status, body)
	}
	if len(u.Layouts) != 1 || u.Layouts[0].Name != "值班" || u.Layouts[0].Layout != "1+5" || u.Layouts[0].Tour == nil || u.Layouts[0].Tour.Every != 15 {
		t.Errorf("after restart: %+v", u)
	}
}

// The topology names the county in JSON (the wall's title read
// "undefined 视频墙" while configs.Area had no JSON names).
func TestTopologyCountyName(t *testing.T) {
	s := startWithDataDir(t, "")
	status, body := do(t, s, "GET", "ops-token", "/api/v1/topology", "")
	if status != 200 || !strings.Contains(body, `"county":{"id":"changwu","name":"长武县"}`) {
		t.Errorf("topology: %d %s", status, body)
	}
}
