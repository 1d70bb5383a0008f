package alerts

import (
	"fmt"
	"sort"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// StatSteps are the steps whose on-time rate is reported.
var StatSteps = event.StatSteps

// Groups of the figures.
var StatGroups = []string{"township", "village", "assignee", "department"}

// statRow is what the figures need of one incident: small, so reviewed
// incidents that left memory keep theirs.
type statRow struct {
	township, village, assignee, assigneeName string
	departments                               []string
	openedAt                                  time.Time
	toAccept, toResolve                       time.Duration // 0: not yet
	handling, closed                          bool
	onTime, done                              [6]int
	pending                                   [6]time.Time // per step, the deadline of a step not yet done; zero: none
	supervised                                bool
	escalated, reopened, reminded             int
	first, final                              string
	score                                     int // -1: none
}

func statOf(r *record) statRow {
	township, village := chargedTo(r)
	s := statRow{township: township, village: village, openedAt: r.OpenedAt, handling: r.handling(), closed: !r.handling(),
		escalated: r.EscalatedManual, reopened: r.Reopened, reminded: r.Reminders, score: -1, supervised: len(r.LateSteps) > 0 || r.SupervisionTier > 0}
	if r.Assignee != nil {
		s.assignee, s.assigneeName = r.Assignee.ID, r.Assignee.Name
	}
	for _, d := range r.Summoned {
		s.departments = append(s.departments, d.Department)
	}
	for _, h := range r.History {
		switch {
		case h.Action == "accept" && s.toAccept == 0:
			s.toAccept = max(h.At.Sub(r.OpenedAt), time.Nanosecond)
		case h.Action == "resolve" && s.toResolve == 0:
			s.toResolve = max(h.At.Sub(r.OpenedAt), time.Nanosecond)
		}
	}
	for _, t := range r.Timeliness {
		for i, st := range StatSteps {
			if st == t.Step {
				s.done[i]++
				if t.OnTime {
					s.onTime[i]++
				}
			}
		}
	}
	// A held incident's dues are paused (its clock stopped): not pending.
	for _, d := range r.Dues {
		for i, st := range StatSteps {
			if st == d.Step && (s.pending[i].IsZero() || d.Due.Before(s.pending[i])) {
				s.pending[i] = d.Due
			}
		}
	}
	if n := len(r.Ratings); n > 0 {
		s.first, s.final = r.Ratings[0].Rating, r.Ratings[n-1].Rating
	}
	if r.Score != nil {
		s.score = *r.Score
	}
	return s
}

// acc adds up one row: the counts the rates are made of are the row's own
// (event.StatsRow), so rows of several hubs add up exactly; the steps'
// counts in arrays while adding (no map write per incident).
type acc struct {
	row          event.StatsRow
	onTime, done [6]int
	pendingLate  [6]int
}

// finish puts the steps' counts in the row and computes its rates.
func (a *acc) finish() {
	a.row.StepsDone, a.row.StepsOnTime = make(map[string]int, len(StatSteps)), make(map[string]int, len(StatSteps))
	a.row.StepsPendingLate = make(map[string]int, len(StatSteps))
	for i, st := range StatSteps {
		a.row.StepsDone[st], a.row.StepsOnTime[st], a.row.StepsPendingLate[st] = a.done[i], a.onTime[i], a.pendingLate[i]
	}
	a.row.Finish()
}

// Stats are the figures for 通报 and 考核: incidents opened in [from, to),
// grouped. A township desk gets its own township's incidents only (its
// row, its villages, its people).
func (e *Engine) Stats(p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, error) {
	if !containsStr(StatGroups, group) {
		return nil, event.BadRequest(fmt.Sprintf("group 用 township、village、assignee 或 department / group: use one of township, village, assignee, department (got %q)", group))
	}
	if !to.After(from) {
		return nil, event.BadRequest("to 须晚于 from / to must be after from")
	}
	sc := auth.Scope{}
	if !p.County() {
		sc.Township = p.Township
	}
	if err := auth.Allow(p, auth.Stats, sc); err != nil {
		return nil, err
	}
	now := e.now()
	at := now
	if to.Before(now) {
		at = to
	}
	// Added up in place under the lock: no copy of 100,000 rows for the
	// garbage collector to chase.
	e.mu.Lock()
	top := e.top
	out := map[string]*acc{}
	get := func(key, name string) *acc {
		if r := out[key]; r != nil {
			return r
		}
		r := &acc{row: event.StatsRow{Group: group, Key: key, Name: name}}
		out[key] = r
		return r
	}
	add := func(s *statRow) {
		switch group {
		case "township":
			get(s.township, rowName(top.TownshipName, s.township)).add(s, at, now)
		case "village":
			get(s.village, rowName(top.VillageName, s.village)).add(s, at, now)
		case "assignee":
			if s.assignee == "" {
				get("", "未派人 / unassigned").add(s, at, now)
			} else {
				get(s.assignee, s.assigneeName).add(s, at, now)
			}
		case "department":
			for _, d := range s.departments {
				get(d, top.Departments[d].Name).add(s, at, now)
			}
		}
	}
	// Only the rows opened in the period, contiguous in the index; an
	// archived row has no owner, so a desk sees its township's there.
	rows := e.figs.span(from, to)
	for i := range rows {
		f := &rows[i]
		if !p.County() && f.stat.township != p.Township && f.owner != p.Township {
			continue
		}
		add(&f.stat)
	}
	e.mu.Unlock()
	list := make([]event.StatsRow, 0, len(out))
	for _, r := range out {
		r.finish()
		list = append(list, r.row)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	return list, nil
}

// add counts s in the row: its backlog at at (now, or the period's end),
// its steps as they stand now (a step done since the period's end counts
// done; one pending now past its deadline counts late).
func (a *acc) add(s *statRow, at, now time.Time) {
	r := &a.row
	r.Opened++
	if s.closed {
		r.Closed++
	}
	if s.handling {
		r.OpenNow++
		if at.Sub(s.openedAt) > 7*24*time.Hour {
			r.BacklogOver7d++
		}
		if at.Sub(s.openedAt) > 30*24*time.Hour {
			r.BacklogOver30d++
		}
	}
	for i := range s.done {
		a.onTime[i] += s.onTime[i]
		a.done[i] += s.done[i]
		if !s.pending[i].IsZero() && s.pending[i].Before(now) {
			a.pendingLate[i]++
		}
	}
	if s.supervised {
		r.Supervised++
	}
	r.EscalatedManual += s.escalated
	r.Reopened += s.reopened
	r.Reminded += s.reminded
	if s.final != "" {
		r.Rated++
		switch s.final {
		case "satisfied":
			r.Satisfied++
		case "neutral":
			r.Neutral++
		case "unsatisfied":
			r.Unsatisfied++
		}
		if s.first == "satisfied" {
			r.FirstSatisfied++
		}
	}
	if s.score >= 0 {
		r.ScoreSum += s.score
		r.Scored++
	}
	// Times in whole milliseconds, each incident's own: sums of integers
	// add up the same in any order and on any hub.
	if s.toAccept > 0 {
		r.TimeToAcceptSumMS += s.toAccept.Milliseconds()
		r.TimedAccept++
	}
	if s.toResolve > 0 {
		r.TimeToResolveSumMS += s.toResolve.Milliseconds()
		r.TimedResolve++
	}
}

// rowName is the name of a township's or village's row; the technicians'
// row (county outages) is named for them.
func rowName(names map[string]string, key string) string {
	if key == auth.Technicians {
		return "技术运维 / technicians"
	}
	return names[key]
}
