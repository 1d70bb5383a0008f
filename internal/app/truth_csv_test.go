package app

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"snowhub/internal/event"
)

// A name a spreadsheet would run: every CSV the hub writes (uptime, the
// incidents archive, the 考单 figures by village and by person) has it
// with a leading ', never as a formula; the headers are Chinese first and
// the file names say the period in local dates.
func TestEveryCSVNeutralisesFormulas(t *testing.T) {
	const evil = `=HYPERLINK("http://evil.example","点我")`
	e := startTruth(t, []string{"c1"}, func(sim string) string {
		return fmt.Sprintf(`alerts:
  deadlines:
    minor: {accept: 3s}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: "@SUM(1+1)"}
people:
  - {id: p-1, name: "+86 138 0000 0001", role: grid_worker, village: v-zr-01}
cameras:
  - {id: cam-evil, name: %q, village: v-zr-01, url: %q, transport: tcp, watch: true}
users:
  - {name: county-ops, role: operator, token: %s}
  - {name: zhaoren-desk, role: township, township: zhaoren, token: %s}
`, evil, sim+"/c1", opsToken, zhaorenToken)
	})
	var inc event.Incident
	code, body := e.post(opsToken, "/api/v1/incidents", map[string]any{"title": evil, "village": "v-zr-01", "source": "grid", "kind": "other", "severity": "minor"}, nil)
	if code != 201 || json.Unmarshal([]byte(body), &inc) != nil {
		t.Fatalf("制单: %d %s", code, body)
	}
	// One accepted on time, one left past its deadline: 接单按时率 50 %.
	if code, body := e.post(opsToken, "/api/v1/incidents", map[string]any{"title": "路灯不亮", "village": "v-zr-01", "source": "grid", "kind": "other", "severity": "minor"}, nil); code != 201 {
		t.Fatalf("制单: %d %s", code, body)
	}
	if code, body := e.post(zhaorenToken, "/api/v1/incidents/"+inc.ID+"/accept", map[string]any{}, nil); code != 200 {
		t.Fatalf("accept: %d %s", code, body)
	}
	waitTruth(t, 30*time.Second, "the camera online", func() bool { return e.cameras(opsToken)["cam-evil"].State == "online" })

	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	q := "from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to)
	for _, tt := range []struct{ path, cell, header string }{
		{"/api/v1/uptime?format=csv", "'" + evil, "摄像机编号 camera"},
		{"/api/v1/incidents?state=all&format=csv", "'" + evil, "编号 id"},
		{"/api/v1/stats?group=village&format=csv&" + q, "'@SUM(1+1)", "分组 group"},
		{"/api/v1/stats?group=assignee&format=csv&" + q, "", "分组 group"},
	} {
		code, hdr, body := e.raw(opsToken, tt.path)
		if code != 200 || !strings.HasPrefix(body, "\ufeff") {
			t.Fatalf("%s: %d %.300s", tt.path, code, body)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if recs[0][0] != tt.header {
			t.Errorf("%s: header %q, want Chinese first %q", tt.path, recs[0], tt.header)
		}
		found := tt.cell == ""
		for _, r := range recs[1:] {
			for _, c := range r {
				if c != "" && strings.ContainsRune("=+@\t\r", rune(c[0])) {
					t.Errorf("%s: a cell a spreadsheet runs: %q", tt.path, c)
				}
				found = found || c == tt.cell
			}
		}
		if !found {
			t.Errorf("%s: no cell %q in %q", tt.path, tt.cell, recs)
		}
		if cd := hdr.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''") {
			t.Errorf("%s: file name %q", tt.path, cd)
		}
	}
	// The same 50 % in the API and the CSV, once the other accept is late.
	waitTruth(t, 20*time.Second, "接单按时率 50 % in the API once the 3 s accept limit passed", func() bool {
		var st struct{ Rows []event.StatsRow }
		e.get(opsToken, "/api/v1/stats?group=township&"+q, &st)
		return len(st.Rows) == 1 && st.Rows[0].OnTimeRate["accept"] != nil && *st.Rows[0].OnTimeRate["accept"] == 0.5
	})
	_, _, body = e.raw(opsToken, "/api/v1/stats?group=township&format=csv&"+q)
	recs, _ := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if len(recs) != 2 || recs[0][9] != "接单按时率 on_time_accept" || recs[1][9] != "0.5000" {
		t.Errorf("接单按时率 in the CSV: %q", recs)
	}
	_, hdr, _ := e.raw(opsToken, "/api/v1/stats?group=township&format=csv&from=2026-11-30T16:00:00Z&to=2026-12-03T16:00:00Z")
	if cd := hdr.Get("Content-Disposition"); !strings.Contains(cd, url.PathEscape("考单-乡镇-2026-12-01至2026-12-03.csv")) {
		t.Errorf("stats file name %q, want 考单-乡镇-2026-12-01至2026-12-03.csv", cd)
	}
}
