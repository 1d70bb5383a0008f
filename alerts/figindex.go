package alerts

import (
	"slices"
	"sort"
	"time"
)

// figRow is one incident's part of the figures and of the backlog series,
// in memory or archived.
type figRow struct {
	id         string
	stat       statRow
	owner      string    // who holds it now; "" once archived (scoped by township only)
	reviewedAt time.Time // zero: not reviewed, or reviewed when unknown (unknownReview)
	// unknownReview: reviewed with no time recorded (an old store); the
	// backlog counts it nowhere rather than forever.
	unknownReview bool
}

// figIndex keeps every incident's figRow in order of opening, updated at
// each commit, so the figures of a period read the rows opened in it (two
// binary searches, then a walk of contiguous values) instead of walking
// every record of the map. Called with e.mu held.
type figIndex struct {
	rows []figRow // by stat.openedAt, then id
}

func figOf(r *record) figRow {
	f := figRow{id: r.ID, stat: r.statRow(), owner: r.Owner, reviewedAt: r.ReviewedAt}
	if r.State == StateReviewed && r.ReviewedAt.IsZero() {
		f.unknownReview = true
	}
	return f
}

func figOfArchived(a archived) figRow {
	return figRow{id: a.id, stat: a.stat, reviewedAt: a.reviewedAt}
}

func (x *figIndex) less(a *figRow, at time.Time, id string) bool {
	if c := a.stat.openedAt.Compare(at); c != 0 {
		return c < 0
	}
	return a.id < id
}

// build sorts rows made in any order (at start).
func (x *figIndex) build(rows []figRow) {
	slices.SortFunc(rows, func(a, b figRow) int {
		if c := a.stat.openedAt.Compare(b.stat.openedAt); c != 0 {
			return c
		}
		if a.id < b.id {
			return -1
		}
		if a.id > b.id {
			return 1
		}
		return 0
	})
	x.rows = rows
}

// put inserts or replaces f. An incident's opening time does not change,
// so its row is where (openedAt, id) says; new incidents are nearly always
// the latest, an append.
func (x *figIndex) put(f figRow) {
	n := len(x.rows)
	if n == 0 || x.less(&x.rows[n-1], f.stat.openedAt, f.id) {
		x.rows = append(x.rows, f)
		return
	}
	i := sort.Search(n, func(i int) bool { return !x.less(&x.rows[i], f.stat.openedAt, f.id) })
	if i < n && x.rows[i].id == f.id {
		x.rows[i] = f
		return
	}
	// Not where its opening says: a record whose opening time changed
	// (never, so far) would be found and moved, not counted twice.
	if j := slices.IndexFunc(x.rows, func(r figRow) bool { return r.id == f.id }); j >= 0 {
		x.rows = slices.Delete(x.rows, j, j+1)
		if j < i {
			i--
		}
	}
	x.rows = slices.Insert(x.rows, i, f)
}

// span is the rows opened in [from, to).
func (x *figIndex) span(from, to time.Time) []figRow {
	lo := sort.Search(len(x.rows), func(i int) bool { return !x.rows[i].stat.openedAt.Before(from) })
	hi := sort.Search(len(x.rows), func(i int) bool { return !x.rows[i].stat.openedAt.Before(to) })
	if hi < lo {
		hi = lo
	}
	return x.rows[lo:hi]
}

// openedBy is the rows opened at or before t.
func (x *figIndex) openedBy(t time.Time) []figRow {
	return x.rows[:sort.Search(len(x.rows), func(i int) bool { return x.rows[i].stat.openedAt.After(t) })]
}
