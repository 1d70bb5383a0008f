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
		out = append(out, d.UTC()) // a local midnight, said in UTC like every time of the API
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
//
// Each incident is open over a run of consecutive points (from the first
// at or after its opening to the last before its review), and older than
// 7 or 30 days over the tail of that run: three binary searches give the
// runs, which are added as differences (+1 where a run starts, -1 after it
// ends) and summed once per point. The cost is the incidents times the log
// of the points, not their product.
func backlogSeries(recs []backlogRec, at []time.Time, names map[string]string) event.Backlog {
	a := newBacklogAcc(at)
	for _, r := range recs {
		a.add(r.township, r.openedAt, r.reviewedAt)
	}
	return a.finish(names)
}

// backlogAcc adds incidents up as backlogSeries says, one at a time, so the
// engine adds them under its lock without copying them first.
type backlogAcc struct {
	at   []time.Time
	rows map[string]*backlogDiff
}

type backlogDiff struct{ open, over7, over30 []int }

func newBacklogAcc(at []time.Time) *backlogAcc {
	return &backlogAcc{at: at, rows: map[string]*backlogDiff{}}
}

// first is the first point at or after t (after t, if strict).
func (a *backlogAcc) first(t time.Time, strict bool) int {
	return sort.Search(len(a.at), func(i int) bool {
		if strict {
			return a.at[i].After(t)
		}
		return !a.at[i].Before(t)
	})
}

func (a *backlogAcc) add(township string, openedAt, reviewedAt time.Time) {
	n := len(a.at)
	lo, hi := a.first(openedAt, false), n
	if !reviewedAt.IsZero() {
		hi = a.first(reviewedAt, false) // reviewed at or before a point: out of it
	}
	if lo >= hi {
		return
	}
	d := a.rows[township]
	if d == nil {
		d = &backlogDiff{make([]int, n+1), make([]int, n+1), make([]int, n+1)}
		a.rows[township] = d
	}
	d.open[lo]++
	d.open[hi]--
	if i := max(lo, a.first(openedAt.Add(7*24*time.Hour), true)); i < hi {
		d.over7[i]++
		d.over7[hi]--
	}
	if i := max(lo, a.first(openedAt.Add(30*24*time.Hour), true)); i < hi {
		d.over30[i]++
		d.over30[hi]--
	}
}

func (a *backlogAcc) finish(names map[string]string) event.Backlog {
	n := len(a.at)
	mk := func(key, name string) event.BacklogSeries {
		return event.BacklogSeries{Key: key, Name: name, Open: make([]int, n), Over7d: make([]int, n), Over30d: make([]int, n)}
	}
	total := mk("", event.BacklogTotalName)
	b := event.Backlog{Group: "township", At: a.at, Rows: make([]event.BacklogSeries, 0, len(a.rows))}
	for key, d := range a.rows {
		s := mk(key, names[key])
		o, o7, o30 := 0, 0, 0
		for i := range n {
			o, o7, o30 = o+d.open[i], o7+d.over7[i], o30+d.over30[i]
			s.Open[i], s.Over7d[i], s.Over30d[i] = o, o7, o30
			total.Open[i] += o
			total.Over7d[i] += o7
			total.Over30d[i] += o30
		}
		b.Rows = append(b.Rows, s)
	}
	b.Total = total
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
	acc := newBacklogAcc(at)
	e.mu.Lock()
	names := e.top.TownshipName
	if len(at) > 0 {
		// The rows opened by the last point, contiguous in the index,
		// added up in place.
		rows := e.figs.openedBy(at[len(at)-1])
		for i := range rows {
			f := &rows[i]
			if !p.County() && f.stat.township != p.Township && f.owner != p.Township {
				continue
			}
			if f.unknownReview || (!f.reviewedAt.IsZero() && !f.reviewedAt.After(at[0])) {
				continue
			}
			acc.add(f.stat.township, f.stat.openedAt, f.reviewedAt)
		}
	}
	e.mu.Unlock()
	return acc.finish(names), nil
}
