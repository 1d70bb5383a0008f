package alerts

import (
	"fmt"
	"sort"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// MaxBacklogPoints bounds the series: a year of days (a leap year's 366).
const MaxBacklogPoints = 366

// backlogRec is what the backlog series needs of one incident.
type backlogRec struct {
	township   string
	openedAt   time.Time
	reviewedAt time.Time // zero: not reviewed
}

// dayBoundaries are the local midnights in [from, to].
func dayBoundaries(from, to time.Time, loc *time.Location) []time.Time {
	l := from.In(loc)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	if d.Before(from) {
		d = d.AddDate(0, 0, 1)
	}
	out := []time.Time{} // "at": [] rather than null when no midnight falls in
	for ; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
		if len(out) > MaxBacklogPoints {
			break // the caller refuses it; no need to count a century of days
		}
	}
	return out
}

// backlogSeries counts, at each point, the incidents open then (opened at or
// before it and not reviewed by then) per township, and of those the ones
// opened more than 7 and more than 30 days before it. An incident reviewed
// during a day is out of the next midnight's count. names gives the rows'
// names; rows come sorted by key, the total sums them.
func backlogSeries(recs []backlogRec, at []time.Time, names map[string]string) event.Backlog {
	mk := func(key, name string) *event.BacklogSeries {
		return &event.BacklogSeries{Key: key, Name: name, Open: make([]int, len(at)), Over7d: make([]int, len(at)), Over30d: make([]int, len(at))}
	}
	total := mk("", event.BacklogTotalName)
	rows := map[string]*event.BacklogSeries{}
	for _, r := range recs {
		s := rows[r.township]
		for i, t := range at {
			if r.openedAt.After(t) || (!r.reviewedAt.IsZero() && !r.reviewedAt.After(t)) {
				continue
			}
			if s == nil {
				s = mk(r.township, names[r.township])
				rows[r.township] = s
			}
			age := t.Sub(r.openedAt)
			for _, x := range []*event.BacklogSeries{s, total} {
				x.Open[i]++
				if age > 7*24*time.Hour {
					x.Over7d[i]++
				}
				if age > 30*24*time.Hour {
					x.Over30d[i]++
				}
			}
		}
	}
	b := event.Backlog{Group: "township", At: at, Rows: make([]event.BacklogSeries, 0, len(rows)), Total: *total}
	for _, s := range rows {
		b.Rows = append(b.Rows, *s)
	}
	sort.Slice(b.Rows, func(i, j int) bool { return b.Rows[i].Key < b.Rows[j].Key })
	return b
}

// Backlog is the backlog over time: at each local midnight in [from, to],
// the incidents open then per township. Authorised and scoped as Stats: a
// township desk gets its own township's incidents only.
func (e *Engine) Backlog(p auth.Principal, from, to time.Time, group string) (event.Backlog, error) {
	if group != "township" {
		return event.Backlog{}, event.BadRequest(fmt.Sprintf("积压曲线只按乡镇（group=township） / the backlog series is grouped by township only (got %q)", group))
	}
	if !to.After(from) {
		return event.Backlog{}, event.BadRequest("to 须晚于 from / to must be after from")
	}
	sc := auth.Scope{}
	if !p.County() {
		sc.Township = p.Township
	}
	if err := auth.Allow(p, auth.Stats, sc); err != nil {
		return event.Backlog{}, err
	}
	at := dayBoundaries(from, to, e.cal.loc)
	if len(at) > MaxBacklogPoints {
		return event.Backlog{}, event.BadRequest(fmt.Sprintf("区间最多 %d 天 / at most %d points (days) per series", MaxBacklogPoints, MaxBacklogPoints))
	}
	var recs []backlogRec
	e.mu.Lock()
	names := e.top.TownshipName
	for _, r := range e.incidents {
		if !p.County() && r.Township != p.Township && r.Owner != p.Township {
			continue
		}
		if r.State == StateReviewed && r.ReviewedAt.IsZero() {
			continue // reviewed, when unknown: not counted anywhere rather than forever
		}
		if len(at) == 0 || r.OpenedAt.After(at[len(at)-1]) || (!r.ReviewedAt.IsZero() && !r.ReviewedAt.After(at[0])) {
			continue
		}
		recs = append(recs, backlogRec{township: r.Township, openedAt: r.OpenedAt, reviewedAt: r.ReviewedAt})
	}
	for _, a := range e.archived {
		if (!p.County() && a.stat.township != p.Township) || len(at) == 0 ||
			a.stat.openedAt.After(at[len(at)-1]) || !a.reviewedAt.After(at[0]) {
			continue
		}
		recs = append(recs, backlogRec{township: a.stat.township, openedAt: a.stat.openedAt, reviewedAt: a.reviewedAt})
	}
	e.mu.Unlock()
	return backlogSeries(recs, at, names), nil
}
