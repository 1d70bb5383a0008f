// Package alerts turns device events into incidents and carries each one
// through the county's six steps (制单 open, 派单 dispatch, 接单 accept,
// 做单 resolve, 评单 evaluate, 考单 review) with a deadline for every step,
// escalation up the administrative tree when a step is overdue, and a
// durable record of who did what.
package alerts

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/configs"
	"snowhub/internal/event"
)

// Incident states.
const (
	StateOpened     = "opened"
	StateDispatched = "dispatched"
	StateAccepted   = "accepted"
	StateResolved   = "resolved"
	StateEvaluated  = "evaluated"
	StateReviewed   = "reviewed"
	StateHeld       = "held"
)

// Levels of the administrative tree an incident can sit at.
const (
	LevelCounty   = "county"
	LevelTownship = "township"
)

const system = "system"

// Options configure the engine.
type Options struct {
	Config   *configs.Config
	DataDir  string
	Emit     event.Sink
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
}

// record is an incident with what the engine needs besides its public view.
type record struct {
	event.Incident
	Fingerprint string        `json:"fingerprint"`
	Remaining   time.Duration `json:"remaining,omitempty"` // of the deadline, while held
	Flaps       []time.Time   `json:"flaps,omitempty"`
	Escalations int           `json:"escalations,omitempty"`
}

func (r *record) open() bool { return r.State != StateReviewed }

// device is what the engine knows of a configured device.
type device struct {
	id, name, kind, village, township string
	camera, key                       bool
}

// pending is a condition that must hold for a while before it fires.
type pending struct {
	rule   *rule
	dev    device
	since  time.Time
	due    time.Time
	value  float64
	active bool
}

type timerKind int

const (
	timerDeadline timerKind = iota
	timerPending
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

// Engine is the rule engine and incident store.
type Engine struct {
	o     Options
	log   *slog.Logger
	now   func() time.Time
	store *store

	mu         sync.Mutex
	cfg        *configs.Config
	rules      []*rule
	devices    map[string]device
	villageCam map[string]int     // cameras per village
	villages   map[string]string  // village id → name
	townships  map[string]string  // township id → name
	incidents  map[string]*record // by id
	byFP       map[string]*record // open incidents by fingerprint
	pendings   map[string]*pending
	offlineAt  map[string]time.Time // device → when it went offline (for grouping)
	rates      map[string][]time.Time
	maint      map[string]event.Maintenance
	timers     timerHeap
	seq        int

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	m metrics
}

type metrics struct {
	events    prometheus.Counter
	incidents *prometheus.CounterVec
	steps     *prometheus.CounterVec
	open      prometheus.GaugeFunc
}

// New opens the store and loads open incidents, their deadlines and the
// maintenance windows.
func New(o Options) (*Engine, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	st, err := openStore(o.DataDir)
	if err != nil {
		return nil, err
	}
	e := &Engine{o: o, log: o.Logger, now: o.Now, store: st, incidents: map[string]*record{}, byFP: map[string]*record{},
		pendings: map[string]*pending{}, offlineAt: map[string]time.Time{}, rates: map[string][]time.Time{},
		maint: map[string]event.Maintenance{}, wake: make(chan struct{}, 1)}
	recs, seq, maint, err := st.load()
	if err != nil {
		st.close()
		return nil, err
	}
	e.seq = seq
	for _, r := range recs {
		e.incidents[r.ID] = r
		if r.open() {
			e.byFP[r.Fingerprint] = r
			if !r.Deadline.IsZero() && !r.Overdue {
				heap.Push(&e.timers, timer{at: r.Deadline, kind: timerDeadline, key: r.ID})
			}
		}
	}
	for _, m := range maint {
		e.maint[m.ID] = m
	}
	e.m = metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_alerts_events_total", Help: "Device events evaluated by the rules."}),
		incidents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_incidents_opened_total",
			Help: "Incidents opened, by severity."}, []string{"severity"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_incident_steps_total",
			Help: "Incident steps, by action."}, []string{"action"}),
		open: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "snowhub_incidents_open", Help: "Incidents not yet reviewed."},
			func() float64 { e.mu.Lock(); defer e.mu.Unlock(); return float64(len(e.byFP)) }),
	}
	if o.Registry != nil {
		for _, c := range []prometheus.Collector{e.m.events, e.m.incidents, e.m.steps, e.m.open} {
			if err := o.Registry.Register(c); err != nil {
				st.close()
				return nil, err
			}
		}
	}
	e.Update(o.Config)
	return e, nil
}

// Update applies a new configuration: devices, rules, jurisdiction.
func (e *Engine) Update(cfg *configs.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = cfg
	e.rules = compileRules(cfg)
	e.devices = map[string]device{}
	e.villageCam = map[string]int{}
	e.villages = map[string]string{}
	e.townships = map[string]string{}
	vt := map[string]string{}
	for _, t := range cfg.Townships {
		e.townships[t.ID] = t.Name
		for _, v := range t.Villages {
			vt[v.ID] = t.ID
			e.villages[v.ID] = v.Name
		}
	}
	for _, c := range cfg.Cameras {
		e.devices[c.ID] = device{id: c.ID, name: c.Name, kind: "camera", village: c.Village, township: vt[c.Village], camera: true, key: c.Key}
		e.villageCam[c.Village]++
	}
	for _, s := range cfg.Sensors {
		e.devices[s.ID] = device{id: s.ID, name: s.Name, kind: s.Kind, village: s.Village, township: vt[s.Village]}
	}
}

// Start runs the timer goroutine: deadlines and "for" conditions fire at
// their time, not at the next event.
func (e *Engine) Start(ctx context.Context) {
	ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	e.done = make(chan struct{})
	go func() {
		defer close(e.done)
		for {
			e.mu.Lock()
			wait := time.Hour
			if len(e.timers) > 0 {
				wait = max(e.timers[0].at.Sub(e.now()), 0)
			}
			e.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-e.wake:
				t.Stop()
			case <-t.C:
			}
			e.Tick(ctx, e.now())
		}
	}()
}

// Close stops the timers and closes the store.
func (e *Engine) Close() error {
	if e.cancel != nil {
		e.cancel()
		<-e.done
	}
	return e.store.close()
}

func (e *Engine) addTimer(at time.Time, kind timerKind, key string) {
	heap.Push(&e.timers, timer{at: at, kind: kind, key: key})
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// changes collects what a locked section did, to store and emit after.
type changes struct {
	recs []*record
}

func (c *changes) add(r *record) {
	for _, x := range c.recs {
		if x == r {
			return
		}
	}
	c.recs = append(c.recs, r)
}

// commit writes changed incidents to the store (before anyone is told) and
// returns their views for Emit. Called with e.mu held.
func (e *Engine) commit(c *changes) ([]event.Incident, error) {
	if len(c.recs) == 0 {
		return nil, nil
	}
	if err := e.store.save(c.recs, e.seq); err != nil {
		return nil, fmt.Errorf("incident store: %w", err)
	}
	out := make([]event.Incident, len(c.recs))
	for i, r := range c.recs {
		out[i] = e.view(r)
	}
	return out, nil
}

func (e *Engine) emit(ctx context.Context, incs []event.Incident) {
	if e.o.Emit == nil {
		return
	}
	for _, inc := range incs {
		_ = e.o.Emit.Handle(ctx, event.Event{Type: event.IncidentStep, Time: e.now(), Township: inc.Township,
			Village: inc.Village, Device: inc.Device, Data: inc})
	}
}

// view is a copy safe to hand out.
func (e *Engine) view(r *record) event.Incident {
	v := r.Incident
	v.History = append([]event.Step(nil), r.History...)
	v.Devices = append([]string(nil), r.Devices...)
	v.Cameras = append([]string(nil), r.Cameras...)
	return v
}

// Tick fires every timer due at now. The timer goroutine calls it; tests
// call it with their own clock.
func (e *Engine) Tick(ctx context.Context, now time.Time) {
	e.mu.Lock()
	var c changes
	for len(e.timers) > 0 && !e.timers[0].at.After(now) {
		t := heap.Pop(&e.timers).(timer)
		switch t.kind {
		case timerDeadline:
			if r := e.incidents[t.key]; r != nil && r.open() && !r.Deadline.IsZero() && !r.Deadline.After(now) && !r.Overdue {
				e.overdue(r, now, &c)
			}
		case timerPending:
			if p := e.pendings[t.key]; p != nil && p.active && !p.due.After(now) {
				p.active = false
				e.fire(p.rule, p.dev, p.value, p.due, &c)
			}
		}
	}
	incs, err := e.commit(&c)
	e.mu.Unlock()
	if err != nil {
		e.log.Error("incident change not stored", "err", err)
		return
	}
	e.emit(ctx, incs)
}

// overdue escalates an incident whose current step missed its deadline one
// level up: township → county.
func (e *Engine) overdue(r *record, now time.Time, c *changes) {
	r.Overdue = true
	step := event.Step{At: now, Action: "overdue", By: system, Level: r.Level, From: r.State, To: r.State,
		Note: fmt.Sprintf("deadline %s passed", r.Deadline.Local().Format("01-02 15:04:05"))}
	if r.Level == LevelTownship {
		r.Level, r.Escalated = LevelCounty, true
		r.Escalations++
		step.Action, step.Level, step.Owner = "escalate", LevelCounty, r.Owner
		step.Note += ": escalated to the county"
	}
	r.History = append(r.History, step)
	e.m.steps.WithLabelValues(step.Action).Inc()
	c.add(r)
}

// Handle evaluates one device event against the rules. It returns after
// any incident change is committed to the store.
func (e *Engine) Handle(ctx context.Context, ev event.Event) error {
	e.m.events.Inc()
	e.mu.Lock()
	var c changes
	switch d := ev.Data.(type) {
	case event.SensorReadingData:
		if dev, ok := e.devices[d.Sensor]; ok {
			e.reading(dev, d.Value, ev.Time, &c)
		}
	case event.SensorStatus:
		if dev, ok := e.devices[d.ID]; ok {
			e.state(dev, d.State, ev.Time, &c)
		}
	case event.CameraStatus:
		if dev, ok := e.devices[d.ID]; ok && ev.Type == event.CameraState {
			e.state(dev, d.State, ev.Time, &c)
		}
	case event.CameraAnalytics:
		if dev, ok := e.devices[d.Camera]; ok {
			for _, r := range e.rules {
				if r.Type == "camera_event" && r.Event == d.Kind && r.applies("camera", dev.id) && r.inWindow(ev.Time) {
					e.fire(r, dev, 1, ev.Time, &c)
				}
			}
		}
	}
	incs, err := e.commit(&c)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	e.emit(ctx, incs)
	return nil
}

func fpKey(r *rule, dev string) string { return dev + "|" + r.Name }

// reading evaluates alarm, threshold and rate rules.
func (e *Engine) reading(dev device, v float64, at time.Time, c *changes) {
	for _, r := range e.rules {
		if !r.applies(dev.kind, dev.id) {
			continue
		}
		key := fpKey(r, dev.id)
		switch r.Type {
		case "alarm":
			if v >= 1 {
				e.fire(r, dev, v, at, c)
			} else {
				e.clear(key, at, c)
			}
		case "threshold":
			if !r.violates(v) {
				delete(e.pendings, key)
				e.clear(key, at, c)
				continue
			}
			if r.For <= 0 {
				e.fire(r, dev, v, at, c)
				continue
			}
			p := e.pendings[key]
			if p == nil {
				p = &pending{rule: r, dev: dev, since: at, due: at.Add(r.For), active: true}
				e.pendings[key] = p
				e.addTimer(p.due, timerPending, key)
			}
			p.value = v
			if p.active && !at.Before(p.due) {
				p.active = false
				e.fire(r, dev, v, at, c)
			}
		case "rate":
			if v < 1 {
				continue
			}
			ts := append(e.rates[key], at)
			cut := 0
			for cut < len(ts) && at.Sub(ts[cut]) > r.Within {
				cut++
			}
			ts = ts[cut:]
			e.rates[key] = ts
			if len(ts) >= r.Count {
				e.fire(r, dev, float64(len(ts)), at, c)
			}
		}
	}
}

// state evaluates offline and degraded rules and village grouping.
func (e *Engine) state(dev device, st string, at time.Time, c *changes) {
	if st == event.StateOffline {
		if _, ok := e.offlineAt[dev.id]; !ok {
			e.offlineAt[dev.id] = at
		}
		if e.group(dev, at, c) {
			return
		}
	} else if st != event.StateUnknown {
		delete(e.offlineAt, dev.id)
		e.ungroup(dev, at, c)
	}
	for _, r := range e.rules {
		if (r.Type != "offline" && r.Type != "degraded") || !r.applies(dev.kind, dev.id) {
			continue
		}
		key := fpKey(r, dev.id)
		want := map[string]string{"offline": event.StateOffline, "degraded": event.StateDegraded}[r.Type]
		if st != want {
			if p := e.pendings[key]; p != nil {
				p.active = false
				delete(e.pendings, key)
			}
			if st == event.StateOnline || (r.Type == "degraded" && st != event.StateDegraded) {
				e.clear(key, at, c)
			}
			continue
		}
		limit := r.For
		if dev.camera && r.Name == "camera-offline" && dev.key {
			limit = time.Minute // a key crossing is raised sooner
		}
		if e.pendings[key] == nil {
			p := &pending{rule: r, dev: dev, since: at, due: at.Add(limit), active: true}
			e.pendings[key] = p
			e.addTimer(p.due, timerPending, key)
		}
	}
}

// group folds offline devices of one village into one "village outage"
// incident when enough of them went down within the group window. It
// reports whether dev is now part of such an incident.
func (e *Engine) group(dev device, at time.Time, c *changes) bool {
	fp := "village|" + dev.village
	if r := e.byFP[fp]; r != nil {
		if !containsStr(r.Devices, dev.id) {
			r.Devices = append(r.Devices, dev.id)
			if dev.camera {
				r.Cameras = append(r.Cameras, dev.id)
			}
			r.Count++
			r.LastSeen = at
			r.Cleared = false
			e.dropPending(dev.id)
			c.add(r)
		}
		return true
	}
	cfg := e.cfg.Alerts
	var down []device
	cams := 0
	for id, t := range e.offlineAt {
		d := e.devices[id]
		if d.village == dev.village && at.Sub(t) <= cfg.GroupWindow && !e.inMaintenance(d, at) {
			down = append(down, d)
			if d.camera {
				cams++
			}
		}
	}
	half := cams >= 2 && cams*2 >= e.villageCam[dev.village]
	if len(down) < cfg.GroupMin && !half {
		return false
	}
	sort.Slice(down, func(i, j int) bool { return down[i].id < down[j].id })
	r := &rule{Rule: configs.Rule{Name: "village-outage", Type: "village_outage", Severity: "major"}}
	rec := e.newIncident(r, device{id: "", village: dev.village, township: dev.township}, at, 0)
	rec.Fingerprint = fp
	rec.Kind = "village_outage"
	rec.Title = fmt.Sprintf("%s %d 个设备离线", e.villages[dev.village], len(down))
	for _, d := range down {
		rec.Devices = append(rec.Devices, d.id)
		if d.camera {
			rec.Cameras = append(rec.Cameras, d.id)
		}
		e.dropPending(d.id)
	}
	rec.Count = len(down)
	e.byFP[fp] = rec
	e.opened(rec, at, c)
	return true
}

// ungroup marks a village outage cleared when every device in it is back.
func (e *Engine) ungroup(dev device, at time.Time, c *changes) {
	r := e.byFP["village|"+dev.village]
	if r == nil || !containsStr(r.Devices, dev.id) {
		return
	}
	for _, id := range r.Devices {
		if _, down := e.offlineAt[id]; down {
			return
		}
	}
	e.markCleared(r, at, c)
}

func (e *Engine) dropPending(devID string) {
	for _, r := range e.rules {
		if r.Type == "offline" {
			if p := e.pendings[fpKey(r, devID)]; p != nil {
				p.active = false
				delete(e.pendings, fpKey(r, devID))
			}
		}
	}
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// fire raises or updates the incident of (device, rule).
func (e *Engine) fire(r *rule, dev device, v float64, at time.Time, c *changes) {
	if e.inMaintenance(dev, at) {
		return
	}
	fp := fpKey(r, dev.id)
	if rec := e.byFP[fp]; rec != nil && (rec.State == StateResolved || rec.State == StateEvaluated) {
		delete(e.byFP, fp) // a person closed the matter: a new alarm is a new incident
	}
	if rec := e.byFP[fp]; rec != nil {
		rec.Count++
		rec.LastSeen = at
		if rec.Cleared {
			rec.Cleared = false
			rec.Flaps = append(rec.Flaps, at)
			cut := 0
			for cut < len(rec.Flaps) && at.Sub(rec.Flaps[cut]) > e.cfg.Alerts.FlapWindow {
				cut++
			}
			rec.Flaps = rec.Flaps[cut:]
			if len(rec.Flaps) > e.cfg.Alerts.FlapCount && !rec.Flapping {
				rec.Flapping = true
				rec.History = append(rec.History, event.Step{At: at, Action: "flapping", By: system,
					Note: fmt.Sprintf("alarm came back %d times within %s", len(rec.Flaps), e.cfg.Alerts.FlapWindow)})
			}
		}
		c.add(rec)
		return
	}
	rec := e.newIncident(r, dev, at, v)
	rec.Fingerprint = fp
	e.byFP[fp] = rec
	e.opened(rec, at, c)
}

func (e *Engine) newIncident(r *rule, dev device, at time.Time, v float64) *record {
	e.seq++
	id := fmt.Sprintf("INC-%s-%04d", at.Local().Format("20060102"), e.seq)
	var value any = v
	if v == math.Trunc(v) {
		value = strconv.FormatFloat(v, 'f', -1, 64)
	}
	kind := dev.kind
	if r.Type == "offline" || r.Type == "degraded" {
		kind = r.Type
	} else if r.Type == "camera_event" {
		kind = r.Event
	}
	rec := &record{Incident: event.Incident{ID: id, State: StateOpened, Severity: r.Severity, Kind: kind, Rule: r.Name,
		Township: dev.township, Village: dev.village, Device: dev.id, OpenedAt: at, Owner: LevelCounty, Level: LevelCounty,
		Count: 1, LastSeen: at}}
	if r.Name == "camera-offline" && dev.key && r.Severity == "minor" {
		rec.Severity = "major" // a key crossing matters more
	}
	if r.title != nil {
		rec.Title = r.render(titleData{Device: dev.id, DeviceName: dev.name, Village: e.villages[dev.village],
			Township: e.townships[dev.township], Kind: dev.kind, Rule: r.Name, Event: r.Event, Value: value})
	}
	if dev.camera {
		rec.Cameras = []string{dev.id}
	} else if dev.id != "" {
		for _, s := range e.cfg.Sensors {
			if s.ID == dev.id && s.Camera != "" {
				rec.Cameras = []string{s.Camera}
			}
		}
	}
	e.m.incidents.WithLabelValues(rec.Severity).Inc()
	return rec
}

// opened records the create step and dispatches to the township desk at
// once, unless the severity waits for the county.
func (e *Engine) opened(r *record, at time.Time, c *changes) {
	e.incidents[r.ID] = r
	e.setDeadline(r, at)
	r.History = append(r.History, event.Step{At: at, Action: "open", By: system, Level: LevelCounty, To: StateOpened,
		Owner: r.Owner, Deadline: r.Deadline})
	e.m.steps.WithLabelValues("open").Inc()
	if !containsStr(e.cfg.Alerts.HoldForCounty, r.Severity) && r.Township != "" {
		e.transition(r, "dispatch", StateDispatched, at, event.Step{By: system, Level: LevelCounty, Note: "automatic dispatch to the township desk"})
		r.Owner, r.Level = r.Township, LevelTownship
		r.History[len(r.History)-1].Owner = r.Owner
	}
	c.add(r)
}

// clear marks the open incident of a fingerprint as cleared by itself.
func (e *Engine) clear(fp string, at time.Time, c *changes) {
	if r := e.byFP[fp]; r != nil && !r.Cleared {
		e.markCleared(r, at, c)
	}
}

func (e *Engine) markCleared(r *record, at time.Time, c *changes) {
	if r.Cleared {
		return
	}
	r.Cleared = true
	r.History = append(r.History, event.Step{At: at, Action: "clear", By: system, Note: "the alarm cleared by itself; a person still resolves it"})
	r.Flaps = append(r.Flaps, at)
	c.add(r)
}

// deadlineFor is the limit of the step that follows state.
func (e *Engine) deadlineFor(sev, state string) time.Duration {
	d, ok := e.cfg.Alerts.Deadlines[sev]
	if !ok {
		d = configs.DefaultDeadlines()[sev]
	}
	switch state {
	case StateOpened:
		return d.Dispatch
	case StateDispatched:
		return d.Accept
	case StateAccepted:
		return d.Resolve
	case StateResolved:
		return d.Evaluate
	case StateEvaluated:
		return d.Review
	}
	return 0
}

func (e *Engine) setDeadline(r *record, at time.Time) {
	r.Overdue = false
	lim := e.deadlineFor(r.Severity, r.State)
	if lim <= 0 {
		r.Deadline = time.Time{}
		return
	}
	r.Deadline = at.Add(lim)
	e.addTimer(r.Deadline, timerDeadline, r.ID)
}

// transition moves r to a new state with a recorded step.
func (e *Engine) transition(r *record, action, to string, at time.Time, s event.Step) {
	s.At, s.Action, s.From, s.To = at, action, r.State, to
	r.State = to
	if to == StateHeld {
		r.Deadline = time.Time{}
	} else {
		e.setDeadline(r, at)
	}
	s.Deadline = r.Deadline
	if s.Owner == "" {
		s.Owner = r.Owner
	}
	r.History = append(r.History, s)
	e.m.steps.WithLabelValues(action).Inc()
	if to == StateReviewed {
		delete(e.byFP, r.Fingerprint)
	}
}
