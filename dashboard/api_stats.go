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

// stats answers GET /api/v1/stats?from&to&group[&format=csv]: incidents
// opened in [from, to) (default: the 30 days to now), grouped by township
// (default), village, assignee or department.
func (s *Server) stats(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	src, ok := s.o.Incidents.(StatsSource)
	if s.o.Incidents == nil || !ok {
		unavailable(w, "stats")
		return
	}
	q := r.URL.Query()
	from, to, err := parseTimes(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	if to.IsZero() {
		to = s.o.Now()
	}
	if from.IsZero() {
		from = to.Add(-30 * 24 * time.Hour)
	}
	group := q.Get("group")
	if group == "" {
		group = "township"
	}
	rows, err := src.Stats(p, from, to, group)
	if err != nil {
		writeErr(w, err)
		return
	}
	if q.Get("format") == "csv" || r.Header.Get("Accept") == "text/csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="stats-%s-%s.csv"`, group, to.Format("20060102")))
		io.WriteString(w, "\ufeff") // a byte-order mark, so Excel on Chinese Windows reads UTF-8
		_ = event.WriteStatsCSV(w, rows)
		return
	}
	writeJSON(w, 200, map[string]any{"from": from, "to": to, "group": group, "rows": rows})
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
	q := r.URL.Query()
	from, to, err := parseTimes(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	if to.IsZero() {
		to = s.o.Now()
	}
	if from.IsZero() {
		from = to.Add(-30 * 24 * time.Hour)
	}
	group := q.Get("group")
	if group == "" {
		group = "township"
	}
	b, err := src.Backlog(p, from, to, group)
	if err != nil {
		writeErr(w, err)
		return
	}
	if q.Get("format") == "csv" || r.Header.Get("Accept") == "text/csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="backlog-%s-%s.csv"`, group, to.Format("20060102")))
		io.WriteString(w, "\ufeff") // a byte-order mark, so Excel on Chinese Windows reads UTF-8
		_ = event.WriteBacklogCSV(w, b)
		return
	}
	writeJSON(w, 200, map[string]any{"from": from, "to": to, "group": b.Group, "at": b.At, "rows": b.Rows, "total": b.Total})
}
