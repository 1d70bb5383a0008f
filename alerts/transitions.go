package alerts

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Who may take a step: each row names one of auth's kinds, and
// auth.AllowStep says what it means for the caller and the matter.
const (
	whoCounty     = auth.WhoCounty
	whoOwner      = auth.WhoOwner
	whoDepartment = auth.WhoDepartment
	whoViewer     = auth.WhoViewer
)

// Transition is one row of the table: state × action → who may, what the
// matter must hold, guard, effect, next deadlines.
type Transition struct {
	Action string
	From   []string // states it starts from
	To     string   // "" : the state stays
	Who    string   // auth.Who*
	Needs  []string // request fields it requires
	Starts []string // clocks it starts
	Ends   []string // clocks it ends (recorded in timeliness)
	// Ready, when set, is what the matter must hold besides its state for p
	// to take the step now (an extension waiting, a summons not yet
	// reported in): nil, or the refusal. Act refuses with it, and the
	// incident's actions leave the step out.
	Ready func(inc *event.Incident, p auth.Principal, g Guard) error
	apply func(e *Engine, c *actCtx) error
}

// Guard is what of the configuration the steps' Ready reads.
type Guard struct {
	SelfEvaluation bool           // alerts.self_evaluation: the resolver may rate its own work
	Zone           *time.Location // the calendar's time zone, for the times a refusal names (nil: UTC)
}

// zone is g.Zone, or UTC.
func (g Guard) zone() *time.Location {
	if g.Zone == nil {
		return time.UTC
	}
	return g.Zone
}

// actCtx is one action in progress.
type actCtx struct {
	t    *tx
	r    *record
	p    auth.Principal
	req  event.ActionRequest
	now  time.Time
	step event.Step
}

var openStates = []string{StateOpened, StateDispatched, StateAccepted, StateResolved, StateEvaluated}

// Transitions is the table of the closed loop, in the order of the process.
var Transitions = []Transition{
	{Action: "dispatch", From: []string{StateOpened}, To: StateDispatched, Who: whoCounty, Ends: []string{"dispatch"}, Starts: []string{"accept"},
		apply: func(e *Engine, c *actCtx) error {
			to := c.r.Township
			if c.r.Owner != LevelCounty && c.r.Owner != "" {
				to = c.r.Owner // the county handed it to another township first
			}
			if c.req.To != "" {
				to = c.req.To
			}
			if to == "" && c.r.Kind == KindCountyOutage {
				to = auth.Technicians // wider than a township: the technicians'
			}
			if _, ok := e.top.TownshipName[to]; !ok && to != auth.Technicians {
				return event.BadRequest(fmt.Sprintf("未知乡镇 %s / unknown township %s", to, to))
			}
			e.doDispatch(c.t, c.r, to, c.now, c.step)
			return nil
		}},
	{Action: "accept", From: []string{StateDispatched}, To: StateAccepted, Who: whoOwner, Ends: []string{"accept"}, Starts: []string{"assign", "resolve"},
		apply: func(e *Engine, c *actCtx) error {
			e.finishDue(c.r, "accept", c.now)
			e.transition(c.t, c.r, "accept", StateAccepted, c.now, c.step)
			e.setDues(c.r, c.now, []string{"assign", "resolve"})
			return nil
		}},
	{Action: "assign", From: []string{StateAccepted}, Who: whoOwner, Needs: []string{"person"}, Ends: []string{"assign"},
		apply: func(e *Engine, c *actCtx) error {
			if c.req.Person == "" {
				return event.BadRequest(`派人需要 person（花名册中的人员） / assign needs "person": an id from the roster`)
			}
			per, ok := e.top.People[c.req.Person]
			if !ok {
				return event.BadRequest(fmt.Sprintf("花名册中没有 %s / unknown person %s", c.req.Person, c.req.Person))
			}
			tw := c.r.Owner
			if tw == LevelCounty {
				tw = c.r.Township
			}
			if per.Township != tw {
				return event.BadRequest(fmt.Sprintf("%s 不属于 %s / %s is not of township %s", per.Name, tw, per.ID, tw))
			}
			c.r.Assignee = &event.Assignee{ID: per.ID, Name: per.Name, At: c.now, By: c.p.Name}
			c.step.Person = per.ID
			if c.step.Note == "" {
				c.step.Note = event.Bilingual("派 "+per.Name+" 实地走访", "sent on site")
			}
			e.finishDue(c.r, "assign", c.now)
			e.transition(c.t, c.r, "assign", c.r.State, c.now, c.step)
			return nil
		}},
	{Action: "resolve", From: []string{StateAccepted}, To: StateResolved, Who: whoOwner, Needs: []string{"note", "cause and crux (hard)", "no_visit_reason (nobody assigned)"}, Ends: []string{"resolve"}, Starts: []string{"evaluate"},
		apply: func(e *Engine, c *actCtx) error {
			if strings.TrimSpace(c.req.Note) == "" {
				return event.BadRequest("办结需要说明处理情况 / resolve needs a note saying what was done")
			}
			if err := resolveRules(c.r, c.req); err != nil {
				return err
			}
			if c.r.Class == "hard" {
				c.step.Cause, c.step.Crux, c.step.Advice = c.req.Cause, c.req.Crux, strings.TrimSpace(c.req.Advice)
			}
			if c.r.Assignee == nil {
				c.step.NoVisitReason = strings.TrimSpace(c.req.NoVisitReason)
			}
			e.finishDue(c.r, "resolve", c.now)
			e.dropDue(c.r, "assign", "")
			c.r.ResolvedBy = c.p.Name
			e.transition(c.t, c.r, "resolve", StateResolved, c.now, c.step)
			if c.r.Kind == KindCountyOutage {
				// Handled: what it still holds is its villages' again.
				e.countyRelease(c.t, c.r, c.now)
			}
			e.setDues(c.r, c.now, []string{"evaluate"})
			return nil
		}},
	{Action: "evaluate", From: []string{StateResolved}, To: StateEvaluated, Who: whoOwner, Needs: []string{"rating", "method", "asked"}, Ends: []string{"evaluate"}, Starts: []string{"review"},
		Ready: func(inc *event.Incident, p auth.Principal, g Guard) error {
			if by := resolver(inc); !g.SelfEvaluation && by != "" && by == p.Name {
				return event.Forbidden("办结人不能给自己评单 / the user who resolved it may not evaluate it")
			}
			return nil
		},
		apply: (*Engine).evaluate},
	{Action: "review", From: []string{StateEvaluated}, To: StateReviewed, Who: whoCounty, Needs: []string{"score"}, Ends: []string{"review"},
		apply: func(e *Engine, c *actCtx) error {
			if c.req.Score == nil || *c.req.Score < 0 || *c.req.Score > 100 {
				return event.BadRequest(`考单需要 0-100 的评分 score / review needs "score": 0 to 100`)
			}
			sc := *c.req.Score
			c.r.Score, c.step.Score = &sc, &sc
			e.finishDue(c.r, "review", c.now)
			c.r.Dues = nil
			c.r.ReviewedAt = c.now
			e.transition(c.t, c.r, "review", StateReviewed, c.now, c.step)
			return nil
		}},
	{Action: "escalate", From: []string{StateOpened, StateDispatched, StateAccepted, StateResolved, StateEvaluated}, Who: whoOwner, Needs: []string{"reason"},
		// The county has no level above it: what it holds goes up no further.
		Ready: func(inc *event.Incident, p auth.Principal, g Guard) error {
			if inc.Level == LevelCounty {
				return event.Conflict("已在县级 / already with the county")
			}
			return nil
		},
		apply: func(e *Engine, c *actCtx) error {
			if strings.TrimSpace(c.req.Reason) == "" {
				return event.BadRequest(`上报需要写明原因 reason / escalate needs "reason": why this exceeds the township's power`)
			}
			c.step.Reason = c.req.Reason
			c.r.Escalated = true
			c.r.Escalations++
			c.r.EscalatedManual++
			if c.r.Owner != LevelCounty {
				c.r.EscalatedFrom = c.r.Owner
				c.r.Owners = appendNew(c.r.Owners, c.r.Owner)
				c.r.Owner = LevelCounty
				e.reown(c.r)
			}
			c.r.Level = LevelCounty
			c.step.Owner = LevelCounty
			e.transition(c.t, c.r, "escalate", c.r.State, c.now, c.step)
			return nil
		}},
	{Action: "reassign", From: openStates, To: "(same; dispatched when an accepted one goes to another township)", Who: whoCounty, Needs: []string{"to"}, Starts: []string{"accept (handed)"},
		apply: func(e *Engine, c *actCtx) error {
			to := c.req.To
			switch {
			case to == "":
				return event.BadRequest(`改派需要 to：乡镇编号或 county / reassign needs "to": a township id or "county"`)
			case to == LevelCounty:
			case e.top.TownshipName[to] == "":
				return event.BadRequest(fmt.Sprintf("未知乡镇 %s / unknown township %s", to, to))
			}
			// A township handed a matter another one had accepted has not
			// accepted it: it accepts (接单) and names its own person first.
			// Handed back to the township that reported it up, the matter
			// keeps that township's work: accepted, its person, an approved
			// extension and its deadlines, as they were.
			back := to != LevelCounty && to == c.r.EscalatedFrom
			handed := c.r.State == StateAccepted && to != LevelCounty && to != c.r.Owner && !back
			if to != LevelCounty {
				c.r.EscalatedFrom = ""
			}
			if c.r.Owner != to && c.r.Owner != LevelCounty && c.r.Owner != "" {
				c.r.Owners = appendNew(c.r.Owners, c.r.Owner)
			}
			c.r.Owner, c.r.Level = to, LevelTownship
			if to == LevelCounty {
				c.r.Level = LevelCounty
			}
			e.reown(c.r)
			c.step.Owner = to
			if !handed {
				e.transition(c.t, c.r, "reassign", c.r.State, c.now, c.step)
				return nil
			}
			e.dropDue(c.r, "assign", "")
			e.dropDue(c.r, "resolve", "")
			c.r.Assignee = nil
			e.transition(c.t, c.r, "reassign", StateDispatched, c.now, c.step)
			e.setDues(c.r, c.now, []string{"accept"})
			c.r.History[len(c.r.History)-1].Deadline = c.r.Deadline
			return nil
		}},
	{Action: "hold", From: []string{StateOpened, StateDispatched, StateAccepted, StateResolved, StateEvaluated}, To: StateHeld, Who: whoOwner, Needs: []string{"reason"}, Starts: []string{"hold"},
		apply: func(e *Engine, c *actCtx) error {
			reason := strings.TrimSpace(strings.TrimSpace(c.req.Reason) + " " + strings.TrimSpace(c.req.Note))
			if reason == "" {
				return event.BadRequest("挂起需要原因 / hold needs a reason")
			}
			c.step.Note, c.step.Reason = reason, c.req.Reason
			c.r.HeldFrom = c.r.State
			c.r.Paused = nil
			for _, d := range c.r.Dues {
				c.r.Paused = append(c.r.Paused, pausedDue{Due: d, Left: max(d.Due.Sub(c.now), 0)})
			}
			c.r.Dues = nil
			e.transition(c.t, c.r, "hold", StateHeld, c.now, c.step)
			e.setDues(c.r, c.now, []string{"hold"}) // a hold longer than max_hold is overdue
			c.r.History[len(c.r.History)-1].Deadline = c.r.Deadline
			return nil
		}},
	{Action: "resume", From: []string{StateHeld}, To: "(held_from)", Who: whoOwner, Ends: []string{"hold"},
		apply: func(e *Engine, c *actCtx) error {
			e.finishDue(c.r, "hold", c.now)
			from := c.r.HeldFrom
			// The clocks go on from where hold stopped them.
			for _, pd := range c.r.Paused {
				d := pd.Due
				d.Due = c.now.Add(pd.Left)
				c.r.Dues = append(c.r.Dues, d)
			}
			c.r.Paused, c.r.HeldFrom, c.r.Remaining = nil, "", 0
			c.r.sync()
			c.step.Deadline = c.r.Deadline
			e.transition(c.t, c.r, "resume", from, c.now, c.step)
			return nil
		}},
	{Action: "reopen", From: []string{StateResolved, StateEvaluated}, To: StateDispatched, Who: whoOwner, Starts: []string{"accept"},
		apply: func(e *Engine, c *actCtx) error {
			e.reopen(c.t, c.r, c.now, c.step)
			return nil
		}},
	{Action: "acknowledge", From: append(slices.Clone(openStates), StateHeld), Who: whoViewer,
		Ready: func(inc *event.Incident, p auth.Principal, g Guard) error {
			if !inc.AcknowledgedAt.IsZero() {
				return event.Conflict(fmt.Sprintf("已由 %s 确认 / already acknowledged by %s", inc.AcknowledgedBy, inc.AcknowledgedBy))
			}
			return nil
		},
		apply: func(e *Engine, c *actCtx) error {
			c.r.AcknowledgedAt, c.r.AcknowledgedBy = c.now, c.p.Name
			if c.step.Note == "" {
				c.step.Note = event.Bilingual("已确认告警（不代替接单）", "alarm acknowledged (not an accept)")
			}
			e.transition(c.t, c.r, "acknowledge", c.r.State, c.now, c.step)
			return nil
		}},
	{Action: "extend", From: []string{StateAccepted}, Who: whoOwner, Needs: []string{"cause", "crux", "by"},
		Ready: func(inc *event.Incident, p auth.Principal, g Guard) error {
			if inc.Extension != nil && !inc.Extension.Approved {
				return event.Conflict("已有待批的延期申请 / an extension is already waiting for approval")
			}
			if !inc.ExtendMax.IsZero() && len(inc.ExtendOptions) == 0 {
				at := inc.ExtendMax.In(g.zone()).Format("2006-01-02 15:04")
				return event.Conflict(event.Bilingual("已到本类最长期限（至 "+at+"），不能再延期", "at the class maximum (until "+at+"): no extension fits"))
			}
			return nil
		},
		apply: (*Engine).extend},
	{Action: "approve_extension", From: []string{StateAccepted}, Who: whoCounty,
		Ready: func(inc *event.Incident, p auth.Principal, g Guard) error {
			if inc.Extension == nil || inc.Extension.Approved {
				return event.Conflict("没有待批的延期申请 / no extension waiting for approval")
			}
			return nil
		},
		apply: func(e *Engine, c *actCtx) error {
			x := c.r.Extension
			x.Approved, x.ApprovedBy, x.ApprovedAt = true, c.p.Name, c.now
			e.dropDue(c.r, "resolve", "")
			c.r.Dues = append(c.r.Dues, event.Due{Step: "resolve", Owner: ownerOfStep(c.r, "resolve"), Due: x.Until})
			c.r.sync()
			c.step.Deadline = x.Until
			e.transition(c.t, c.r, "approve_extension", c.r.State, c.now, c.step)
			return nil
		}},
	// 驳回: the county refuses an extension with a reason; the matter keeps
	// its deadline, and the desk may ask again.
	{Action: "reject_extension", From: []string{StateAccepted}, Who: whoCounty, Needs: []string{"reason"},
		Ready: func(inc *event.Incident, p auth.Principal, g Guard) error {
			if inc.Extension == nil || inc.Extension.Approved {
				return event.Conflict("没有待批的延期申请 / no extension waiting for approval")
			}
			return nil
		},
		apply: func(e *Engine, c *actCtx) error {
			reason := strings.TrimSpace(c.req.Reason)
			if reason == "" {
				reason = strings.TrimSpace(c.req.Note)
			}
			if reason == "" {
				return event.BadRequest(`驳回延期需要写明理由 reason / reject_extension needs "reason"`)
			}
			x := c.r.Extension
			c.step.Reason = reason
			c.step.Note = fmt.Sprintf("驳回延期（申请延至 %s）：%s", x.Until.In(e.cal.loc).Format("01-02 15:04"), reason)
			c.r.Extension = nil
			e.transition(c.t, c.r, "reject_extension", c.r.State, c.now, c.step)
			return nil
		}},
	// 催办: the county presses a township's matter with a note; it reaches
	// the owner's and the assignee's channels and is counted in the figures.
	// The owner keeps the matter and its buttons.
	{Action: "remind", From: append(slices.Clone(openStates), StateHeld), Who: whoCounty, Needs: []string{"note"},
		Ready: func(inc *event.Incident, p auth.Principal, g Guard) error {
			if inc.Owner == "" || inc.Owner == LevelCounty {
				return event.Conflict("县级自办，无需催办 / the county holds it: nobody to remind")
			}
			return nil
		},
		apply: func(e *Engine, c *actCtx) error {
			if strings.TrimSpace(c.req.Note) == "" {
				return event.BadRequest(`催办需要说明 note / remind needs "note"`)
			}
			c.r.Reminders++
			c.step.Owner = c.r.Owner
			if c.r.Assignee != nil {
				c.step.Person = c.r.Assignee.ID
			}
			e.transition(c.t, c.r, "remind", c.r.State, c.now, c.step)
			return nil
		}},
	{Action: "summon", From: []string{StateDispatched, StateAccepted}, Who: whoOwner, Needs: []string{"departments"}, Starts: []string{"report"},
		apply: (*Engine).summon},
	{Action: "report", From: []string{StateDispatched, StateAccepted, StateResolved, StateHeld}, Who: whoDepartment, Ends: []string{"report"},
		Ready: func(inc *event.Incident, p auth.Principal, g Guard) error {
			switch s := openSummons(inc, p.Department); {
			case s == nil:
				return event.Conflict("没有待办的召集 / no open summons for this department")
			case !s.ReportedAt.IsZero():
				return event.Conflict("已报到 / already reported")
			}
			return nil
		},
		apply: func(e *Engine, c *actCtx) error { return e.deptStep(c, "report") }},
	{Action: "done", From: []string{StateDispatched, StateAccepted, StateResolved, StateHeld}, Who: whoDepartment, Needs: []string{"note"},
		Ready: func(inc *event.Incident, p auth.Principal, g Guard) error {
			switch s := openSummons(inc, p.Department); {
			case s == nil:
				return event.Conflict("没有待办的召集 / no open summons for this department")
			case s.ReportedAt.IsZero():
				return event.Conflict("请先报到 / report first")
			}
			return nil
		},
		apply: func(e *Engine, c *actCtx) error { return e.deptStep(c, "done") }},
}

// Actions are the action names, in the table's order.
var Actions = func() []string {
	out := make([]string, len(Transitions))
	for i, t := range Transitions {
		out[i] = t.Action
	}
	return out
}()

func transitionOf(table []Transition, action string) (*Transition, bool) {
	for i := range table {
		if table[i].Action == action {
			return &table[i], true
		}
	}
	return nil, false
}

// ActionsFor is the one decision of the steps p may take on inc now, in the
// table's order: those whose row starts from inc's state, auth.AllowStep
// gives to p, and whose Ready holds. It is [] (not nil) when there are
// none, so that an answer always says so.
func ActionsFor(table []Transition, g Guard, p auth.Principal, inc *event.Incident) []string {
	out := []string{}
	s := auth.IncidentScope(inc)
	if auth.Allow(p, auth.View, s) != nil {
		return out
	}
	for i := range table {
		t := &table[i]
		if !slices.Contains(t.From, inc.State) || auth.AllowStep(p, t.Action, t.Who, s) != nil {
			continue
		}
		if t.Ready != nil && t.Ready(inc, p, g) != nil {
			continue
		}
		out = append(out, t.Action)
	}
	return out
}

// Actions are the steps p may take on inc now, by this engine's table: the
// incident's "actions" in every answer (this hub's incidents and a view's).
func (e *Engine) Actions(p auth.Principal, inc event.Incident) []string {
	return ActionsFor(e.table, Guard{SelfEvaluation: e.selfEvaluation.Load(), Zone: e.zone.Load()}, p, &inc)
}

// resolveRules are what the reports ask of a 做单 besides its note: a
// hard matter writes down its cause and its crux (症结); a matter nobody
// was sent on site for (no assignee) says why no visit was needed. A
// county outage is the technicians' (a device, not a household): the
// roster's visit does not apply to it.
func resolveRules(r *record, q event.ActionRequest) error {
	if r.Class == "hard" {
		switch {
		case strings.TrimSpace(q.Cause) == "":
			return event.BadRequest(`疑难事项办结需要 cause（原因） / resolve of a hard matter needs "cause"`)
		case strings.TrimSpace(q.Crux) == "":
			return event.BadRequest(`疑难事项办结需要 crux（症结） / resolve of a hard matter needs "crux"`)
		}
	}
	if r.Assignee == nil && r.Kind != KindCountyOutage && strings.TrimSpace(q.NoVisitReason) == "" {
		return event.Conflict(`未派人实地走访：请先派人，或写明无需走访的原因 no_visit_reason / nobody was sent on site: assign first, or give "no_visit_reason"`)
	}
	return nil
}

// resolver is who resolved the matter last (做单), from its history.
func resolver(inc *event.Incident) string {
	for i := len(inc.History) - 1; i >= 0; i-- {
		if inc.History[i].Action == "resolve" {
			return inc.History[i].By
		}
	}
	return ""
}

// openSummons is department's summons on inc that is not done, or nil.
func openSummons(inc *event.Incident, department string) *event.Summon {
	for i := range inc.Summoned {
		if s := &inc.Summoned[i]; s.Department == department && s.DoneAt.IsZero() {
			return s
		}
	}
	return nil
}

// reown moves the township's clocks to the new holder: what it holds, it
// answers for from now on.
func (e *Engine) reown(r *record) {
	// Each step goes to whoever owns it now (ownerOfStep): a step the
	// county took on with an escalation goes back with a hand-back.
	for i := range r.Dues {
		if !strings.HasPrefix(r.Dues[i].Owner, "department:") {
			r.Dues[i].Owner = ownerOfStep(r, r.Dues[i].Step)
		}
	}
}

func (e *Engine) reopen(t *tx, r *record, now time.Time, s event.Step) {
	r.AcknowledgedAt, r.AcknowledgedBy = time.Time{}, "" // the reopened matter sounds again
	e.dropDue(r, "evaluate", "")
	e.dropDue(r, "review", "")
	r.Reopened++
	if r.Fingerprint != "" && e.byFP[r.Fingerprint] == nil {
		t.setFP(r.Fingerprint, r)
	}
	if r.Owner == LevelCounty {
		r.Level = LevelCounty
	} else {
		r.Level = LevelTownship
	}
	e.transition(t, r, "reopen", StateDispatched, now, s)
	e.setDues(r, now, []string{"accept"})
	r.History[len(r.History)-1].Deadline = r.Deadline
}

// Rating values and how they were asked.
var (
	ratings = []string{"satisfied", "neutral", "unsatisfied"}
	methods = []string{"phone", "visit", "on_site"}
	askeds  = []string{"reporter", "household", "village_head", "other"}
)

// evaluate records the people's rating (评单). The old form, a rating with
// neither method nor asked, still works and is recorded as "unrecorded".
func (e *Engine) evaluate(c *actCtx) error {
	q := c.req
	if !slices.Contains(ratings, q.Rating) {
		return event.BadRequest(`评单需要 rating：satisfied、neutral 或 unsatisfied / evaluate needs "rating": satisfied, neutral or unsatisfied`)
	}
	method, asked := q.Method, q.Asked
	if method == "" && asked == "" {
		method, asked = "unrecorded", "unrecorded"
	}
	if !slices.Contains(methods, method) && method != "unrecorded" {
		return event.BadRequest(`评单需要 method：phone、visit 或 on_site / evaluate needs "method": phone, visit or on_site`)
	}
	if !slices.Contains(askeds, asked) && asked != "unrecorded" {
		return event.BadRequest(`评单需要 asked：reporter、household、village_head 或 other / evaluate needs "asked": reporter, household, village_head or other`)
	}
	c.r.Rating = q.Rating
	c.r.Ratings = append(c.r.Ratings, event.Rating{At: c.now, Rating: q.Rating, Method: method, Asked: asked, By: c.p.Name, Note: q.Note})
	c.step.Rating, c.step.Method, c.step.Asked = q.Rating, method, asked
	e.finishDue(c.r, "evaluate", c.now)
	e.transition(c.t, c.r, "evaluate", StateEvaluated, c.now, c.step)
	e.setDues(c.r, c.now, []string{"review"})
	if q.Rating == "unsatisfied" {
		switch e.cfg.Alerts.OnUnsatisfied {
		case "reopen":
			e.reopen(c.t, c.r, c.now, event.Step{By: system, Level: LevelCounty, Note: event.Bilingual("群众不满意，自动重办", "unsatisfied: reopened")})
		case "county":
			// A person's note stays whole; the mark then goes in Chinese
			// only, so the note does not split into halves that are not.
			mark := event.Bilingual("群众不满意，由县级决定重办或考单", "unsatisfied: the county decides")
			if n := strings.TrimSpace(c.step.Note); n != "" {
				mark = n + " [群众不满意，由县级决定重办或考单]"
			}
			c.r.History[len(c.r.History)-1].Note = mark
		}
	}
	return nil
}

// extend asks for more time on a hard case (疑难): cause and crux written
// down, capped by the class's maximum, approved by the county.
func (e *Engine) extend(c *actCtx) error {
	q := c.req
	switch {
	case strings.TrimSpace(q.Cause) == "":
		return event.BadRequest(`延期需要 cause（原因） / extend needs "cause"`)
	case strings.TrimSpace(q.Crux) == "":
		return event.BadRequest(`延期需要 crux（症结） / extend needs "crux"`)
	case q.By == "":
		return event.BadRequest(`延期需要 by，如 10wd 或 5d / extend needs "by", like 10wd or 5d`)
	}
	by, err := configs.ParseSpan(q.By)
	if err != nil || by.IsZero() {
		return event.BadRequest(fmt.Sprintf("by: %v", err))
	}
	base, capAt := e.extendBounds(c.r)
	until := e.cal.Add(base, by)
	if until.After(capAt) {
		limit := e.classMax(c.r)
		return event.Conflict(fmt.Sprintf("超过%s类最长期限 %s（至 %s） / beyond the class maximum %s (until %s)",
			c.r.Class, limit, capAt.In(e.cal.loc).Format("2006-01-02 15:04"), limit, capAt.In(e.cal.loc).Format("2006-01-02 15:04")))
	}
	c.r.Extension = &event.Extension{Cause: q.Cause, Crux: q.Crux, Until: until, RequestedBy: c.p.Name, RequestedAt: c.now}
	c.step.Reason = q.Cause
	c.step.Note = strings.TrimSpace(fmt.Sprintf("原因：%s；症结：%s。%s", q.Cause, q.Crux, q.Note))
	c.step.Deadline = until
	e.transition(c.t, c.r, "extend", c.r.State, c.now, c.step)
	return nil
}

// extendBounds are what an extension of r counts from (the resolve
// deadline now, or now when it has none) and the latest it may end: the
// class's maximum from acceptance.
func (e *Engine) extendBounds(r *record) (base, capAt time.Time) {
	base = e.now()
	var accepted time.Time
	for _, s := range r.History {
		if s.Action == "accept" {
			accepted = s.At
		}
	}
	for _, d := range r.Dues {
		if d.Step == "resolve" {
			base = d.Due
		}
	}
	return base, e.cal.Add(accepted, e.classMax(r))
}

// extendLadder is what a desk is offered to ask for, shortest first; a
// matter is offered those that end within its class's maximum, so a minor
// matter of a few days is never offered 30 working days it cannot have.
var extendLadder = []string{"1h", "2h", "4h", "1wd", "2wd", "3wd", "5wd", "10wd", "15wd", "20wd", "30wd"}

// extendOptions sets r's ExtendOptions and ExtendMax from the calendar and
// the class now (called at every commit, at load and when the
// configuration changes), so a page offers only what the step accepts.
func (e *Engine) extendOptions(r *record) {
	r.ExtendOptions, r.ExtendMax = nil, time.Time{}
	if r.State != StateAccepted || (r.Extension != nil && !r.Extension.Approved) {
		return
	}
	base, capAt := e.extendBounds(r)
	r.ExtendMax = capAt
	for _, by := range extendLadder {
		sp, _ := configs.ParseSpan(by)
		if until := e.cal.Add(base, sp); !until.After(capAt) {
			r.ExtendOptions = append(r.ExtendOptions, event.ExtendOption{By: by, Until: until})
		}
	}
}

// classMax is the longest a matter of r's class may take to resolve.
func (e *Engine) classMax(r *record) configs.Span {
	if cl, ok := e.cfg.Alerts.Classes[r.Class]; ok && !cl.Max.IsZero() {
		return cl.Max
	}
	return scale(e.limitFor(r, "resolve"), 2)
}

// summon calls departments into the matter (街区吹哨).
func (e *Engine) summon(c *actCtx) error {
	if len(c.req.Departments) == 0 {
		return event.BadRequest(`召集需要 departments / summon needs "departments"`)
	}
	for _, d := range c.req.Departments {
		if _, ok := e.top.Departments[d]; !ok {
			return event.BadRequest(fmt.Sprintf("未知部门 %s / unknown department %s", d, d))
		}
	}
	lim := e.limitFor(c.r, "report")
	for _, d := range c.req.Departments {
		already := false
		for _, s := range c.r.Summoned {
			if s.Department == d && s.DoneAt.IsZero() {
				already = true
			}
		}
		if already {
			continue
		}
		sm := event.Summon{Department: d, At: c.now, By: c.p.Name}
		if !lim.IsZero() {
			sm.Due = e.cal.Add(c.now, lim)
			c.r.Dues = append(c.r.Dues, event.Due{Step: "report", Owner: "department:" + d, Due: sm.Due, Of: d})
		}
		c.r.Summoned = append(c.r.Summoned, sm)
	}
	c.r.sync()
	c.step.Departments = c.req.Departments
	e.transition(c.t, c.r, "summon", c.r.State, c.now, c.step)
	return nil
}

// deptStep is a summoned department's 报到 or done; Ready found its summons.
func (e *Engine) deptStep(c *actCtx, action string) error {
	d := c.p.Department
	s := openSummons(&c.r.Incident, d)
	if action == "report" {
		s.ReportedAt = c.now
		e.finishDueOf(c.r, "report", d, c.now)
	} else {
		if strings.TrimSpace(c.req.Note) == "" {
			return event.BadRequest("办结需要说明 / done needs a note")
		}
		s.DoneAt, s.Note = c.now, c.req.Note
	}
	c.step.Departments = []string{d}
	e.transition(c.t, c.r, action, c.r.State, c.now, c.step)
	return nil
}
