package prefecture

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Figures across hubs: a view's GET /api/v1/stats and /stats/backlog ask
// each owner for its own, on the action request/reply topics (the same
// ACL: a view writes hubs/{owner}/actions/{view}, reads the replies). The
// owner computes them with the principal it builds from its own users, so
// a township user gets its own township, as at the owner's desk; the view
// adds them up (event.MergeStats, MergeBacklog).
//
// A reply is cut into parts of at most min(MaxPartBytes, mqtt.max_payload/4)
// bytes each (the broker refuses a packet over max_payload, 64 KiB by
// default), one row alone when it is larger; an answer of more than
// MaxAnswerBytes is refused (413). Measured sizes: a stats row is about
// 1 KiB of JSON, so a county's figures by person (Changwu's 1,100 grid
// workers and cadres) are some 1.1 MiB in 70 parts; a year's backlog is
// 10 KiB of points in part 0 and 3.7 KiB per township.

const (
	// MaxPartBytes bounds one reply message of a query's answer.
	MaxPartBytes = 16 << 10
	// MaxAnswerBytes bounds a whole answer's rows: more is refused (413)
	// rather than sent.
	MaxAnswerBytes = 4 << 20
	// MaxQueryParts is what a view accepts of one answer: 4 MiB in parts
	// of the smallest budget.
	MaxQueryParts = MaxAnswerBytes / (2 * envelope)
	// queryWorkers answer queries at once on an owner, apart from steps.
	queryWorkers = 4
	// rememberFigures and rememberFigureBytes bound the answers kept for
	// redelivered queries; one that fell out is computed again (a read).
	rememberFigures     = 64
	rememberFigureBytes = 8 << 20
	// envelope is what a part carries besides its rows.
	envelope = 256
)

// answerQuery is the owner's answer to a view's query, in parts.
func (a *Actions) answerQuery(view string, req ActionRequest) [][]byte {
	q := *req.Query
	fail := func(status int, reason string) [][]byte {
		a.log.Info("figures for a view", "view", view, "user", req.User, "kind", q.Kind, "status", status)
		b, _ := json.Marshal(ActionReply{ID: req.ID, Status: status, Error: reason})
		return [][]byte{b}
	}
	p, refused, why := admit(a.o.Config(), a.o.Self, view, req.User)
	if refused != nil {
		a.o.Refused.add(view, why, "a request for figures refused", "user", req.User)
		return fail(refused.Status, refused.Error)
	}
	limit := MaxPartBytes
	if mp := a.o.Config().MQTT.MaxPayload; mp > 0 && mp/4 < limit {
		limit = max(mp/4, 2*envelope)
	}
	var rows []event.StatsRow
	var bl event.Backlog
	var err error
	switch {
	case q.Kind == QueryStats && a.o.Stats != nil:
		rows, err = a.o.Stats(p, q.From, q.To, q.Group)
	case q.Kind == QueryBacklog && a.o.Backlog != nil:
		bl, err = a.o.Backlog(p, q.From, q.To, q.Group)
	default:
		return fail(http.StatusNotImplemented, "所属中心 "+a.o.Self+" 不提供 "+q.Kind+" / hub "+a.o.Self+" does not answer "+q.Kind)
	}
	if err != nil {
		return fail(dashboard.HTTPStatus(err), err.Error())
	}
	var parts [][]byte
	if q.Kind == QueryStats {
		parts, err = splitReply(req.ID, rows, 0, limit, func(r *ActionReply, part []event.StatsRow, first bool) {
			r.Rows = part
			if r.Rows == nil {
				r.Rows = []event.StatsRow{}
			}
		})
	} else {
		head, _ := json.Marshal(bl.At)
		parts, err = splitReply(req.ID, bl.Rows, len(head), limit, func(r *ActionReply, part []event.BacklogSeries, first bool) {
			b := event.Backlog{Group: bl.Group, Rows: part}
			if b.Rows == nil {
				b.Rows = []event.BacklogSeries{}
			}
			if first {
				b.At = bl.At
			}
			r.Backlog = &b
		})
	}
	if err != nil {
		return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("所属中心 %s 的答复过大 / hub %s: %v", a.o.Self, a.o.Self, err))
	}
	a.log.Info("figures for a view", "view", view, "user", req.User, "kind", q.Kind, "group", q.Group, "parts", len(parts))
	return parts
}

// splitReply cuts items into replies of at most limit bytes each (an item
// larger than that goes alone), the first with reserve bytes less; fill
// puts a part's items into its reply.
func splitReply[T any](id string, items []T, reserve, limit int, fill func(r *ActionReply, part []T, first bool)) ([][]byte, error) {
	var bounds []int // start of each part
	size, total := envelope+reserve, reserve
	for i, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return nil, err
		}
		if total += len(b); total > MaxAnswerBytes {
			return nil, fmt.Errorf("%d rows are more than %d bytes", len(items), MaxAnswerBytes)
		}
		switch {
		case i == 0:
			bounds = append(bounds, 0)
		case size+len(b)+1 > limit:
			bounds, size = append(bounds, i), envelope
		}
		size += len(b) + 1
	}
	if len(bounds) == 0 {
		bounds = []int{0}
	}
	out := make([][]byte, 0, len(bounds))
	for n, lo := range bounds {
		hi := len(items)
		if n+1 < len(bounds) {
			hi = bounds[n+1]
		}
		r := ActionReply{ID: id, Status: http.StatusOK, Part: n, Parts: len(bounds)}
		fill(&r, items[lo:hi], n == 0)
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// gather collects the parts of one query's answer at the view.
type gather struct {
	hub   string // the hub asked: only its answer counts
	parts []*ActionReply
	got   int
	done  chan ActionReply
}

// gatherReply takes a reply to one of this view's queries (and reports
// whether it was one): parts are kept by number, a repeat once, and the
// whole answer goes to the asker when every part is in.
func (v *View) gatherReply(hub string, payload []byte) bool {
	var r ActionReply
	if json.Unmarshal(payload, &r) != nil || r.ID == "" {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	g := v.queries[r.ID]
	if g == nil {
		return false
	}
	if g.hub != hub {
		v.o.Refused.add(hub, RefusedWrongReply, "an answer from a hub the request did not go to")
		return true
	}
	whole := r
	if r.Status/100 == 2 && r.Parts > 1 {
		if r.Parts > MaxQueryParts || r.Part < 0 || r.Part >= r.Parts || (g.parts != nil && len(g.parts) != r.Parts) {
			whole = ActionReply{ID: r.ID, Status: http.StatusBadGateway, Error: fmt.Sprintf("答复分段有误 / a reply's part %d of %d does not fit", r.Part, r.Parts)}
		} else {
			if g.parts == nil {
				g.parts = make([]*ActionReply, r.Parts)
			}
			if g.parts[r.Part] == nil {
				g.parts[r.Part] = &r
				g.got++
			}
			if g.got < len(g.parts) {
				return true
			}
			whole = assemble(g.parts)
		}
	}
	delete(v.queries, r.ID)
	g.done <- whole // buffered, sent once: the entry is gone
	return true
}

// assemble joins an answer's parts in order: the rows, or the backlog's
// rows with the points of part 0.
func assemble(parts []*ActionReply) ActionReply {
	w := ActionReply{ID: parts[0].ID, Status: http.StatusOK, Parts: len(parts)}
	for _, p := range parts {
		w.Rows = append(w.Rows, p.Rows...)
		if p.Backlog != nil {
			if w.Backlog == nil {
				w.Backlog = &event.Backlog{Group: p.Backlog.Group}
			}
			if p.Part == 0 {
				w.Backlog.At = p.Backlog.At
			}
			w.Backlog.Rows = append(w.Backlog.Rows, p.Backlog.Rows...)
		}
	}
	return w
}

// Answer is one hub's figures.
type Answer struct {
	Hub       string
	Townships []string
	Rows      []event.StatsRow
	Backlog   *event.Backlog
}

// Figures asks, in parallel and each within the action timeout, the
// viewed hubs owning townships for p's figures of q. townships are those
// p's figures cover that this hub does not own: every other township for
// the county, a township user's own. What is missing comes back named:
// a hub unreachable (its last will), silent or refusing, and townships no
// viewed hub has been seen owning.
func (v *View) Figures(ctx context.Context, p auth.Principal, q Query, townships []string) ([]Answer, []event.Unavailable) {
	type target struct {
		hub       string
		townships []string
	}
	all := slices.Contains(v.o.View, "all")
	byHub := map[string]*target{}
	var orphans []string
	var missing []event.Unavailable
	v.mu.Lock()
	ids := slices.Sorted(maps.Keys(v.hubs)) // two hubs claiming a township (a handover): always the same one asked
	for _, tw := range townships {
		hub := ""
		for _, id := range ids {
			if slices.Contains(v.hubs[id].status.Townships, tw) && v.views(id) {
				hub = id
				break
			}
		}
		if hub == "" {
			orphans = append(orphans, tw)
			continue
		}
		if byHub[hub] == nil {
			byHub[hub] = &target{hub: hub}
		}
		byHub[hub].townships = append(byHub[hub].townships, tw)
	}
	if p.County() && !all {
		for _, id := range v.o.View {
			if v.hubs[id] == nil && id != v.o.Self {
				missing = append(missing, event.Unavailable{Hub: id, Townships: []string{},
					Reason: fmt.Sprintf("尚未收到所属中心 %s 的状态，其数据未计入 / hub %s has not been seen yet; its figures are missing", id, id)})
			}
		}
	}
	v.mu.Unlock()
	// A view of named hubs does not know which townships the hubs it does
	// not view own: it names townships nobody owns only when it views all,
	// or when they are the asking desk's own.
	if len(orphans) > 0 && (all || !p.County()) {
		missing = append(missing, event.Unavailable{Hub: "", Townships: orphans,
			Reason: "尚未见到负责这些乡镇的中心，其数据未计入 / no hub owning these townships has been seen; their figures are missing"})
	}
	targets := make([]*target, 0, len(byHub))
	for _, t := range byHub {
		targets = append(targets, t)
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].hub < targets[j].hub })
	answers := make([]Answer, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			r, err := v.ask(ctx, t.hub, ActionRequest{User: p.Name, Query: &q})
			answers[i], errs[i] = Answer{Hub: t.hub, Townships: t.townships, Rows: r.Rows, Backlog: r.Backlog}, err
		})
	}
	wg.Wait()
	out := answers[:0]
	for i, a := range answers {
		if errs[i] != nil {
			missing = append(missing, event.Unavailable{Hub: a.Hub, Townships: a.Townships, Reason: errs[i].Error()})
			continue
		}
		if q.Kind == QueryBacklog && a.Backlog == nil {
			missing = append(missing, event.Unavailable{Hub: a.Hub, Townships: a.Townships,
				Reason: fmt.Sprintf("所属中心 %s 的答复没有积压数据 / hub %s answered without a backlog", a.Hub, a.Hub)})
			continue
		}
		out = append(out, a)
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i].Hub < missing[j].Hub })
	return out, missing
}

// ask sends one query to hub and waits for the whole answer.
func (v *View) ask(ctx context.Context, hub string, rq ActionRequest) (ActionReply, error) {
	v.mu.Lock()
	var st event.HubStatus
	if r := v.hubs[hub]; r != nil {
		st = r.status
	}
	v.mu.Unlock()
	if st.State == event.HubUnreachable {
		return ActionReply{}, fmt.Errorf("所属中心 %s 自 %s 不可达，其数据未计入 / hub %s is unreachable since %s; its figures are missing",
			hub, v.since(st.Since), hub, st.Since.UTC().Format(time.RFC3339))
	}
	c := v.o.Client()
	if c == nil || !v.o.Connected() {
		return ActionReply{}, fmt.Errorf("消息服务器未连接，无法询问 %s / the broker is not connected: cannot ask hub %s", hub, hub)
	}
	rq.ID = newID()
	g := &gather{hub: hub, done: make(chan ActionReply, 1)}
	v.mu.Lock()
	if v.queries == nil {
		v.queries = map[string]*gather{}
	}
	v.queries[rq.ID] = g
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		delete(v.queries, rq.ID)
		v.mu.Unlock()
	}()
	b, _ := json.Marshal(rq)
	c.Publish(v.t.Actions(hub, v.o.Self), 1, false, b)
	t := time.NewTimer(v.o.ActionTimeout)
	defer t.Stop()
	select {
	case r := <-g.done:
		if r.Status/100 != 2 {
			return ActionReply{}, fmt.Errorf("所属中心 %s 未给出数据（%d） / hub %s gave no figures (%d): %s", hub, r.Status, hub, r.Status, r.Error)
		}
		return r, nil
	case <-t.C:
		return ActionReply{}, fmt.Errorf("所属中心 %s 在 %s 内未答复，其数据未计入 / hub %s did not answer within %s; its figures are missing",
			hub, v.o.ActionTimeout, hub, v.o.ActionTimeout)
	case <-ctx.Done():
		return ActionReply{}, fmt.Errorf("ask hub %s: %w", hub, ctx.Err())
	}
}
