// Package notify tells the people who must act: every committed incident
// step, read by cursor from the incident outbox, is routed (by township,
// village, severity, step, source, time of day) to channels — WeCom and
// DingTalk group robots, SMS through Alibaba Cloud, Tencent Cloud or a plain
// gateway, signed webhooks, MQTT out — through one persisted queue per
// channel. A channel never sends faster than its robot accepts: what a burst
// leaves pending is merged into a digest that fits the robot's size cap.
// Nothing is dropped for a vendor's refusal: rate limits wait for the
// window's end, a failing channel (bad secret) keeps its queue until a
// reload fixes it, and an SMS number over its budget falls to the route's
// next channel.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/configs"
)

// Options configure a Notifier.
type Options struct {
	Config  configs.NotifyConfig
	DataDir string // notify.db lives here
	Source  Source
	Names   Names                          // township and village names
	People  func(id string) (Person, bool) // the roster: a route's people
	// Working says whether t falls on a working day (alerts.calendar), for
	// routes with days: workdays | offdays; default Monday to Friday.
	Working func(t time.Time) bool
	MQTT    MQTTOptions
	Logger  *slog.Logger
	// Registry, when set, gets the notify metrics.
	Registry prometheus.Registerer
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// HTTP is the client for vendors; default one with the channel's timeout.
	HTTP *http.Client
	// DingTalkBlock is how long DingTalk blocks a robot that went over its
	// rate (10 minutes); tests shorten it.
	DingTalkBlock time.Duration
	// BackoffMin and BackoffMax bound the retry of a transient or auth
	// failure (1s and 5m).
	BackoffMin, BackoffMax time.Duration
	// Batch is how many steps are read from the outbox at once (500).
	Batch int
}

// Notifier routes steps into channel queues and delivers them.
type Notifier struct {
	o     Options
	log   *slog.Logger
	store *store
	now   func() time.Time

	mu      sync.Mutex
	cfg     configs.NotifyConfig
	routes  []route
	render  *renderer
	workers map[string]*worker
	wctx    context.Context
	wcancel context.CancelFunc
	wwg     sync.WaitGroup

	routerWake chan struct{}
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	closed     atomic.Bool
	said       bool

	m metrics
}

type metrics struct {
	sent    *prometheus.CounterVec
	failed  *prometheus.CounterVec
	queued  *prometheus.GaugeVec
	failing *prometheus.GaugeVec
	digests *prometheus.CounterVec
}

// New opens the store and builds the channels; Start starts delivery.
func New(o Options) (*Notifier, error) {
	if o.Source == nil {
		return nil, errors.New("notify: no step source")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DingTalkBlock == 0 {
		o.DingTalkBlock = 10 * time.Minute
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 5 * time.Minute
	}
	if o.Batch == 0 {
		o.Batch = 500
	}
	if o.Config.Poll == 0 {
		o.Config.Poll = time.Second
	}
	st, err := openStore(filepath.Join(o.DataDir, "notify.db"))
	if err != nil {
		return nil, fmt.Errorf("notify store: %w", err)
	}
	n := &Notifier{o: o, log: o.Logger, store: st, now: o.Now, routerWake: make(chan struct{}, 1)}
	n.m = metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_notify_sent_total",
			Help: "Messages a vendor accepted, by channel."}, []string{"channel"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_notify_errors_total",
			Help: "Vendor refusals and failures, by channel and class."}, []string{"channel", "class"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "snowhub_notify_queued",
			Help: "Notices waiting in a channel's queue."}, []string{"channel"}),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "snowhub_notify_channel_failing",
			Help: "1 while a channel's vendor refuses its credentials (secret, key, keyword)."}, []string{"channel"}),
		digests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_notify_digests_total",
			Help: "Digest messages sent instead of single notices, by channel."}, []string{"channel"}),
	}
	if o.Registry != nil {
		for _, c := range []prometheus.Collector{n.m.sent, n.m.failed, n.m.queued, n.m.failing, n.m.digests} {
			if err := o.Registry.Register(c); err != nil {
				st.close()
				return nil, fmt.Errorf("notify metrics: %w", err)
			}
		}
	}
	if err := n.configure(o.Config); err != nil {
		st.close()
		return nil, err
	}
	return n, nil
}

// configure builds routes, renderer and (stopped) workers for cfg.
func (n *Notifier) configure(cfg configs.NotifyConfig) error {
	r, err := newRenderer(cfg, n.o.Names)
	if err != nil {
		return err
	}
	r.now = n.now
	workers := map[string]*worker{}
	for _, ch := range cfg.Channels {
		w, err := n.newWorker(ch, r)
		if err != nil {
			for _, w := range workers {
				w.stop()
			}
			return fmt.Errorf("notify channel %s: %w", ch.ID, err)
		}
		workers[ch.ID] = w
	}
	// Every channel's series exist from the start, at 0.
	for _, ch := range cfg.Channels {
		n.m.sent.WithLabelValues(ch.ID)
		n.m.digests.WithLabelValues(ch.ID)
		n.m.queued.WithLabelValues(ch.ID)
		n.m.failing.WithLabelValues(ch.ID)
		for c := ClassTransient; c <= ClassRejected; c++ {
			n.m.failed.WithLabelValues(ch.ID, c.String())
		}
	}
	n.mu.Lock()
	old := n.workers
	n.cfg, n.routes, n.render, n.workers = cfg, newRoutes(cfg.Routes, cfg.Channels), r, workers
	n.mu.Unlock()
	for _, w := range old {
		w.stop()
	}
	return nil
}

// Start starts the router and one delivery goroutine per channel.
func (n *Notifier) Start(ctx context.Context) error {
	n.ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	n.mu.Lock()
	if len(n.routes) == 0 && !n.said {
		n.log.Info("通知未配置路由：不发送任何通知 (notify: no routes configured, nothing is sent)")
		n.said = true
	}
	n.startWorkersLocked()
	n.mu.Unlock()
	n.wg.Add(1)
	go n.runRouter()
	return nil
}

func (n *Notifier) startWorkersLocked() {
	n.wctx, n.wcancel = context.WithCancel(n.ctx)
	for _, w := range n.workers {
		n.wwg.Add(1)
		go func(w *worker) {
			defer n.wwg.Done()
			w.run(n.wctx)
		}(w)
	}
}

// Update puts a new notify configuration in force: routes at once; channels
// are rebuilt and restarted (their queues are on disk, so nothing queued is
// lost, and a channel that was failing tries again at once).
func (n *Notifier) Update(cfg configs.NotifyConfig) error {
	if n.closed.Load() {
		return errors.New("notify: closed")
	}
	n.mu.Lock()
	running := n.wcancel != nil
	if running {
		n.wcancel()
	}
	n.mu.Unlock()
	if running {
		n.wwg.Wait()
	}
	if cfg.Poll == 0 {
		cfg.Poll = n.o.Config.Poll
	}
	err := n.configure(cfg)
	n.mu.Lock()
	if running {
		n.startWorkersLocked()
	}
	n.mu.Unlock()
	n.kick()
	return err
}

// Close stops delivery and the router and closes the store. A notice being
// sent when Close comes stays queued and is sent again after a restart,
// with the same step id.
func (n *Notifier) Close() error {
	if n.closed.Swap(true) {
		return nil
	}
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	n.wwg.Wait()
	n.mu.Lock()
	for _, w := range n.workers {
		w.stop()
	}
	n.mu.Unlock()
	return n.store.close()
}

func (n *Notifier) kick() {
	select {
	case n.routerWake <- struct{}{}:
	default:
	}
}

// runRouter reads the outbox from the cursor and routes each step into the
// channel queues, one transaction per batch; it also fires due reminders.
func (n *Notifier) runRouter() {
	defer n.wg.Done()
	cursor, err := n.store.cursor()
	if err != nil {
		n.log.Error("notify cursor unreadable", "err", err)
	}
	poll := time.NewTimer(0)
	defer poll.Stop()
	var nextRepeat time.Time
	// The wake-up is taken before reading, so a commit between the last
	// read and the wait is not missed.
	wake := n.o.Source.Wake()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-wake:
		case <-n.routerWake:
		case <-poll.C:
		}
		wake = n.o.Source.Wake()
		for n.ctx.Err() == nil {
			steps, err := n.o.Source.After(n.ctx, cursor, n.o.Batch)
			if err != nil {
				if n.ctx.Err() == nil {
					n.log.Warn("outbox read failed", "err", err)
				}
				break
			}
			if len(steps) == 0 {
				break
			}
			r := n.route(steps)
			if err := n.store.commit(r); err != nil {
				n.log.Error("notices not queued; retrying", "err", err)
				break
			}
			cursor = r.cursor
			if a, ok := n.o.Source.(Acker); ok {
				if err := a.Ack(cursor); err != nil {
					n.log.Warn("outbox cursor not saved (the outbox keeps more)", "err", err)
				}
			}
			n.wakeChannels(r.notices)
			if len(r.repeats) > 0 && (nextRepeat.IsZero() || r.repeats[0].Next.Before(nextRepeat)) {
				nextRepeat = r.repeats[0].Next
			}
		}
		now := n.now()
		if !nextRepeat.IsZero() && !now.Before(nextRepeat) || nextRepeat.IsZero() {
			fired, next, err := n.store.fireRepeats(now)
			if err != nil {
				n.log.Warn("reminders not queued", "err", err)
			} else if fired > 0 {
				n.wakeAll()
			}
			nextRepeat = next
		}
		wait := n.o.Config.Poll
		if !nextRepeat.IsZero() {
			if d := nextRepeat.Sub(n.now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		poll.Reset(wait)
	}
}

// route turns steps into notices (one per matching route, on its chain's
// first channel) and reminders.
func (n *Notifier) route(steps []Step) *routed {
	n.mu.Lock()
	routes, rend := n.routes, n.render
	n.mu.Unlock()
	now := n.now()
	working := n.o.Working
	if working == nil {
		working = weekdays(rend.loc)
	}
	r := &routed{cursor: steps[len(steps)-1].Seq}
	for i := range steps {
		s := steps[i]
		action := rend.action(&s)
		r.stop = append(r.stop, stopRepeat{incident: s.Incident, action: s.Action, ack: s.Action == "acknowledge"})
		for _, rt := range routes {
			if !rt.matches(&s, action, rend.loc, working) {
				continue
			}
			no := Notice{Channel: rt.cfg.Channels[0], Step: s, Route: rt.name, Chain: rt.cfg.Channels[1:], Queued: now}
			for _, id := range rt.cfg.People {
				if n.o.People != nil {
					if p, ok := n.o.People(id); ok && p.Phone != "" {
						no.People = append(no.People, p)
						continue
					}
				}
				n.log.Warn("route names a person with no phone in the roster", "route", rt.name, "person", id)
			}
			for _, ph := range rt.cfg.Phones {
				no.People = append(no.People, Person{Phone: ph})
			}
			r.notices = append(r.notices, &no)
			if rt.cfg.RepeatEvery > 0 && rt.cfg.RepeatMax > 0 && s.Action != "acknowledge" && !isFinal(s.Action) {
				r.repeats = append(r.repeats, repeat{Notice: no, Every: rt.cfg.RepeatEvery, Max: rt.cfg.RepeatMax,
					Next: s.At.Add(rt.cfg.RepeatEvery), Until: rt.cfg.Until})
			}
		}
	}
	return r
}

// isFinal steps await nobody's action.
func isFinal(action string) bool {
	switch action {
	case "review", "evaluate", "done", "report", "acknowledge", "clear":
		return true
	}
	return false
}

func (n *Notifier) wakeChannels(ns []*Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, no := range ns {
		if w := n.workers[no.Channel]; w != nil {
			w.poke()
		}
	}
}

func (n *Notifier) wakeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, w := range n.workers {
		w.poke()
	}
}

// History returns every notice recorded for an incident, oldest first.
func (n *Notifier) History(incident string) ([]Record, error) { return n.store.history(incident) }

// HistoryLines is History as the lines of the incident's history, in the
// configured time zone.
func (n *Notifier) HistoryLines(incident string) ([]string, error) {
	recs, err := n.store.history(incident)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	loc := n.render.loc
	n.mu.Unlock()
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Line(loc)
	}
	return out, nil
}

// ChannelStatus is a channel's health, for /readyz, /metrics and the
// county workbench.
type ChannelStatus struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	State     string    `json:"state"` // ok | throttled | failing | retrying
	Since     time.Time `json:"since,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	Queued    int       `json:"queued"`
	Sent      int64     `json:"sent"`
}

// Status returns every channel's status.
func (n *Notifier) Status() []ChannelStatus {
	n.mu.Lock()
	ws := make([]*worker, 0, len(n.workers))
	for _, ch := range n.cfg.Channels {
		if w := n.workers[ch.ID]; w != nil {
			ws = append(ws, w)
		}
	}
	n.mu.Unlock()
	out := make([]ChannelStatus, len(ws))
	for i, w := range ws {
		out[i] = w.status()
		out[i].Queued = n.store.queued(w.ch.ID)
		n.m.queued.WithLabelValues(w.ch.ID).Set(float64(out[i].Queued))
	}
	return out
}

// Ready is nil when no channel is failing; otherwise it names them (for
// /readyz).
func (n *Notifier) Ready() error {
	var errs []error
	for _, s := range n.Status() {
		if s.State == "failing" {
			errs = append(errs, fmt.Errorf("通知渠道 %s（%s）失败：%s", s.Name, s.ID, s.LastError))
		}
	}
	return errors.Join(errs...)
}

// PublishDevice sends a camera's or sensor's state change to every MQTT
// channel with devices: true (best effort, retained).
func (n *Notifier) PublishDevice(ctx context.Context, id string, body []byte) {
	n.mu.Lock()
	var ms []*mqttSender
	for _, w := range n.workers {
		if m, ok := w.snd.(*mqttSender); ok && w.ch.Devices {
			ms = append(ms, m)
		}
	}
	n.mu.Unlock()
	for _, m := range ms {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := m.publishDevice(ctx, id, body); err != nil {
			n.log.Debug("device state not published", "device", id, "err", err)
		}
		cancel()
	}
}
