package alerts

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Actions of the public interface, and the extensions resume and reassign.
var Actions = []string{"dispatch", "accept", "resolve", "evaluate", "review", "escalate", "hold", "resume", "reopen", "reassign"}

// countyOnly actions belong to the command center.
var countyOnly = map[string]bool{"dispatch": true, "review": true, "reassign": true}

// canSee: the county sees everything; a township desk its own township's
// incidents, including those escalated away from it; technicians read
// incidents (to know why a camera matters) but act on none.
func canSee(p auth.Principal, r *record) bool {
	switch p.Role {
	case auth.RoleOperator, auth.RoleAdmin, auth.RoleTechnician:
		return true
	case auth.RoleTownship:
		return p.Township != "" && p.Township == r.Township
	}
	return false
}

// mayAct returns why p may not take action on r, or "".
func mayAct(p auth.Principal, r *record, action string) string {
	switch p.Role {
	case auth.RoleOperator, auth.RoleAdmin:
		return ""
	case auth.RoleTechnician:
		return "technicians have no incident actions"
	case auth.RoleTownship:
		if r.Township != p.Township {
			return fmt.Sprintf("incident %s belongs to township %s", r.ID, r.Township)
		}
		if countyOnly[action] {
			return action + " is the county's action"
		}
		if r.Level == LevelCounty && action != "escalate" {
			if r.Escalated {
				return "escalated to county: read-only for the township"
			}
			return "waiting for the county to dispatch"
		}
		return ""
	}
	return "unknown role"
}

// List returns the incidents p may see, newest first.
func (e *Engine) List(p auth.Principal, f event.IncidentFilter) []event.Incident {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []event.Incident{}
	for _, r := range e.incidents {
		if !canSee(p, r) {
			continue
		}
		switch f.State {
		case "", "all":
		case "open":
			if !r.open() {
				continue
			}
		default:
			if r.State != f.State {
				continue
			}
		}
		if (f.Township != "" && r.Township != f.Township) || (f.Severity != "" && r.Severity != f.Severity) || (f.Overdue && !r.Overdue) {
			continue
		}
		out = append(out, e.view(r))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].OpenedAt.Equal(out[j].OpenedAt) {
			return out[i].OpenedAt.After(out[j].OpenedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// Get returns one incident p may see.
func (e *Engine) Get(p auth.Principal, id string) (event.Incident, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.incidents[id]
	if r == nil {
		return event.Incident{}, event.NotFound("incident " + id)
	}
	if !canSee(p, r) {
		return event.Incident{}, event.Forbidden(fmt.Sprintf("incident %s belongs to township %s", id, r.Township))
	}
	return e.view(r), nil
}

// Act takes a person's step on an incident. The step is stored before Act
// returns, and every attempt, allowed or not, goes to the audit log.
func (e *Engine) Act(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error) {
	now := e.now()
	e.mu.Lock()
	inc, err := e.act(p, id, action, req, now)
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	auditErr := e.store.audit(event.AuditEntry{At: now, User: p.Name, Role: p.Role, Action: action, Incident: id, Remote: req.Remote, Result: result})
	var incs []event.Incident
	if err == nil {
		var c changes
		c.add(e.incidents[id])
		incs, err = e.commit(&c)
	}
	e.mu.Unlock()
	if auditErr != nil {
		e.log.Error("audit entry not stored", "err", auditErr)
	}
	if err != nil {
		return event.Incident{}, err
	}
	e.emit(ctx, incs)
	return inc, nil
}

func (e *Engine) act(p auth.Principal, id, action string, req event.ActionRequest, now time.Time) (event.Incident, error) {
	r := e.incidents[id]
	if r == nil {
		return event.Incident{}, event.NotFound("incident " + id)
	}
	if !containsStr(Actions, action) {
		return event.Incident{}, event.BadRequest(fmt.Sprintf("unknown action %q: use one of %s", action, strings.Join(Actions, ", ")))
	}
	if !canSee(p, r) {
		return event.Incident{}, event.Forbidden(fmt.Sprintf("incident %s belongs to township %s", id, r.Township))
	}
	if why := mayAct(p, r, action); why != "" {
		return event.Incident{}, event.Forbidden(why)
	}
	level := LevelCounty
	if p.Role == auth.RoleTownship {
		level = LevelTownship
	}
	step := event.Step{By: p.Name, Role: p.Role, Level: level, Note: req.Note}
	wrong := func(allowed ...string) error {
		return event.Conflict(fmt.Sprintf("cannot %s an incident that is %s (allowed from %s)", action, r.State, strings.Join(allowed, ", ")))
	}
	switch action {
	case "dispatch":
		if r.State != StateOpened {
			return event.Incident{}, wrong(StateOpened)
		}
		to := r.Township
		if req.To != "" {
			to = req.To
		}
		if _, ok := e.townships[to]; !ok {
			return event.Incident{}, event.BadRequest("unknown township " + to)
		}
		r.Owner, r.Level = to, LevelTownship
		step.Owner = to
		e.transition(r, action, StateDispatched, now, step)
	case "accept":
		if r.State != StateDispatched {
			return event.Incident{}, wrong(StateDispatched)
		}
		e.transition(r, action, StateAccepted, now, step)
	case "resolve":
		if r.State != StateAccepted && r.State != StateDispatched {
			return event.Incident{}, wrong(StateDispatched, StateAccepted)
		}
		if strings.TrimSpace(req.Note) == "" {
			return event.Incident{}, event.BadRequest("resolve needs a note saying what was done")
		}
		e.transition(r, action, StateResolved, now, step)
	case "evaluate":
		if r.State != StateResolved {
			return event.Incident{}, wrong(StateResolved)
		}
		if !containsStr([]string{"satisfied", "neutral", "unsatisfied"}, req.Rating) {
			return event.Incident{}, event.BadRequest("evaluate needs a rating: satisfied, neutral or unsatisfied")
		}
		r.Rating, step.Rating = req.Rating, req.Rating
		e.transition(r, action, StateEvaluated, now, step)
	case "review":
		if r.State != StateEvaluated {
			return event.Incident{}, wrong(StateEvaluated)
		}
		if req.Score != nil {
			step.Note = strings.TrimSpace(fmt.Sprintf("score %d. %s", *req.Score, req.Note))
		}
		e.transition(r, action, StateReviewed, now, step)
	case "escalate":
		if !r.open() || r.State == StateHeld {
			return event.Incident{}, wrong(StateOpened, StateDispatched, StateAccepted, StateResolved, StateEvaluated)
		}
		if r.Level == LevelCounty && p.Role == auth.RoleTownship {
			return event.Incident{}, event.Conflict("already with the county")
		}
		r.Level, r.Escalated = LevelCounty, true
		r.Escalations++
		step.At, step.Action, step.From, step.To, step.Owner = now, action, r.State, r.State, r.Owner
		r.History = append(r.History, step)
		e.m.steps.WithLabelValues(action).Inc()
	case "hold":
		if r.State == StateHeld || !r.open() {
			return event.Incident{}, wrong(StateOpened, StateDispatched, StateAccepted, StateResolved, StateEvaluated)
		}
		reason := strings.TrimSpace(req.Reason + " " + req.Note)
		if reason == "" {
			return event.Incident{}, event.BadRequest("hold needs a reason")
		}
		step.Note = reason
		r.HeldFrom = r.State
		if !r.Deadline.IsZero() {
			r.Remaining = max(r.Deadline.Sub(now), 0)
		}
		e.transition(r, action, StateHeld, now, step)
	case "resume":
		if r.State != StateHeld {
			return event.Incident{}, wrong(StateHeld)
		}
		from := r.HeldFrom
		e.transition(r, action, from, now, step)
		// The clock goes on from where hold stopped it.
		if r.Remaining > 0 {
			r.Deadline = now.Add(r.Remaining)
			r.History[len(r.History)-1].Deadline = r.Deadline
			e.addTimer(r.Deadline, timerDeadline, r.ID)
		}
		r.HeldFrom, r.Remaining = "", 0
	case "reopen":
		if r.State != StateResolved && r.State != StateEvaluated {
			return event.Incident{}, wrong(StateResolved, StateEvaluated)
		}
		r.Rating = ""
		e.byFP[r.Fingerprint] = r
		e.transition(r, action, StateDispatched, now, step)
	case "reassign":
		to := req.To
		if to == "" {
			return event.Incident{}, event.BadRequest(`reassign needs "to": a township id or "county"`)
		}
		if to == LevelCounty {
			r.Owner, r.Level = LevelCounty, LevelCounty
		} else if _, ok := e.townships[to]; ok {
			r.Owner, r.Level = to, LevelTownship
		} else {
			return event.Incident{}, event.BadRequest("unknown township " + to)
		}
		step.At, step.Action, step.From, step.To, step.Owner = now, action, r.State, r.State, r.Owner
		r.History = append(r.History, step)
		e.m.steps.WithLabelValues(action).Inc()
	}
	return e.view(r), nil
}

// SetMaintenance records a maintenance window: its device's (or village's)
// incidents are suppressed and its time is left out of uptime.
func (e *Engine) SetMaintenance(ctx context.Context, p auth.Principal, m event.Maintenance) (event.Maintenance, error) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	m.By = p.Name
	if m.From.IsZero() {
		m.From = now
	}
	var err error
	township := ""
	switch {
	case m.Device != "" && m.Village != "":
		err = event.BadRequest("a window is for a device or a village, not both")
	case m.Device != "":
		d, ok := e.devices[m.Device]
		if !ok {
			err = event.NotFound("device " + m.Device)
		}
		township = d.township
	case m.Village != "":
		if _, ok := e.villages[m.Village]; !ok {
			err = event.NotFound("village " + m.Village)
		}
		for _, t := range e.cfg.Townships {
			for _, v := range t.Villages {
				if v.ID == m.Village {
					township = t.ID
				}
			}
		}
	default:
		err = event.BadRequest("name a device or a village")
	}
	if err == nil && !m.Until.After(m.From) {
		err = event.BadRequest("until must be after from")
	}
	if err == nil && p.Role == auth.RoleTownship && p.Township != township {
		err = event.Forbidden("a township desk sets maintenance for its own villages only")
	}
	if err == nil && !p.County() && p.Role != auth.RoleTechnician && p.Role != auth.RoleTownship {
		err = event.Forbidden("not allowed to set maintenance")
	}
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	e.store.audit(event.AuditEntry{At: now, User: p.Name, Role: p.Role, Action: "maintenance", Target: m.Device + m.Village, Result: result})
	if err != nil {
		return event.Maintenance{}, err
	}
	e.seq++
	m.ID = fmt.Sprintf("MW-%04d", e.seq)
	if err := e.store.saveMaintenance(m, e.seq); err != nil {
		return event.Maintenance{}, err
	}
	e.maint[m.ID] = m
	return m, nil
}

// EndMaintenance ends a window now.
func (e *Engine) EndMaintenance(ctx context.Context, p auth.Principal, id string) error {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.maint[id]
	if !ok {
		return event.NotFound("maintenance window " + id)
	}
	if p.Role == auth.RoleTownship {
		d := e.devices[m.Device]
		if m.Village != "" {
			d = device{township: e.villageTownship(m.Village)}
		}
		if d.township != p.Township {
			return event.Forbidden("a township desk ends maintenance of its own villages only")
		}
	}
	if m.From.After(now) {
		m.From = now
	}
	m.Until = now
	e.store.audit(event.AuditEntry{At: now, User: p.Name, Role: p.Role, Action: "maintenance_end", Target: id, Result: "ok"})
	if err := e.store.saveMaintenance(m, e.seq); err != nil {
		return err
	}
	e.maint[id] = m
	return nil
}

func (e *Engine) villageTownship(v string) string {
	for _, t := range e.cfg.Townships {
		for _, x := range t.Villages {
			if x.ID == v {
				return t.ID
			}
		}
	}
	return ""
}

// Maintenance lists windows in force at now or later.
func (e *Engine) Maintenance(now time.Time) []event.Maintenance {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []event.Maintenance{}
	for _, m := range e.maint {
		if m.Until.After(now) {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}

// InMaintenance reports whether a device is under a window at a time.
func (e *Engine) InMaintenance(dev string, at time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.devices[dev]
	return ok && e.inMaintenance(d, at)
}

func (e *Engine) inMaintenance(d device, at time.Time) bool {
	for _, m := range e.maint {
		if (m.Device == d.id || (m.Village != "" && m.Village == d.village)) && !at.Before(m.From) && at.Before(m.Until) {
			return true
		}
	}
	return false
}

// Audit lists recorded actions, newest first; the county's to read.
func (e *Engine) Audit(p auth.Principal, since time.Time, limit int) ([]event.AuditEntry, error) {
	if !p.County() {
		return nil, event.Forbidden("the audit log is the county's")
	}
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	return e.store.auditSince(since, limit)
}
