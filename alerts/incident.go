package alerts

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// record is an incident with what the engine needs besides its public view.
type record struct {
	event.Incident
	Fingerprint string        `json:"fingerprint"`
	Remaining   time.Duration `json:"remaining,omitempty"` // first store format: of the deadline, while held
	Flaps       []time.Time   `json:"flaps,omitempty"`
	Escalations int           `json:"escalations,omitempty"`
	Paused      []pausedDue   `json:"paused,omitempty"` // dues stopped by a hold, with what was left
	ResolvedBy  string        `json:"resolved_by,omitempty"`
	// EscalatedFrom is the owner that reported the matter up (上报) while
	// the county holds it: a hand-back to it keeps its work.
	EscalatedFrom string   `json:"escalated_from,omitempty"`
	Quiet         []string `json:"quiet,omitempty"` // a storm's devices whose alarm has ended
	// A county outage: when its devices went down, its upstream ("" : none
	// single), when its common cause was back and the devices then still
	// down, whose own incidents it no longer holds.
	OutageFrom time.Time `json:"outage_from,omitzero"`
	Upstream   string    `json:"upstream,omitempty"`
	CauseBack  time.Time `json:"cause_back,omitzero"`
	Released   []string  `json:"released,omitempty"`

	// stat caches what the figures need; a committed record never changes
	// (a step works on a clone), so it is computed at most once.
	stat *statRow
}

// statRow returns the record's figures, computed once. Called with e.mu held.
func (r *record) statRow() statRow {
	if r.stat == nil {
		s := statOf(r)
		r.stat = &s
	}
	return *r.stat
}

// pausedDue is a due stopped by hold.
type pausedDue struct {
	event.Due
	Left time.Duration `json:"left"`
}

func (r *record) open() bool { return r.State != StateReviewed }

// handling: not yet resolved (still the receiver's work).
func (r *record) handling() bool {
	switch r.State {
	case StateResolved, StateEvaluated, StateReviewed:
		return false
	}
	return true
}

// clone is a deep copy: a step works on a clone and the engine swaps it in
// only after the store committed it.
func (r *record) clone() *record {
	c := *r
	c.stat = nil
	c.History = slices.Clone(r.History)
	c.Devices = slices.Clone(r.Devices)
	c.Cameras = slices.Clone(r.Cameras)
	c.Flaps = slices.Clone(r.Flaps)
	c.Dues = slices.Clone(r.Dues)
	c.LateSteps = slices.Clone(r.LateSteps)
	c.Ratings = slices.Clone(r.Ratings)
	c.Timeliness = slices.Clone(r.Timeliness)
	c.Summoned = slices.Clone(r.Summoned)
	c.Owners = slices.Clone(r.Owners)
	c.Paused = slices.Clone(r.Paused)
	c.Quiet = slices.Clone(r.Quiet)
	c.Released = slices.Clone(r.Released)
	if r.Assignee != nil {
		a := *r.Assignee
		c.Assignee = &a
	}
	if r.Extension != nil {
		x := *r.Extension
		c.Extension = &x
	}
	if r.Score != nil {
		s := *r.Score
		c.Score = &s
	}
	return &c
}

// view is a copy safe to hand out.
func (r *record) view() event.Incident {
	return r.clone().Incident
}

var oldScoreRE = regexp.MustCompile(`^score (\d{1,3})\.`)

// upgrade brings a record of the first store format (one deadline, the
// rating overwritten by reopen, the review score in the note) to the
// current one. It is idempotent and changes nothing a person recorded.
func upgrade(r *record, e *Engine) {
	if r.Source == "" && r.Rule != "" {
		r.Source = "sensor"
	}
	if r.Dues == nil && len(r.Paused) == 0 {
		step := stepOfState(r.State)
		switch {
		case r.State == StateHeld && r.Remaining > 0:
			r.Paused = []pausedDue{{Due: event.Due{Step: stepOfState(r.HeldFrom), Owner: ownerOfStep(r, stepOfState(r.HeldFrom))}, Left: r.Remaining}}
		case !r.Deadline.IsZero() && step != "":
			d := event.Due{Step: step, Owner: ownerOfStep(r, step), Due: r.Deadline}
			if r.Overdue {
				d.Tier = 1
			}
			r.Dues = []event.Due{d}
		}
	}
	if r.Level == LevelCounty && r.Escalated && r.Owner != LevelCounty && r.Owner != "" {
		// The first format kept the township as owner of what the county
		// took over; the township had a read-only view.
		r.Owners = appendNew(r.Owners, r.Owner)
		r.Owner = LevelCounty
	}
	if len(r.Ratings) == 0 {
		for _, s := range r.History {
			if s.Action == "evaluate" && s.Rating != "" {
				r.Ratings = append(r.Ratings, event.Rating{At: s.At, Rating: s.Rating, Method: "unrecorded", Asked: "unrecorded", By: s.By, Note: s.Note})
			}
		}
	}
	for _, s := range r.History {
		if s.Action == "review" {
			r.ReviewedAt = s.At
			// The first format's score was in the note; a record with a
			// score of its own needs no regexp (a start runs this on every
			// reviewed incident).
			if r.Score == nil {
				if m := oldScoreRE.FindStringSubmatch(s.Note); m != nil {
					if n, err := strconv.Atoi(m[1]); err == nil && n <= 100 {
						r.Score = &n
					}
				}
			}
		}
		if s.Action == "resolve" && r.ResolvedBy == "" {
			r.ResolvedBy = s.By
		}
	}
	if r.SupervisionTier == 0 {
		for _, d := range r.Dues {
			r.SupervisionTier = max(r.SupervisionTier, d.Tier)
		}
	}
	r.sync()
}

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// sync sets the fields derived from the dues: the nearest deadline and
// whether a step is late now.
func (r *record) sync() {
	r.Deadline, r.Overdue = time.Time{}, false
	tier := 0
	for _, d := range r.Dues {
		if r.Deadline.IsZero() || d.Due.Before(r.Deadline) {
			r.Deadline = d.Due
		}
		if d.Tier > 0 {
			r.Overdue = true
		}
		tier = max(tier, d.Tier)
	}
	if r.open() {
		r.SupervisionTier = tier
	}
}

// stepOfState is the step a state waits for.
func stepOfState(state string) string {
	return map[string]string{StateOpened: "dispatch", StateDispatched: "accept", StateAccepted: "resolve",
		StateResolved: "evaluate", StateEvaluated: "review"}[state]
}

// ownerOfStep is who answers for a step: the county dispatches, evaluates
// (回访) and reviews; the holder accepts, assigns and resolves.
func ownerOfStep(r *record, step string) string {
	switch step {
	case "dispatch", "evaluate", "review", "approve_extension":
		return LevelCounty
	}
	if r.Owner == "" {
		return LevelCounty
	}
	return r.Owner
}

// newRecord builds an incident raised by a rule on a device.
func (e *Engine) newRecord(t *tx, r *rule, dev configs.DeviceInfo, at time.Time, v float64) *record {
	var value any = v
	if v == math.Trunc(v) {
		value = strconv.FormatFloat(v, 'f', -1, 64)
	}
	kind := dev.Kind
	if r.Type == "offline" || r.Type == "degraded" {
		kind = r.Type
	} else if r.Type == "camera_event" {
		kind = r.Event
	}
	rec := &record{Incident: event.Incident{ID: t.newID(at), State: StateOpened, Severity: r.Severity, Kind: kind, Rule: r.Name,
		Township: dev.Township, Village: dev.Village, Grid: dev.Grid, Device: dev.ID, OpenedAt: at, Owner: LevelCounty, Level: LevelCounty,
		Count: 1, LastSeen: at, Source: "sensor"}}
	if r.Name == "camera-offline" && dev.Key && r.Severity == "minor" {
		rec.Severity = "major" // a key crossing matters more
	}
	if r.title != nil {
		rec.Title = r.render(titleData{Device: dev.ID, DeviceName: dev.Name, Village: e.top.VillageName[dev.Village],
			Township: e.top.TownshipName[dev.Township], Kind: dev.Kind, Rule: r.Name, Event: r.Event, Value: value})
	}
	if dev.Camera {
		rec.Cameras = []string{dev.ID}
	} else if dev.LooksAt != "" {
		rec.Cameras = []string{dev.LooksAt}
	}
	return rec
}

// opened records the create step and dispatches to the township desk at
// once, unless the severity waits for the county.
func (e *Engine) opened(t *tx, r *record, at time.Time, by, note string) {
	t.create(r)
	r.Owner, r.Level = LevelCounty, LevelCounty
	t.step(r, event.Step{At: at, Action: "open", By: by, Level: LevelCounty, To: StateOpened, Owner: LevelCounty, Note: note})
	e.setDues(r, at, []string{"dispatch"})
	r.History[len(r.History)-1].Deadline = r.Deadline
	if slices.Contains(e.cfg.Alerts.HoldForCounty, r.Severity) {
		return
	}
	switch {
	case r.Kind == KindCountyOutage && r.Township == "":
		e.doDispatch(t, r, auth.Technicians, at, event.Step{By: system, Level: LevelCounty, Note: event.Bilingual("自动派给技术运维", "automatic dispatch to the technicians")})
	case r.Township != "":
		e.doDispatch(t, r, r.Township, at, event.Step{By: system, Level: LevelCounty, Note: event.Bilingual("自动派单到镇", "automatic dispatch to the township desk")})
	}
}

// doDispatch hands the incident to a township desk (派单).
func (e *Engine) doDispatch(t *tx, r *record, to string, at time.Time, s event.Step) {
	e.finishDue(r, "dispatch", at)
	if r.Owner != to && r.Owner != LevelCounty && r.Owner != "" {
		r.Owners = appendNew(r.Owners, r.Owner)
	}
	r.Owner, r.Level = to, LevelTownship
	if to == auth.Technicians {
		r.Level = LevelCounty // the technicians are the county's
	}
	s.Owner = to
	e.transition(t, r, "dispatch", StateDispatched, at, s)
	e.setDues(r, at, []string{"accept"})
	r.History[len(r.History)-1].Deadline = r.Deadline
}

// transition moves r to a state with a recorded step.
func (e *Engine) transition(t *tx, r *record, action, to string, at time.Time, s event.Step) {
	s.At, s.Action, s.From, s.To = at, action, r.State, to
	r.State = to
	if s.Owner == "" {
		s.Owner = r.Owner
	}
	t.step(r, s)
	if to == StateReviewed {
		t.delFP(r)
	}
}

// note checks a person's note against the limit.
func (e *Engine) note(s string) error {
	if n := len([]rune(s)); n > e.cfg.Alerts.NoteLimit {
		return event.TooLarge(fmt.Sprintf("说明过长：%d 字，上限 %d / note is %d characters; the limit is %d", n, e.cfg.Alerts.NoteLimit, n, e.cfg.Alerts.NoteLimit))
	}
	return nil
}
