package dashboard

import (
	"fmt"
	"io"
	"net/http"
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
	f := figuresQuery{from: from, to: to, group: q.Get("group"),
		csv: q.Get("format") == "csv" || r.Header.Get("Accept") == "text/csv"}
	if f.group == "" {
		f.group = "township"
	}
	return f, nil
}

// writeCSV answers with a CSV file named name-GROUP-DATE.csv.
func (f figuresQuery) writeCSV(w http.ResponseWriter, name string, write func(io.Writer) error) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s.csv"`, name, f.group, f.to.Format("20060102")))
	io.WriteString(w, "\ufeff") // a byte-order mark, so Excel on Chinese Windows reads UTF-8
	_ = write(w)
}

// stats answers GET /api/v1/stats?from&to&group[&format=csv]: incidents
// opened in [from, to) (default: the 30 days to now), grouped by township
// (default), village, assignee or department.
func (s *Server) stats(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	src, ok := s.o.Incidents.(StatsSource)
	if s.o.Incidents == nil || !ok {
		unavailable(w, "stats")
		return
	}
	f, err := s.figuresQuery(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	rows, err := src.Stats(p, f.from, f.to, f.group)
	if err != nil {
		writeErr(w, err)
		return
	}
	if f.csv {
		f.writeCSV(w, "stats", func(w io.Writer) error { return event.WriteStatsCSV(w, rows) })
		return
	}
	writeJSON(w, 200, map[string]any{"from": f.from, "to": f.to, "group": f.group, "rows": rows})
}

// backlog answers GET /api/v1/stats/backlog?from&to&group[&format=csv]: at
// each local midnight in [from, to] (default: the 30 days to now; at most
// 366 points) the incidents open then per township, and of those the ones
// older than 7 and 30 days. Authorised and scoped as the figures.
func (s *Server) backlog(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	src, ok := s.o.Incidents.(BacklogSource)
	if s.o.Incidents == nil || !ok {
		unavailable(w, "stats")
		return
	}
	f, err := s.figuresQuery(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	b, err := src.Backlog(p, f.from, f.to, f.group)
	if err != nil {
		writeErr(w, err)
		return
	}
	if f.csv {
		f.writeCSV(w, "backlog", func(w io.Writer) error { return event.WriteBacklogCSV(w, b) })
		return
	}
	writeJSON(w, 200, map[string]any{"from": f.from, "to": f.to, "group": b.Group, "at": b.At, "rows": b.Rows, "total": b.Total})
}
