package camera

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrClosed answers calls made after Close.
var ErrClosed = errors.New("camera manager closed")

// ErrNotFound: no camera has that id.
var ErrNotFound = errors.New("camera not found")

// Spec is one configured camera.
type Spec struct {
	ID, Name, URL, Transport string // Transport: auto | tcp | udp
	Watch                    bool   // pull continuously; false: probe periodically
	FPS                      float64
	// SubstreamURL is the camera's sub-stream (lower resolution and rate):
	// when set, the camera is judged on it, the wall's grid tiles play it,
	// and the main stream (URL) is pulled only while a focused tile plays it.
	SubstreamURL string
	// Group is what the camera's check lag is reported under
	// (Manager.CheckLag): the hub gives its township.
	Group string
	// Source is empty for a camera the manager pulls over RTSP (URL).
	// Any other (gb28181) names what reports the camera's state through
	// Report: the manager pulls and probes nothing of it, and keeps its
	// state, history, uptime and maintenance like any camera's.
	Source string
}

// streamURL is the stream the camera is judged on and the grid plays.
func (s Spec) streamURL() string {
	if s.SubstreamURL != "" {
		return s.SubstreamURL
	}
	return s.URL
}

// Streams a viewer can ask for.
const (
	StreamGrid = ""     // the sub-stream when there is one: for grid tiles
	StreamMain = "main" // the main stream: for a focused or single tile
	StreamSub  = "sub"  // the same as StreamGrid
)

// Options configure the manager; zero durations take the defaults.
type Options struct {
	Logger *slog.Logger
	// MaxConnecting is the floor of the hub-wide connection attempts and
	// checks in flight; while checks wait for a slot and the CPU is idle
	// the limit grows (their answers are slow: a waiting check costs a
	// socket, not CPU), up to MaxChecks (default DefaultMaxChecks).
	MaxConnecting, MaxChecks int
	// OfflineAfter: a watched camera without frames, or a probe-mode
	// camera whose consecutive failed checks (at least two: a failure is
	// tried again at once) span this long, is offline; default 10 s.
	BackoffMin, BackoffMax           time.Duration
	StallAfter, OfflineAfter, Settle time.Duration
	// Grace after a connection during which a camera is not declared
	// stalled or slow: a camera's first frames take time (a 3 fps camera
	// sends one every 333 ms, a keyframe may be seconds away). The grace
	// is this or two keyframe intervals, whichever is longer; default 5 s.
	Grace                       time.Duration
	ProbeInterval, ProbeTimeout time.Duration
	// MediaCheckInterval is how often a probe-mode camera's media is
	// checked (PLAY to the first keyframe); liveness (DESCRIBE, no media)
	// is checked every ProbeInterval. Default 15 min.
	MediaCheckInterval time.Duration
	// MediaSample is how long a media check reads after the first keyframe
	// to estimate the frame rate and bitrate; default 1 s.
	MediaSample  time.Duration
	ViewerLinger time.Duration
	SampleEvery  time.Duration
	OnTransition func(Transition)
	OnSample     func(Status)
	Now          func() time.Time
}

// Transition is a change of a camera's state.
type Transition struct {
	ID       string
	At       time.Time
	From, To string
	Cause    string
	Status   Status
}

// Status is a camera's state and live health.
type Status struct {
	ID, Name, State, Cause string
	Source                 string // Spec.Source: "" for RTSP
	Since                  time.Time
	Watch                  bool
	FPS, BitrateKbps       float64
	LastFrameAge           time.Duration
	KeyframeInterval       time.Duration
	Codec                  string
	Width, Height          int
	PacketsLost            uint64
	LossRatio              float64
	Errors, Reconnects     uint64
	LastError              string
	Uptime24h              float64
	TimeInState            map[string]time.Duration
	MaintenanceUntil       time.Time
	MaintenanceNote        string
	LastCheck              time.Time // probe mode: the last liveness check
	LastMediaCheck         time.Time // probe mode: the last media check
}

// Manager supervises the cameras: a worker per camera, one loop that ticks
// the health model of the cameras being pulled, and one scheduler that
// runs the probe-mode cameras' checks. It starts no goroutine per probed
// camera.
type Manager struct {
	o     Options
	log   *slog.Logger
	slots *slots // hub-wide connection attempts and checks
	sched *scheduler

	mu      sync.Mutex
	workers map[string]*worker
	live    map[*worker]struct{} // workers with a session that the tick loop watches
	ctx     context.Context
	cancel  context.CancelFunc
	closed  bool
	wg      sync.WaitGroup // every goroutine the manager starts
	calls   sync.WaitGroup // calls in progress that may report a transition
}

// NewManager builds a manager; Start runs it. It starts no goroutine.
func NewManager(o Options) *Manager {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.BackoffMin, time.Second)
	def(&o.BackoffMax, time.Minute)
	def(&o.StallAfter, 5*time.Second)
	def(&o.OfflineAfter, 10*time.Second)
	def(&o.Settle, 10*time.Second)
	def(&o.Grace, 5*time.Second)
	def(&o.ProbeInterval, time.Minute)
	def(&o.ProbeTimeout, 10*time.Second)
	def(&o.MediaCheckInterval, 15*time.Minute)
	def(&o.MediaSample, time.Second)
	def(&o.ViewerLinger, 30*time.Second)
	def(&o.SampleEvery, 10*time.Second)
	if o.MaxConnecting <= 0 {
		o.MaxConnecting = 32
	}
	if o.MaxChecks <= 0 {
		o.MaxChecks = DefaultMaxChecks()
	}
	o.MaxChecks = max(o.MaxChecks, o.MaxConnecting)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnTransition == nil {
		o.OnTransition = func(Transition) {}
	}
	if o.OnSample == nil {
		o.OnSample = func(Status) {}
	}
	m := &Manager{o: o, log: o.Logger, slots: newSlots(o.MaxConnecting),
		workers: map[string]*worker{}, live: map[*worker]struct{}{}}
	m.sched = newScheduler(m)
	return m
}

// Start runs the health tick loop and the check scheduler until Close.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.ctx != nil {
		return errors.New("camera manager already started")
	}
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.wg.Add(3)
	go func() { defer m.wg.Done(); m.tickLoop(m.ctx) }()
	go func() { defer m.wg.Done(); m.sched.run(m.ctx) }()
	go func() { defer m.wg.Done(); m.tune(m.ctx) }()
	return nil
}

// Update adds new cameras, removes gone ones and restarts changed ones;
// the others keep running untouched.
func (m *Manager) Update(specs []Spec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.closed {
		return
	}
	seen := make(map[string]bool, len(specs))
	for _, s := range specs {
		seen[s.ID] = true
		if w, ok := m.workers[s.ID]; ok {
			if w.spec == s {
				continue
			}
			m.stopLocked(w)
		}
		w := newWorker(m, s)
		w.ctx, w.cancel = context.WithCancel(m.ctx)
		m.workers[s.ID] = w
		switch {
		case s.Source != "":
			// reported: nothing to pull or schedule
		case s.Watch:
			m.live[w] = struct{}{}
			m.wg.Add(1)
			go func() { defer m.wg.Done(); w.watch(w.ctx) }()
		default:
			m.sched.add(w)
		}
	}
	for id, w := range m.workers {
		if !seen[id] {
			m.stopLocked(w)
			delete(m.workers, id)
		}
	}
}

func (m *Manager) stopLocked(w *worker) {
	w.cancel()
	delete(m.live, w)
	w.grid.fan.Close()
	if w.main != nil {
		w.main.fan.Close()
	}
}

func (m *Manager) worker(id string) (*worker, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	w := m.workers[id]
	if w == nil {
		return nil, fmt.Errorf("camera %s: %w", id, ErrNotFound)
	}
	return w, nil
}

// Statuses lists every camera's status, by id.
func (m *Manager) Statuses() []Status {
	m.mu.Lock()
	ws := make([]*worker, 0, len(m.workers))
	for _, w := range m.workers {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	out := make([]Status, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Status is one camera's status.
func (m *Manager) Status(id string) (Status, bool) {
	m.mu.Lock()
	w := m.workers[id]
	m.mu.Unlock()
	if w == nil {
		return Status{}, false
	}
	return w.status(), true
}

// begin registers a call that may report a transition, so Close waits for
// it and no transition is reported after Close returns.
func (m *Manager) begin() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.calls.Add(1)
	return nil
}

// SetMaintenance shows the camera as under maintenance until then.
func (m *Manager) SetMaintenance(id string, until time.Time, note string) error {
	if err := m.begin(); err != nil {
		return err
	}
	defer m.calls.Done()
	w, err := m.worker(id)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.h.maintUntil, w.h.maintNote = until, note
	w.mu.Unlock()
	if !w.spec.Watch && until.After(m.o.Now()) {
		// Probe-mode cameras are not ticked: look again when it ends.
		m.sched.at(w, jobEvaluate, until, false)
	}
	w.evaluate()
	return nil
}

// ClearMaintenance ends a camera's maintenance now.
func (m *Manager) ClearMaintenance(id string) error {
	return m.SetMaintenance(id, time.Time{}, "")
}

// Watch returns a viewer of a camera's live video. A probe-mode camera is
// pulled while someone watches it and let go ViewerLinger after the last
// viewer left.
func (m *Manager) Watch(ctx context.Context, id string) (*Viewer, error) {
	return m.WatchStream(ctx, id, StreamGrid)
}

// WatchStream returns a viewer of one of a camera's streams: StreamMain
// for a focused or single tile, StreamGrid (the sub-stream when the camera
// has one) for the grid. A stream nobody pulls yet is pulled while watched.
func (m *Manager) WatchStream(ctx context.Context, id, stream string) (*Viewer, error) {
	w, err := m.worker(id)
	if err != nil {
		return nil, err
	}
	if w.spec.Source != "" {
		return nil, fmt.Errorf("camera %s: the video of a %s camera is not served yet: %w", id, w.spec.Source, ErrNotFound)
	}
	p := w.grid
	switch stream {
	case StreamMain:
		if w.main != nil {
			p = w.main
		}
	case StreamGrid, StreamSub:
	default:
		return nil, fmt.Errorf("camera %s: stream %q: %w", id, stream, ErrNotFound)
	}
	v := p.fan.Subscribe()
	if p != w.grid || !w.spec.Watch {
		m.demand(w, p)
	}
	return v, nil
}

// Close stops every worker, the tick loop and the scheduler, and returns
// when every goroutine the manager started has ended. Calls after Close
// are refused with ErrClosed and report nothing.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	if m.cancel != nil {
		m.cancel()
	}
	for _, w := range m.workers {
		m.stopLocked(w)
	}
	m.mu.Unlock()
	m.calls.Wait()
	m.wg.Wait()
	return nil
}

// goLocked runs f on a goroutine Close waits for; the caller holds m.mu
// and has checked that the manager is not closed.
func (m *Manager) goLocked(f func()) {
	m.wg.Add(1)
	go func() { defer m.wg.Done(); f() }()
}

// tickLoop drives the health model of every camera being pulled, so states
// change on time even when nothing arrives; it also detects stalls, ends
// on-demand pulls nobody watches, and sends the periodic samples.
func (m *Manager) tickLoop(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	sample := time.NewTicker(m.o.SampleEvery)
	defer sample.Stop()
	var ws []*worker
	snapshot := func() []*worker {
		ws = ws[:0]
		m.mu.Lock()
		for w := range m.live {
			ws = append(ws, w)
		}
		m.mu.Unlock()
		return ws
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := m.o.Now()
			for _, w := range snapshot() {
				if ctx.Err() != nil {
					return
				}
				w.tick(now)
			}
		case <-sample.C:
			for _, w := range snapshot() {
				if w.spec.Watch && w.ctx.Err() == nil {
					m.o.OnSample(w.status())
				}
			}
		}
	}
}

// acquire takes a hub-wide connection slot.
func (m *Manager) acquire(ctx context.Context) error { return m.slots.acquire(ctx) }

func (m *Manager) release() { m.slots.release() }

// redactErr removes a URL's credentials from an error's text.
func redactErr(err error, raw string) string {
	msg := err.Error()
	if u, e := url.Parse(raw); e == nil && u.User != nil {
		msg = strings.ReplaceAll(msg, u.User.String(), "***")
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "***")
		}
	}
	return msg
}
