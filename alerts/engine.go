// Package alerts turns device events into incidents and carries each one
// through the county's closed loop (闭环): 制单 open, 派单 dispatch, 接单
// accept, 派人 assign, 做单 resolve, 评单 evaluate, 考单 review. Every step
// has an owner and a deadline; a late step is supervised (督办), not taken
// away; every committed step goes to an ordered outbox in the same
// transaction, which the walls and the notifiers read by cursor.
//
// The package is split by concern: rules and their evaluation (rules.go,
// evaluate.go), incidents and the transition table (incident.go,
// transitions.go, act.go), deadlines and the calendar (deadlines.go,
// calendar.go), the store and the outbox (store.go, recover.go, outbox.go),
// figures (stats.go) and maintenance windows (maintenance.go).
package alerts

import (
	"container/heap"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/configs"
	"snowhub/internal/auth"
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
	LevelCounty   = auth.County
	LevelTownship = "township"
)

const system = "system"

// Options configure the engine.
type Options struct {
	Config   *configs.Config
	DataDir  string
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
	// Transitions is the closed loop's table (nil: Transitions). Tests
	// change a rule here and see every answer and page follow.
	Transitions []Transition
}

// Engine is the rule engine and incident store.
type Engine struct {
	o     Options
	log   *slog.Logger
	now   func() time.Time
	store *store
	box   *Outbox
	table []Transition
	// selfEvaluation is cfg.Alerts.SelfEvaluation, read without mu by
	// Actions (the pages' fan-out asks it for every client).
	selfEvaluation atomic.Bool
	// zone is the calendar's time zone, read without mu as selfEvaluation.
	zone atomic.Pointer[time.Location]

	auditKeep *auditKeep // the trail's age and size, looked at hourly by the timer loop (auditkeep.go)

	mu        sync.Mutex
	cfg       *configs.Config
	top       *configs.Topology
	cal       *Calendar
	rules     []*rule
	incidents map[string]*record  // in memory: open, and reviewed within keep_in_memory
	archived  map[string]archived // reviewed and left memory: the store has them
	lastEvict time.Time
	byFP      map[string]*record // open incidents by fingerprint
	pendings  map[string]*pending
	offlineAt map[string]time.Time // device → when it went offline (for grouping)
	stormOf   map[string]string    // device|rule → the open storm incident the device is in
	ups       []upstream           // what several devices reach the hub through (county.go)
	upOf      map[string][]int     // device → its upstreams in ups
	countyFPs []string             // fingerprints of county outages (some may be closed)
	settling  map[string]bool      // county outage → its settle timer is set
	rates     map[string][]time.Time
	maint     map[string]event.Maintenance
	timers    timerHeap
	figs      figIndex // every incident's figures, by opening time
	seq       int

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
	byTown    *townshipCollector
	commitErr prometheus.Counter
}

// New opens the store (recovering what it can of a damaged one) and loads
// incidents, their deadlines and the maintenance windows.
func New(o Options) (*Engine, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	st, err := openStore(o.DataDir, o.Logger)
	if err != nil {
		return nil, err
	}
	e := &Engine{o: o, log: o.Logger, now: o.Now, store: st, incidents: map[string]*record{}, byFP: map[string]*record{},
		pendings: map[string]*pending{}, offlineAt: map[string]time.Time{}, stormOf: map[string]string{}, settling: map[string]bool{}, rates: map[string][]time.Time{},
		maint: map[string]event.Maintenance{}, archived: map[string]archived{}, wake: make(chan struct{}, 1)}
	e.box = &Outbox{s: st, notify: make(chan struct{})}
	e.auditKeep = newAuditKeep(o.Registry)
	e.table = o.Transitions
	if e.table == nil {
		e.table = Transitions
	}
	loaded, err := st.load()
	if err != nil {
		st.close()
		return nil, err
	}
	e.seq = loaded.seq
	e.cfg = o.Config
	e.applyConfig(o.Config)
	keep := e.keepBefore(e.now())
	for _, r := range loaded.recs {
		upgrade(r, e)
		e.extendOptions(r)
		if r.State == StateReviewed && !r.ReviewedAt.IsZero() && r.ReviewedAt.Before(keep) {
			e.archived[r.ID] = archiveOf(r)
			continue
		}
		r.statRow()
		e.incidents[r.ID] = r
		if r.open() {
			if r.Fingerprint != "" {
				e.byFP[r.Fingerprint] = r
				if strings.HasPrefix(r.Fingerprint, countyPrefix) {
					e.countyFPs = append(e.countyFPs, r.Fingerprint)
				}
			}
			if at, ok := e.nextTimer(r); ok {
				heap.Push(&e.timers, timer{at: at, kind: timerDeadline, key: r.ID})
			}
			e.indexStorm(r)
			if strings.HasPrefix(r.Fingerprint, "storm|") && !slices.ContainsFunc(r.History, func(s event.Step) bool { return s.Action == "storm" }) {
				// A storm whose window was open when the hub stopped.
				heap.Push(&e.timers, timer{at: r.OpenedAt.Add(e.cfg.Alerts.Storm.Window), kind: timerStorm, key: r.ID})
			}
		}
	}
	figs := make([]figRow, 0, len(e.incidents)+len(e.archived))
	for _, r := range e.incidents {
		figs = append(figs, figOf(r))
	}
	for _, a := range e.archived {
		figs = append(figs, figOfArchived(a))
	}
	e.figs.build(figs)
	for _, m := range loaded.maint {
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
		byTown: &townshipCollector{e: e, desc: prometheus.NewDesc("snowhub_incidents_by_township",
			"Incidents in memory by origin township and stage: open (being handled), supervised (a step late now), closed (resolved or later).",
			[]string{"township", "stage"}, nil)},
		commitErr: prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_incident_commit_errors_total",
			Help: "Incident changes the store refused; nothing of them was applied."}),
	}
	if o.Registry != nil {
		for _, c := range []prometheus.Collector{e.m.events, e.m.incidents, e.m.steps, e.m.open, e.m.byTown, e.m.commitErr} {
			if err := o.Registry.Register(c); err != nil {
				st.close()
				return nil, err
			}
		}
	}
	return e, nil
}

// Update applies a new configuration: devices, rules, jurisdiction, limits.
func (e *Engine) Update(cfg *configs.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.applyConfig(cfg)
}

func (e *Engine) applyConfig(cfg *configs.Config) {
	e.cfg = cfg
	e.selfEvaluation.Store(cfg.Alerts.SelfEvaluation)
	e.top = configs.NewTopology(cfg)
	e.cal = NewCalendar(cfg.Alerts.Calendar)
	e.zone.Store(e.cal.loc)
	for _, r := range e.incidents {
		e.extendOptions(r) // the calendar or a class may have changed
	}
	e.rules = compileRules(cfg)
	e.ups, e.upOf = buildUpstreams(cfg)
}

// Outbox is the ordered record of committed steps.
func (e *Engine) Outbox() *Outbox { return e.box }

// Start runs the timer goroutine: deadlines and "for" conditions fire at
// their time, not at the next event. The committed steps leave through the
// outbox, read by each consumer's Relay (the hub builds them).
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
			e.keepAudit(e.now())
		}
	}()
}

// Close stops the timers and closes the store.
func (e *Engine) Close() error {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
	return e.store.close()
}

// townshipCollector counts incidents by township when /metrics is
// scraped, not at every commit.
type townshipCollector struct {
	e    *Engine
	desc *prometheus.Desc
}

func (c *townshipCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *townshipCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.e
	e.mu.Lock()
	counts := map[[2]string]float64{}
	for _, r := range e.incidents {
		stage := "closed"
		if r.handling() {
			stage = "open"
		}
		counts[[2]string{r.Township, stage}]++
		if r.SupervisionTier > 0 && r.open() {
			counts[[2]string{r.Township, "supervised"}]++
		}
	}
	towns := make([]string, 0, len(e.top.TownshipName))
	for tw := range e.top.TownshipName {
		towns = append(towns, tw)
	}
	e.mu.Unlock()
	for _, tw := range towns {
		for _, st := range []string{"open", "supervised", "closed"} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, counts[[2]string{tw, st}], tw, st)
		}
	}
}
