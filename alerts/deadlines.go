package alerts

import (
	"container/heap"
	"context"
	"fmt"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Supervision tiers (Shiquan's three): who presses a late step.
var (
	tierNames   = []string{"", "县联络办督办", "县委常委督办", "县委书记督办"}
	tierNamesEn = []string{"", "county liaison office", "standing-committee member", "county secretary"}
)

// limitFor is the time limit of a step of r: the class's limit where it
// names the step (not for critical alarms, which keep machine speed), else
// the severity's.
func (e *Engine) limitFor(r *record, step string) configs.Span {
	a := e.cfg.Alerts
	sl, ok := a.Deadlines[r.Severity]
	if !ok {
		sl = configs.DefaultDeadlines()[r.Severity]
	}
	if cl, ok := a.Classes[r.Class]; ok && r.Class != "" && r.Severity != "critical" {
		switch {
		case step == "accept" && !cl.Accept.IsZero():
			return cl.Accept
		case step == "assign" && !cl.Assign.IsZero():
			return cl.Assign
		case step == "resolve" && !cl.Resolve.IsZero():
			return cl.Resolve
		}
	}
	switch step {
	case "dispatch":
		return sl.Dispatch
	case "accept":
		return sl.Accept
	case "assign":
		return sl.Assign
	case "resolve":
		return sl.Resolve
	case "evaluate":
		return sl.Evaluate
	case "review":
		return sl.Review
	case "report":
		return sl.Report
	case "hold":
		if sl.Hold.IsZero() {
			return a.MaxHold
		}
		return sl.Hold
	}
	return configs.Span{}
}

// setDues starts the clocks of steps at at.
func (e *Engine) setDues(r *record, at time.Time, steps []string) {
	for _, step := range steps {
		lim := e.limitFor(r, step)
		e.dropDue(r, step, "")
		// The technicians send nobody from a township's roster (派人).
		if lim.IsZero() || (step == "assign" && r.Owner == auth.Technicians) {
			continue
		}
		r.Dues = append(r.Dues, event.Due{Step: step, Owner: ownerOfStep(r, step), Due: e.cal.Add(at, lim)})
	}
	r.sync()
}

// dropDue removes a due that no longer applies, without recording it.
func (e *Engine) dropDue(r *record, step, of string) {
	out := r.Dues[:0]
	for _, d := range r.Dues {
		if d.Step != step || d.Of != of {
			out = append(out, d)
		}
	}
	r.Dues = out
	r.sync()
}

// finishDue records that a step was done at at: its timeliness, and, if it
// was late, the done time on its permanent late_steps entry.
func (e *Engine) finishDue(r *record, step string, at time.Time) { e.finishDueOf(r, step, "", at) }

func (e *Engine) finishDueOf(r *record, step, of string, at time.Time) {
	for _, d := range r.Dues {
		if d.Step != step || d.Of != of {
			continue
		}
		st := event.StepTime{Step: step, Due: d.Due, DoneAt: at, OnTime: !at.After(d.Due)}
		if !st.OnTime {
			late := at.Sub(d.Due)
			st.LateBy = late.Round(time.Second).String()
			found := false
			for i := range r.LateSteps {
				ls := &r.LateSteps[i]
				if ls.Step == step && ls.Due.Equal(d.Due) && ls.DoneAt.IsZero() {
					ls.DoneAt, ls.LateBy, ls.LateS = at, st.LateBy, late.Seconds()
					found = true
				}
			}
			if !found {
				r.LateSteps = append(r.LateSteps, event.LateStep{Step: step, Owner: d.Owner, Due: d.Due, DoneAt: at, LateBy: st.LateBy, LateS: late.Seconds()})
			}
		}
		r.Timeliness = append(r.Timeliness, st)
	}
	e.dropDue(r, step, of)
}

// every is the time between supervision tiers of a step.
func (e *Engine) every(r *record, step string) configs.Span {
	if s := e.cfg.Alerts.SuperviseEvery; !s.IsZero() {
		return s
	}
	if s := e.limitFor(r, step); !s.IsZero() {
		return s
	}
	return configs.Dur(time.Hour)
}

// tierAt is when a due reaches tier k (1: its deadline).
func (e *Engine) tierAt(r *record, d event.Due, k int) time.Time {
	if k <= 1 {
		return d.Due
	}
	return e.cal.Add(d.Due, scale(e.every(r, d.Step), k-1))
}

// nextTimer is when r's next due or supervision tier falls.
func (e *Engine) nextTimer(r *record) (time.Time, bool) {
	var at time.Time
	for _, d := range r.Dues {
		if d.Tier >= 3 {
			continue
		}
		t := e.tierAt(r, d, d.Tier+1)
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	return at, !at.IsZero()
}

// Tick fires every timer due at now. The timer goroutine calls it; tests
// call it with their own clock. Nothing changes in memory unless the store
// committed it.
func (e *Engine) Tick(ctx context.Context, now time.Time) {
	e.mu.Lock()
	if now.Sub(e.lastEvict) > time.Hour {
		e.lastEvict = now
		e.evict(now)
	}
	t := e.begin()
	var refire []timer
	for len(e.timers) > 0 && !e.timers[0].at.After(now) {
		tm := heap.Pop(&e.timers).(timer)
		switch tm.kind {
		case timerDeadline:
			if r := e.incidents[tm.key]; r != nil && r.open() {
				if at, ok := e.nextTimer(r); ok && !at.After(now) {
					e.supervise(t, t.get(r.ID), now)
				}
			}
		case timerPending:
			if p := e.pendings[tm.key]; p != nil && p.active && !p.due.After(now) {
				p.active = false
				if p.rule.Type == "offline" {
					// Wider than a village first: a county outage holds
					// the village incidents it covers.
					if e.countyJoin(t, p.dev, p.due) {
						continue
					}
					opened, later := e.countyStart(t, p.dev, p.due)
					if opened {
						continue
					}
					if !later.IsZero() {
						p.active, p.due = true, later
						e.addTimer(later, timerPending, tm.key)
						continue
					}
					if e.group(t, p.dev, p.due) {
						continue
					}
					if later := e.groupLater(p.dev, p.due); !later.IsZero() {
						p.active, p.due = true, later
						e.addTimer(later, timerPending, tm.key)
						continue
					}
				}
				e.fire(t, p.rule, p.dev, p.value, p.due)
			}
		case timerCounty:
			e.countySettled(t, tm.key, tm.at)
		case timerStorm:
			if r := e.incidents[tm.key]; r != nil {
				e.stormClosed(t, r, tm.at)
			}
		}
	}
	if err := e.commit(t); err != nil {
		// Nothing applied: the deadlines fire again on the next tick.
		for id := range t.work {
			if r := e.incidents[id]; r != nil {
				refire = append(refire, timer{at: now.Add(time.Second), kind: timerDeadline, key: id})
			}
		}
		for _, tm := range refire {
			heap.Push(&e.timers, tm)
		}
		e.mu.Unlock()
		e.log.Error("incident change not stored; nothing applied, retrying", "err", err)
		return
	}
	e.mu.Unlock()
}

// supervise presses every step of r that is late at now (督办): a
// supervise step per tier reached, a late_steps entry at the first. The
// owner keeps the incident and its actions. With on_overdue: take_over a
// township's late step moves the incident to the county instead (the
// first behaviour); a step the county owns never becomes a township's
// escalation.
func (e *Engine) supervise(t *tx, r *record, now time.Time) {
	for i := range r.Dues {
		d := &r.Dues[i]
		for d.Tier < 3 && !e.tierAt(r, *d, d.Tier+1).After(now) {
			d.Tier++
			if d.Tier == 1 {
				r.LateSteps = append(r.LateSteps, event.LateStep{Step: d.Step, Owner: d.Owner, Due: d.Due})
			}
			s := event.Step{At: now, Action: "supervise", By: system, Level: LevelCounty, From: r.State, To: r.State,
				Owner: d.Owner, Tier: d.Tier, Deadline: d.Due}
			due := d.Due.In(e.cal.loc).Format("01-02 15:04")
			zh := fmt.Sprintf("%s：%s 超期（期限 %s）", tierNames[d.Tier], stepName(d.Step), due)
			en := fmt.Sprintf("%s, tier %d: %s overdue since %s", tierNamesEn[d.Tier], d.Tier, d.Step, due)
			if d.Tier == 1 && e.cfg.Alerts.OnOverdue == "take_over" && d.Owner != LevelCounty && r.Owner == d.Owner && r.Level == LevelTownship {
				r.Owners = appendNew(r.Owners, r.Owner)
				r.Owner, r.Level, r.Escalated = LevelCounty, LevelCounty, true
				r.Escalations++
				s.Action, s.Owner = "escalate", LevelCounty
				zh, en = zh+"：县级接管", en+": taken over by the county"
			}
			s.Note = event.Bilingual(zh, en)
			t.step(r, s)
		}
	}
	r.sync()
}

// stepName is a step's Chinese name for notes.
func stepName(step string) string {
	if n, ok := map[string]string{"dispatch": "派单", "accept": "接单", "assign": "派人", "resolve": "办结", "evaluate": "评单",
		"review": "考单", "report": "部门报到", "hold": "挂起", "acknowledge": "确认"}[step]; ok {
		return n
	}
	return step
}
