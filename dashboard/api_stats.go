package dashboard

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// StatsSource computes the figures for 通报 and 考核.
type StatsSource interface {
	Stats(p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, error)
}

// BacklogSource computes the backlog over time (local midnights in [from, to]).
type BacklogSource interface {
	Backlog(p auth.Principal, from, to time.Time, group string) (event.Backlog, error)
}

// AcrossSource is the figures of a hub that views others (a prefecture's
// view): its own and every viewed hub's, added up, with the hubs whose
// figures are missing named: Options.Across. Without it a hub answers
// from its own.
type AcrossSource interface {
	StatsAcross(ctx context.Context, p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, []event.Unavailable, error)
	BacklogAcross(ctx context.Context, p auth.Principal, from, to time.Time, group string) (event.Backlog, []event.Unavailable, error)
}

// incomplete is the CSV's answer when some hub's figures are missing: a
// report goes out whole or not at all (503 naming the hubs).
func incomplete(w http.ResponseWriter, missing []event.Unavailable) {
	var zh, en []string
	for _, m := range missing {
		hub, hubEn := m.Hub, m.Hub
		if hub == "" {
			hub, hubEn = "未知中心", "none seen"
		}
		zh = append(zh, fmt.Sprintf("%s（%s）", hub, strings.Join(m.Townships, "、")))
		en = append(en, fmt.Sprintf("%s (%s)", hubEn, strings.Join(m.Townships, ", ")))
	}
	writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("数据不全，未导出：所属中心 %s 的数据缺失 / incomplete, not exported: figures of hub %s are missing",
		strings.Join(zh, "、"), strings.Join(en, ", ")))
}

// withMissing adds "unavailable" to a JSON answer when some hub's figures
// are missing; an answer that is whole has no such key, as before.
func withMissing(out map[string]any, missing []event.Unavailable) map[string]any {
	if len(missing) > 0 {
		out["unavailable"] = missing
	}
	return out
}

func (s *Server) statsRoutes(api apiFunc) {
	api("GET /api/v1/stats", s.stats)
	api("GET /api/v1/stats/backlog", s.backlog)
}

// figuresQuery is what both figures routes read: from and to (default: the
// 30 days to now), the grouping (default township), and whether CSV is asked.
type figuresQuery struct {
	from, to time.Time
	group    string
	csv      bool
	zone     *time.Location // the county's, for the file name
}

func (s *Server) figuresQuery(r *http.Request) (figuresQuery, error) {
	q := r.URL.Query()
	from, to, err := parseTimes(q)
	if err != nil {
		return figuresQuery{}, err
	}
	if to.IsZero() {
		to = s.o.Now()
	}
	if from.IsZero() {
		from = to.Add(-30 * 24 * time.Hour)
	}
	f := figuresQuery{from: from, to: to, group: q.Get("group"), zone: localZone(s.o.Config()),
		csv: q.Get("format") == "csv" || r.Header.Get("Accept") == "text/csv"}
	if f.group == "" {
		f.group = "township"
	}
	return f, nil
}

// writeCSV answers with a CSV file named for what it holds, its group and
// its period in local dates (考单-乡镇-2026-12-01至2026-12-03.csv); the
// writer puts the byte-order mark first (event.CSVWriter).
func (f figuresQuery) writeCSV(w http.ResponseWriter, name string, write func(io.Writer) error) {
	zh := map[string]string{"stats": "考单", "backlog": "积压"}[name]
	g := groupZH[f.group]
	if g == "" {
		g = f.group
	}
	attachCSV(w, fmt.Sprintf("%s-%s-%s.csv", zh, g, periodName(f.from, f.to, f.zone)),
		fmt.Sprintf("%s-%s-%s-%s.csv", name, f.group, f.from.In(f.zone).Format("20060102"), f.to.Add(-time.Nanosecond).In(f.zone).Format("20060102")))
	_ = write(w)
}

// stats answers GET /api/v1/stats?from&to&group[&format=csv]: incidents
// opened in [from, to) (default: the 30 days to now), grouped by township
// (default), village, assignee or department.
func (s *Server) stats(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	src := s.o.Stats
	if s.o.Incidents == nil || src == nil {
		unavailable(w, "stats")
		return
	}
	f, err := s.figuresQuery(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var rows []event.StatsRow
	var missing []event.Unavailable
	if across := s.o.Across; across != nil {
		rows, missing, err = across.StatsAcross(r.Context(), p, f.from, f.to, f.group)
	} else {
		rows, err = src.Stats(p, f.from, f.to, f.group)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	f.answer(w, "stats", missing, func(w io.Writer) error { return event.WriteStatsCSV(w, rows) },
		map[string]any{"from": f.from, "to": f.to, "group": f.group, "rows": rows})
}

// answer writes a figures route's result: CSV, refused with 503 when a hub
// is missing (a report is whole or not sent), or JSON naming what is
// missing.
func (f figuresQuery) answer(w http.ResponseWriter, name string, missing []event.Unavailable, csv func(io.Writer) error, body map[string]any) {
	if !f.csv {
		writeJSON(w, 200, withMissing(body, missing))
		return
	}
	if len(missing) > 0 {
		incomplete(w, missing)
		return
	}
	f.writeCSV(w, name, csv)
}

// backlog answers GET /api/v1/stats/backlog?from&to&group[&format=csv]: at
// each local midnight in [from, to] (default: the 30 days to now; at most
// 366 points) the incidents open then per township, and of those the ones
// older than 7 and 30 days. Authorised and scoped as the figures.
func (s *Server) backlog(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	src := s.o.Backlog
	if s.o.Incidents == nil || src == nil {
		unavailable(w, "stats")
		return
	}
	f, err := s.figuresQuery(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var b event.Backlog
	var missing []event.Unavailable
	if across := s.o.Across; across != nil {
		b, missing, err = across.BacklogAcross(r.Context(), p, f.from, f.to, f.group)
	} else {
		b, err = src.Backlog(p, f.from, f.to, f.group)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	f.answer(w, "backlog", missing, func(w io.Writer) error { return event.WriteBacklogCSV(w, b) },
		map[string]any{"from": f.from, "to": f.to, "group": b.Group, "at": b.At, "rows": b.Rows, "total": b.Total})
}
