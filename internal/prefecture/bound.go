package prefecture

import (
	"time"

	"snowhub/internal/event"
)

// The view's memory of other hubs' incidents is bounded as the owners'
// engines bound their own: an incident reviewed more than keep
// (alerts.keep_in_memory, 90 days by default, working days counted as
// days) ago is let go, as an owner moves it out of memory into its store.
// Its figures stay whole (they are asked of the owner, figures.go) and so
// does the archive at the owner; the view's lists show it no more. Open
// incidents are never let go: their number is bounded by the owners'.

// evictEvery spaces the sweeps: each walks every viewed incident.
const evictEvery = time.Minute

// letGoLocked drops the reviewed incidents older than keep; v.mu is held.
func (v *View) letGoLocked(now time.Time) {
	if v.o.Keep == nil || now.Sub(v.evicted) < evictEvery {
		return
	}
	v.evicted = now
	keep := v.o.Keep()
	if keep <= 0 {
		return
	}
	cut := now.Add(-keep)
	for _, r := range v.hubs {
		for id, x := range r.incidents {
			if x.inc.State == "reviewed" && reviewedAt(x.inc).Before(cut) {
				delete(r.incidents, id)
			}
		}
	}
}

// reviewedAt is when an incident was reviewed: its review time, else its
// last step's.
func reviewedAt(inc event.Incident) time.Time {
	if !inc.ReviewedAt.IsZero() {
		return inc.ReviewedAt
	}
	if n := len(inc.History); n > 0 {
		return inc.History[n-1].At
	}
	return time.Time{}
}
