package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// acrossIncidents is a view's incident service: its figures come with the
// hubs whose figures are missing.
type acrossIncidents struct {
	fakeIncidents
	missing []event.Unavailable
}

func (a *acrossIncidents) Stats(auth.Principal, time.Time, time.Time, string) ([]event.StatsRow, error) {
	return []event.StatsRow{{Group: "township", Key: "own"}}, nil
}

func (a *acrossIncidents) Backlog(auth.Principal, time.Time, time.Time, string) (event.Backlog, error) {
	return event.Backlog{Group: "township", At: []time.Time{}, Rows: []event.BacklogSeries{}}, nil
}

func (a *acrossIncidents) StatsAcross(_ context.Context, p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, []event.Unavailable, error) {
	return []event.StatsRow{{Group: group, Key: "xiangong"}}, a.missing, nil
}

func (a *acrossIncidents) BacklogAcross(_ context.Context, p auth.Principal, from, to time.Time, group string) (event.Backlog, []event.Unavailable, error) {
	one := []int{1}
	return event.Backlog{Group: group, At: []time.Time{from}, Rows: []event.BacklogSeries{{Key: "xiangong", Open: one, Over7d: one, Over30d: one}},
		Total: event.BacklogSeries{Open: one, Over7d: one, Over30d: one}}, a.missing, nil
}

// A view's figures: JSON names the missing hubs under "unavailable" and
// keeps the rows it has; the CSV, a report, is refused whole (503 naming
// the hub) rather than sent short; a whole answer has no "unavailable".
func TestFiguresNameTheMissingHubs(t *testing.T) {
	src := &acrossIncidents{}
	cfg := &configs.Config{Listen: "127.0.0.1:0"}
	s, err := New(Options{Config: func() *configs.Config { return cfg },
		Auth:      func(tok string) (auth.Principal, bool) { p, ok := principals[tok]; return p, ok },
		Incidents: src, Stats: src, Backlog: src, Across: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+s.Addr()+path, nil)
		req.Header.Set("Authorization", "Bearer ops-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/api/v1/stats", "/api/v1/stats/backlog"} {
		src.missing = nil
		code, body := get(path)
		if code != 200 || strings.Contains(body, "unavailable") || !strings.Contains(body, `"xiangong"`) {
			t.Errorf("%s, every hub answering: %d %s", path, code, body)
		}
		if code, body := get(path + "?format=csv"); code != 200 || !strings.Contains(body, "xiangong") {
			t.Errorf("%s CSV, every hub answering: %d %s", path, code, body)
		}
		src.missing = []event.Unavailable{{Hub: "north", Townships: []string{"zhaoren"}, Reason: "所属中心 north 不可达 / hub north is unreachable"}}
		code, body = get(path)
		var out struct {
			Rows        []json.RawMessage   `json:"rows"`
			Unavailable []event.Unavailable `json:"unavailable"`
		}
		if err := json.Unmarshal([]byte(body), &out); code != 200 || err != nil || len(out.Rows) != 1 ||
			len(out.Unavailable) != 1 || out.Unavailable[0].Hub != "north" || out.Unavailable[0].Townships[0] != "zhaoren" {
			t.Errorf("%s, north missing: %d %s", path, code, body)
		}
		code, body = get(path + "?format=csv")
		if code != 503 || !strings.Contains(body, "north") || !strings.Contains(body, "zhaoren") || strings.Contains(body, "xiangong") {
			t.Errorf("%s CSV, north missing: %d %s; want 503 naming north and no rows", path, code, body)
		}
	}
}
