package alerts

import (
	"container/heap"
	"fmt"
	"slices"
	"time"

	"snowhub/internal/event"
)

// tx is one change to the engine's incidents: it works on clones, and
// nothing of it reaches memory (incidents, fingerprints, timers, the
// sequence) before the store committed it with its outbox entries. A
// failed commit leaves the engine exactly as it was.
type tx struct {
	e       *Engine
	work    map[string]*record
	order   []*record
	base    map[string]int // history length when first touched (0: created here)
	created map[string]bool
	fpSet   map[string]*record
	fpDel   map[string]bool
	seq     int
	steps   []string
}

// begin starts a change. Its maps are made on the first write: most
// device events change nothing, and they are the hot path.
func (e *Engine) begin() *tx {
	return &tx{e: e, seq: e.seq}
}

func (t *tx) alloc() {
	if t.work == nil {
		t.work, t.base, t.created = map[string]*record{}, map[string]int{}, map[string]bool{}
		t.fpSet, t.fpDel = map[string]*record{}, map[string]bool{}
	}
}

// get returns the working copy of incident id, or nil.
func (t *tx) get(id string) *record {
	if r := t.work[id]; r != nil {
		return r
	}
	r := t.e.incidents[id]
	if r == nil {
		return nil
	}
	c := r.clone()
	t.alloc()
	t.work[id] = c
	t.order = append(t.order, c)
	t.base[id] = len(c.History)
	return c
}

// create adds a new incident.
func (t *tx) create(r *record) {
	if t.work[r.ID] != nil {
		return
	}
	t.alloc()
	t.work[r.ID] = r
	t.order = append(t.order, r)
	t.created[r.ID] = true
}

// peekFP is the open incident of a fingerprint: the working copy if this
// change touched it, else the committed record, which must not be changed
// (call get for a copy to change).
func (t *tx) peekFP(fp string) *record {
	if r, ok := t.fpSet[fp]; ok {
		return r
	}
	if t.fpDel[fp] {
		return nil
	}
	if r := t.e.byFP[fp]; r != nil {
		if w := t.work[r.ID]; w != nil {
			return w
		}
		return r
	}
	return nil
}

func (t *tx) setFP(fp string, r *record) { t.alloc(); t.fpSet[fp] = r; delete(t.fpDel, fp) }
func (t *tx) delFP(r *record) {
	if r.Fingerprint == "" {
		return
	}
	if cur := t.peekFP(r.Fingerprint); cur == nil || cur.ID == r.ID {
		t.alloc()
		delete(t.fpSet, r.Fingerprint)
		t.fpDel[r.Fingerprint] = true
	}
}

// newID is the next incident id. The sequence never goes back, and an id
// already present (a store whose sequence key was lost) is skipped.
func (t *tx) newID(at time.Time) string {
	for {
		t.seq++
		// In a prefecture the hub's id is part of the id, so incidents of
		// several hubs never share one (INC-north-20261124-0042).
		hub := ""
		if t.e.cfg.Hub.ID != "" {
			hub = t.e.cfg.Hub.ID + "-"
		}
		id := fmt.Sprintf("INC-%s%s-%04d", hub, at.In(t.e.cal.loc).Format("20060102"), t.seq)
		if t.e.incidents[id] == nil && t.work[id] == nil && !t.e.isArchived(id) {
			return id
		}
	}
}

// step appends a history step.
func (t *tx) step(r *record, s event.Step) {
	r.History = append(r.History, s)
	t.steps = append(t.steps, s.Action)
}

// commit writes the changes and their outbox entries in one bbolt
// transaction, then applies them to memory. Called with e.mu held.
func (e *Engine) commit(t *tx) error {
	if len(t.order) == 0 {
		return nil
	}
	for _, r := range t.order {
		r.sync()
		e.extendOptions(r)
	}
	ids, err := e.store.commit(t.order, t.base, t.seq)
	if err != nil {
		e.m.commitErr.Inc()
		return fmt.Errorf("incident store: %w", err)
	}
	_ = ids
	for _, r := range t.order {
		r.statRow() // figures ready before anyone asks
		e.incidents[r.ID] = r
		e.indexStorm(r)
		e.figs.put(figOf(r))
		if t.created[r.ID] {
			e.m.incidents.WithLabelValues(r.Severity).Inc()
		}
		if r.open() {
			if at, ok := e.nextTimer(r); ok {
				e.addTimer(at, timerDeadline, r.ID)
			}
		}
		// Fingerprints point at the committed record, not the old one.
		if cur := e.byFP[r.Fingerprint]; cur != nil && cur.ID == r.ID {
			e.byFP[r.Fingerprint] = r
		}
	}
	for fp := range t.fpDel {
		delete(e.byFP, fp)
	}
	for fp, r := range t.fpSet {
		e.byFP[fp] = e.incidents[r.ID]
	}
	e.seq = t.seq
	for _, a := range t.steps {
		e.m.steps.WithLabelValues(a).Inc()
	}
	e.box.wakeAll()
	return nil
}

func (e *Engine) addTimer(at time.Time, kind timerKind, key string) {
	heap.Push(&e.timers, timer{at: at, kind: kind, key: key})
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

type timerKind int

const (
	timerDeadline timerKind = iota
	timerPending
	timerStorm  // a storm's window closes (key: the incident)
	timerCounty // a county outage's settle time after its first device came back (key: the incident)
)

type timer struct {
	at   time.Time
	kind timerKind
	key  string
}

type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func containsStr(s []string, v string) bool { return slices.Contains(s, v) }
