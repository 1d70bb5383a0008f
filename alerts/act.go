package alerts

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// scope is what auth.Allow needs to know of an incident.
func scope(r *record) auth.Scope { return auth.IncidentScope(&r.Incident) }

func (e *Engine) visible(p auth.Principal, r *record) bool {
	return auth.Allow(p, auth.View, scope(r)) == nil
}

// Act takes a person's step on an incident. The step is stored, with its
// outbox entry, before Act returns; every attempt, allowed or not, goes to
// the audit log.
func (e *Engine) Act(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	inc, err := e.act(p, id, action, req, now)
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	if aerr := e.store.audit(event.AuditEntry{At: now, User: p.Name, Role: p.Role, Action: action, Incident: id, Remote: req.Remote, Result: result}); aerr != nil {
		e.log.Error("audit entry not stored", "err", aerr)
	}
	return inc, err
}

func (e *Engine) act(p auth.Principal, id, action string, req event.ActionRequest, now time.Time) (event.Incident, error) {
	cur := e.incidents[id]
	if cur == nil {
		if e.isArchived(id) {
			return event.Incident{}, event.Conflict(fmt.Sprintf("%s 已归档 / incident %s is archived (reviewed)", id, id))
		}
		return event.Incident{}, event.NotFound("incident " + id)
	}
	tr, ok := transitionOf(e.table, action)
	if !ok {
		return event.Incident{}, event.BadRequest(fmt.Sprintf("未知操作 %q / unknown action %q: use one of %s", action, action, strings.Join(Actions, ", ")))
	}
	if err := auth.Allow(p, auth.View, scope(cur)); err != nil {
		return event.Incident{}, err
	}
	if err := auth.AllowStep(p, action, tr.Who, scope(cur)); err != nil {
		return event.Incident{}, err
	}
	if !slices.Contains(tr.From, cur.State) {
		if action == "resolve" && cur.State == StateDispatched {
			return event.Incident{}, event.Conflict("请先接单 / accept first: resolve is for an accepted incident")
		}
		return event.Incident{}, event.Conflict(fmt.Sprintf("不能%s：事件为 %s / cannot %s an incident that is %s (allowed from %s)",
			stepName(action), cur.State, action, cur.State, strings.Join(tr.From, ", ")))
	}
	if tr.Ready != nil {
		if err := tr.Ready(&cur.Incident, p, Guard{SelfEvaluation: e.cfg.Alerts.SelfEvaluation, Zone: e.cal.loc}); err != nil {
			return event.Incident{}, err
		}
	}
	for _, s := range []string{req.Note, req.Reason, req.Cause, req.Crux, req.Advice, req.NoVisitReason} {
		if err := e.note(s); err != nil {
			return event.Incident{}, err
		}
	}
	t := e.begin()
	c := &actCtx{t: t, r: t.get(id), p: p, req: req, now: now,
		step: event.Step{By: p.Name, Role: p.Role, Level: p.Level(), Note: req.Note}}
	if err := tr.apply(e, c); err != nil {
		return event.Incident{}, err
	}
	if err := e.commit(t); err != nil {
		return event.Incident{}, err
	}
	return e.incidents[id].view(), nil
}

// Sources of a manual incident.
var Sources = []string{"wall", "grid", "hotline_12345", "petition", "department", "other"}

// Create raises an incident by hand (制单): the operator who saw it on a
// tile, a grid worker's report, a 12345 ticket. It follows the same steps
// and deadlines as a rule's incident and is dispatched the same way.
func (e *Engine) Create(ctx context.Context, p auth.Principal, q event.CreateRequest) (event.Incident, error) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	inc, err := e.create(p, q, now)
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	if aerr := e.store.audit(event.AuditEntry{At: now, User: p.Name, Role: p.Role, Action: "create", Incident: inc.ID, Target: q.Village, Remote: q.Remote, Result: result}); aerr != nil {
		e.log.Error("audit entry not stored", "err", aerr)
	}
	return inc, err
}

func (e *Engine) create(p auth.Principal, q event.CreateRequest, now time.Time) (event.Incident, error) {
	q.Title = strings.TrimSpace(q.Title)
	if q.Severity == "" {
		q.Severity = "minor"
	}
	if q.Source == "" {
		q.Source = "other"
	}
	if q.Kind == "" {
		q.Kind = "manual"
	}
	tw, ok := e.top.VillageTownship[q.Village]
	switch {
	case q.Title == "":
		return event.Incident{}, event.BadRequest(`制单需要标题 title / create needs "title"`)
	case len([]rune(q.Title)) > 200:
		return event.Incident{}, event.TooLarge("标题过长（上限 200 字） / title over 200 characters")
	case strings.ContainsFunc(q.Title, unicode.IsControl):
		// A title is one line everywhere it is shown (the wall's tile, a
		// group's heading, an SMS): a line break in it would start a heading
		// of its own in a DingTalk or WeCom notice.
		return event.Incident{}, event.BadRequest("标题不能含换行或控制字符 / title must not contain line breaks or control characters")
	case q.Village == "":
		return event.Incident{}, event.BadRequest(`制单需要村 village / create needs "village"`)
	case !ok:
		return event.Incident{}, event.BadRequest(fmt.Sprintf("未知村 %s / unknown village %s", q.Village, q.Village))
	case !slices.Contains([]string{"critical", "major", "minor"}, q.Severity):
		return event.Incident{}, event.BadRequest(fmt.Sprintf("severity %q：用 critical、major 或 minor / use critical, major or minor", q.Severity))
	case !slices.Contains(Sources, q.Source):
		return event.Incident{}, event.BadRequest(fmt.Sprintf("source %q：用 %s / use one of %s", q.Source, strings.Join(Sources, ", "), strings.Join(Sources, ", ")))
	case len(q.Ref) > 100:
		return event.Incident{}, event.BadRequest("ref 过长 / ref over 100 characters")
	case q.Grid != "" && e.top.GridVillage[q.Grid] != q.Village:
		return event.Incident{}, event.BadRequest(fmt.Sprintf("网格 %s 不属于 %s / grid %s is not in village %s", q.Grid, q.Village, q.Grid, q.Village))
	}
	if q.Class == "" {
		q.Class = map[string]string{"hotline_12345": "hotline_12345", "petition": "general"}[q.Source]
	} else if _, ok := e.cfg.Alerts.Classes[q.Class]; !ok {
		names := make([]string, 0, len(e.cfg.Alerts.Classes))
		for n := range e.cfg.Alerts.Classes {
			names = append(names, n)
		}
		sort.Strings(names)
		return event.Incident{}, event.BadRequest(fmt.Sprintf("未知类别 %s / unknown class %s: use one of %s", q.Class, q.Class, strings.Join(names, ", ")))
	}
	for _, c := range q.Cameras {
		if d, ok := e.top.Devices[c]; !ok || !d.Camera {
			return event.Incident{}, event.BadRequest(fmt.Sprintf("未知摄像头 %s / unknown camera %s", c, c))
		}
	}
	if err := e.note(q.Note); err != nil {
		return event.Incident{}, err
	}
	if err := auth.Allow(p, auth.Create, auth.Scope{Township: tw, Village: q.Village}); err != nil {
		return event.Incident{}, err
	}
	t := e.begin()
	r := &record{Incident: event.Incident{ID: t.newID(now), State: StateOpened, Severity: q.Severity, Kind: q.Kind, Title: q.Title,
		Township: tw, Village: q.Village, Grid: q.Grid, Cameras: slices.Clone(q.Cameras), OpenedAt: now, Count: 1, LastSeen: now,
		Source: q.Source, Ref: q.Ref, Class: q.Class, CreatedBy: p.Name}}
	note := q.Note
	if note == "" {
		note = "人工制单 / raised by hand"
	}
	e.opened(t, r, now, p.Name, note)
	r.History[0].Role, r.History[0].Level = p.Role, p.Level()
	if err := e.commit(t); err != nil {
		return event.Incident{}, err
	}
	return e.incidents[r.ID].view(), nil
}

// List returns the incidents p may see, newest first. With state=reviewed
// and a time range it is the archive (销号归档): reviewed in [From, To),
// including incidents that left memory, read from the store.
func (e *Engine) List(p auth.Principal, f event.IncidentFilter) []event.Incident {
	out, _, _ := e.Query(p, f)
	return out
}

// Query is List with the total before paging, and the store's error.
func (e *Engine) Query(p auth.Principal, f event.IncidentFilter) ([]event.Incident, int, error) {
	e.mu.Lock()
	recs := make([]*record, 0, len(e.incidents))
	for _, r := range e.incidents {
		recs = append(recs, r)
	}
	var ids []string
	// The archive: reviewed incidents that left memory, when a caller asks
	// for reviewed (or all) incidents within a range; without a range the
	// listing stays with what memory holds.
	if (f.State == StateReviewed || f.State == "" || f.State == "all") && (!f.From.IsZero() || !f.To.IsZero()) {
		for _, a := range e.archived {
			if (f.From.IsZero() || !a.reviewedAt.Before(f.From)) && (f.To.IsZero() || a.reviewedAt.Before(f.To)) {
				ids = append(ids, a.id)
			}
		}
	}
	e.mu.Unlock()
	var err error
	if len(ids) > 0 {
		var more []*record
		more, err = e.store.getIncidents(ids)
		recs = append(recs, more...)
	}
	// Filter and sort the records, then copy only the page handed out.
	keep := recs[:0]
	for _, r := range recs {
		if f.Match(&r.Incident) && e.visible(p, r) {
			keep = append(keep, r)
		}
	}
	sort.Slice(keep, func(i, j int) bool { return event.NewestFirst(&keep[i].Incident, &keep[j].Incident) })
	keep, total := event.Page(keep, f)
	out := make([]event.Incident, len(keep))
	for i, r := range keep {
		out[i] = r.view()
	}
	return out, total, err
}

// Get returns one incident p may see.
func (e *Engine) Get(p auth.Principal, id string) (event.Incident, error) {
	e.mu.Lock()
	r := e.incidents[id]
	archived := r == nil && e.isArchived(id)
	e.mu.Unlock()
	if archived {
		recs, err := e.store.getIncidents([]string{id})
		if err != nil {
			return event.Incident{}, err
		}
		if len(recs) == 1 {
			r = recs[0]
		}
	}
	if r == nil {
		return event.Incident{}, event.NotFound("incident " + id)
	}
	if err := auth.Allow(p, auth.View, scope(r)); err != nil {
		return event.Incident{}, err
	}
	return r.view(), nil
}

// Audit lists recorded actions, newest first; the county's to read.
func (e *Engine) Audit(p auth.Principal, since time.Time, limit int) ([]event.AuditEntry, error) {
	if err := auth.Allow(p, auth.Audit, auth.Scope{}); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	return e.store.auditSince(since, limit)
}

// archived is a reviewed incident that left memory: the store has it.
type archived struct {
	id         string
	reviewedAt time.Time
	stat       statRow
}

func archiveOf(r *record) archived {
	return archived{id: r.ID, reviewedAt: r.ReviewedAt, stat: statOf(r)}
}

func (e *Engine) isArchived(id string) bool {
	_, ok := e.archived[id]
	return ok
}

// keepBefore: reviewed before this leaves memory.
func (e *Engine) keepBefore(now time.Time) time.Time {
	k := e.cfg.Alerts.KeepInMemory
	if k.IsZero() {
		return time.Time{}
	}
	return now.Add(-k.D - time.Duration(k.WD)*24*time.Hour)
}

// evict moves incidents reviewed before keep_in_memory out of memory.
func (e *Engine) evict(now time.Time) {
	keep := e.keepBefore(now)
	for id, r := range e.incidents {
		if r.State == StateReviewed && !r.ReviewedAt.IsZero() && r.ReviewedAt.Before(keep) {
			a := archiveOf(r)
			e.archived[id] = a
			e.figs.put(figOfArchived(a))
			delete(e.incidents, id)
		}
	}
}
