package camera

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
)

// Spec is one configured camera.
type Spec struct {
	ID, Name, URL, Transport string // Transport: auto | tcp | udp
	Watch                    bool   // pull continuously; false: probe periodically
	FPS                      float64
}

// Options configure the manager; zero durations take the defaults.
type Options struct {
	Logger                           *slog.Logger
	MaxConnecting                    int
	BackoffMin, BackoffMax           time.Duration
	StallAfter, OfflineAfter, Settle time.Duration
	ProbeInterval, ProbeTimeout      time.Duration
	ViewerLinger                     time.Duration
	SampleEvery                      time.Duration
	OnTransition                     func(Transition)
	OnSample                         func(Status)
	Now                              func() time.Time
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
}

// Manager runs one supervised worker per camera.
type Manager struct {
	o   Options
	log *slog.Logger
	sem chan struct{} // hub-wide connection attempts

	mu      sync.Mutex
	workers map[string]*worker
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewManager builds a manager; Start runs it.
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
	def(&o.ProbeInterval, time.Minute)
	def(&o.ProbeTimeout, 10*time.Second)
	def(&o.ViewerLinger, 30*time.Second)
	def(&o.SampleEvery, 10*time.Second)
	if o.MaxConnecting <= 0 {
		o.MaxConnecting = 32
	}
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
	return &Manager{o: o, log: o.Logger, sem: make(chan struct{}, o.MaxConnecting), workers: map[string]*worker{}}
}

// Start lets Update run workers until Close.
func (m *Manager) Start(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
}

// Update adds new cameras, removes gone ones and restarts changed ones;
// the others keep running untouched.
func (m *Manager) Update(specs []Spec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil {
		return
	}
	seen := map[string]bool{}
	for _, s := range specs {
		seen[s.ID] = true
		if w, ok := m.workers[s.ID]; ok {
			if w.spec == s {
				continue
			}
			w.stop()
		}
		w := newWorker(m, s)
		// The worker's context exists before its goroutine runs, so Watch
		// and stop work on it at once.
		w.ctx, w.cancel = context.WithCancel(m.ctx)
		m.workers[s.ID] = w
		m.wg.Add(1)
		go func() { defer m.wg.Done(); w.run() }()
	}
	for id, w := range m.workers {
		if !seen[id] {
			w.stop()
			delete(m.workers, id)
		}
	}
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

// SetMaintenance shows the camera as under maintenance until then.
func (m *Manager) SetMaintenance(id string, until time.Time, note string) error {
	m.mu.Lock()
	w := m.workers[id]
	m.mu.Unlock()
	if w == nil {
		return fmt.Errorf("camera %s not found", id)
	}
	w.mu.Lock()
	w.h.maintUntil, w.h.maintNote = until, note
	w.mu.Unlock()
	w.evaluate()
	return nil
}

// ClearMaintenance ends a camera's maintenance now.
func (m *Manager) ClearMaintenance(id string) error {
	return m.SetMaintenance(id, time.Time{}, "")
}

// Watch returns a viewer of a camera's live video. Probe-mode cameras are
// not pulled continuously, so they have no live video to watch.
func (m *Manager) Watch(ctx context.Context, id string) (*Viewer, error) {
	m.mu.Lock()
	w := m.workers[id]
	m.mu.Unlock()
	if w == nil {
		return nil, fmt.Errorf("camera %s not found", id)
	}
	v := w.fan.Subscribe()
	if !w.spec.Watch {
		w.demand()
	}
	return v, nil
}

// demand pulls a probe-mode camera while someone watches it, and lets it go
// ViewerLinger after the last viewer left.
func (w *worker) demand() {
	w.mu.Lock()
	ctx := w.ctx
	if w.pulling || ctx == nil {
		w.mu.Unlock()
		return
	}
	w.pulling = true
	w.mu.Unlock()
	w.m.wg.Add(1)
	go func() {
		defer w.m.wg.Done()
		defer func() { w.mu.Lock(); w.pulling = false; w.mu.Unlock() }()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			var idle time.Time
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					if w.fan.Viewers() > 0 {
						idle = time.Time{}
					} else if idle.IsZero() {
						idle = now
					} else if now.Sub(idle) >= w.m.o.ViewerLinger {
						cancel()
						return
					}
				}
			}
		}()
		w.log.Info("pulling on demand for the wall")
		for ctx.Err() == nil {
			if err := w.session(ctx, false); err != nil && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(w.m.o.BackoffMin):
				}
			}
		}
		w.log.Info("on-demand pull released")
	}()
}

// Close stops every worker and waits.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.cancel != nil {
		m.cancel()
	}
	for _, w := range m.workers {
		w.stop()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// RedactURL removes credentials from a URL so it can be logged or shown.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.Index(raw, "://"); i >= 0 {
			if j := strings.LastIndex(raw, "@"); j > i {
				return raw[:i+3] + "***@" + raw[j+1:]
			}
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User("***")
	}
	return u.String()
}

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

// classify names the cause of a connection failure.
func classify(err error) string {
	switch {
	case errors.Is(err, errStalled):
		return CauseStalled
	case errors.Is(err, errNoVideo):
		return CauseNoVideo
	}
	var bad liberrors.ErrClientBadStatusCode
	if errors.As(err, &bad) {
		switch bad.Code {
		case base.StatusUnauthorized, base.StatusForbidden:
			return CauseAuth
		case base.StatusNotFound:
			return CauseNotFound
		}
		return CauseProtocol
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return CauseTimeout
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return CauseRefused
	case strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline"):
		return CauseTimeout
	case strings.Contains(msg, "401") || strings.Contains(msg, "authentication"):
		return CauseAuth
	case strings.Contains(msg, "404"):
		return CauseNotFound
	case strings.Contains(msg, "EOF") || strings.Contains(msg, "reset by peer") || strings.Contains(msg, "terminated"):
		return CauseStalled
	}
	return CauseProtocol
}

// worker supervises one camera.
type worker struct {
	m    *Manager
	spec Spec
	log  *slog.Logger

	mu         sync.Mutex
	h          *health
	codec      string
	width      int
	height     int
	errors     uint64
	reconnects uint64
	cancel     context.CancelFunc
	ctx        context.Context
	done       chan struct{}
	fan        *Fanout
	pulling    bool // an on-demand pull of a probe-mode camera is running
}

func newWorker(m *Manager, s Spec) *worker {
	return &worker{m: m, spec: s, log: m.log.With("camera", s.ID),
		h:    newHealth(healthConfig{StallAfter: m.o.StallAfter, OfflineAfter: m.o.OfflineAfter, Settle: m.o.Settle, FPS: s.FPS}, m.o.Now()),
		done: make(chan struct{}), fan: newFanout(64)}
}

func (w *worker) stop() {
	w.mu.Lock()
	c := w.cancel
	w.mu.Unlock()
	if c != nil {
		c()
	}
}

func (w *worker) status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.m.o.Now()
	h := w.h
	st := Status{ID: w.spec.ID, Name: w.spec.Name, State: h.state, Cause: h.cause, Since: h.since, Watch: w.spec.Watch,
		FPS: math.Round(h.fps(now)*10) / 10, BitrateKbps: math.Round(h.bitrateKbps(now)), KeyframeInterval: h.keyInterval,
		Codec: w.codec, Width: w.width, Height: w.height, PacketsLost: h.lostPkts, LossRatio: h.lossRatio(),
		Errors: w.errors, Reconnects: w.reconnects, LastError: h.lastErr, MaintenanceNote: h.maintNote}
	if !h.lastFrame.IsZero() {
		st.LastFrameAge = now.Sub(h.lastFrame)
	}
	if now.Before(h.maintUntil) {
		st.MaintenanceUntil = h.maintUntil
	}
	if !w.spec.Watch {
		st.FPS, st.BitrateKbps = 0, 0
	}
	st.Uptime24h, st.TimeInState = h.uptime24h(now)
	return st
}

// evaluate runs the health model and reports a transition.
func (w *worker) evaluate() {
	now := w.m.o.Now()
	w.mu.Lock()
	var from, to, cause string
	var changed bool
	if w.spec.Watch {
		from, to, cause, changed = w.h.tick(now)
	} else {
		from, to, cause, changed = w.h.probeTick(now)
	}
	w.mu.Unlock()
	if changed {
		st := w.status()
		w.log.Info("camera state", "from", from, "to", to, "cause", cause)
		w.m.o.OnTransition(Transition{ID: w.spec.ID, At: now, From: from, To: to, Cause: cause, Status: st})
	}
}

func (w *worker) run() {
	ctx, cancel := w.ctx, w.cancel
	defer cancel()
	defer close(w.done)
	defer w.fan.Close()
	// A ticker drives the health model, so states change on time even
	// when nothing arrives.
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		sample := time.NewTicker(w.m.o.SampleEvery)
		defer sample.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.evaluate()
			case <-sample.C:
				if w.spec.Watch {
					w.m.o.OnSample(w.status())
				}
			}
		}
	}()
	if w.spec.Watch {
		w.watch(ctx)
	} else {
		w.probeLoop(ctx)
	}
}

// watch pulls the stream continuously, reconnecting with exponential
// backoff and full jitter, reset after a minute of healthy frames.
func (w *worker) watch(ctx context.Context) {
	backoff := w.m.o.BackoffMin
	for ctx.Err() == nil {
		started := w.m.o.Now()
		err := w.session(ctx, false)
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		w.reconnects++
		if err != nil {
			w.errors++
			cause := classify(err)
			w.h.fail(w.m.o.Now(), cause, redactErr(err, w.spec.URL))
		}
		healthy := w.h.state == StateOnline && w.m.o.Now().Sub(started) > time.Minute
		w.mu.Unlock()
		w.evaluate()
		if healthy {
			backoff = w.m.o.BackoffMin
		}
		sleep := time.Duration(rand.Int64N(int64(backoff) + 1)) // full jitter
		if sleep < backoff/10 {
			sleep = backoff / 10
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(sleep):
		}
		backoff = min(backoff*2, w.m.o.BackoffMax)
	}
}

// probeLoop probes every ProbeInterval, at an offset derived from the id so
// ten thousand probes spread evenly over the interval.
func (w *worker) probeLoop(ctx context.Context) {
	h := fnv.New64a()
	h.Write([]byte(w.spec.ID))
	offset := time.Duration(h.Sum64() % uint64(w.m.o.ProbeInterval))
	select {
	case <-ctx.Done():
		return
	case <-time.After(offset):
	}
	t := time.NewTicker(w.m.o.ProbeInterval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, w.m.o.ProbeTimeout)
		err := w.session(pctx, true)
		cancel()
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		if err != nil {
			w.errors++
			w.h.probed(w.m.o.Now(), err, classify(err))
			w.h.lastErr = redactErr(err, w.spec.URL)
		} else {
			w.h.probed(w.m.o.Now(), nil, "")
		}
		w.mu.Unlock()
		w.evaluate()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Failures the worker itself detects.
var (
	errStalled = errors.New("stalled: connection open but no new frames")
	errNoVideo = errors.New("no video: the stream has no H.264 or H.265 track")
)

// session connects, plays and reads frames until the stream ends, stalls,
// or (probe) the first keyframe arrives.
func (w *worker) session(ctx context.Context, probe bool) error {
	select {
	case w.m.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	released := false
	release := func() {
		if !released {
			released = true
			<-w.m.sem
		}
	}
	defer release()

	u, err := base.ParseURL(w.spec.URL)
	if err != nil {
		return fmt.Errorf("bad url: %w", err)
	}
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, ReadTimeout: w.m.o.OfflineAfter, WriteTimeout: w.m.o.OfflineAfter}
	switch w.spec.Transport {
	case "tcp":
		t := gortsplib.TransportTCP
		c.Transport = &t
	case "udp":
		t := gortsplib.TransportUDP
		c.Transport = &t
	}
	c.OnPacketsLost = func(lost uint64) {
		w.mu.Lock()
		w.h.packets(0, lost)
		w.mu.Unlock()
	}
	c.OnDecodeError = func(error) {
		w.mu.Lock()
		w.errors++
		w.mu.Unlock()
	}
	if err := c.Start2(); err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()

	desc, _, err := c.Describe(u)
	if err != nil {
		return err
	}
	var h264 *format.H264
	var h265 *format.H265
	var medi *description.Media
	if medi = desc.FindFormat(&h264); medi == nil {
		medi = desc.FindFormat(&h265)
	}
	if medi == nil {
		return errNoVideo
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return err
	}
	connectedAt := w.m.o.Now()
	w.mu.Lock()
	w.h.connect(connectedAt)
	w.mu.Unlock()
	keyframe := make(chan struct{}, 1)
	if h264 != nil {
		w.readH264(c, medi, h264, keyframe, probe)
	} else {
		w.readH265(c, medi, h265, keyframe)
	}
	if _, err := c.Play(nil); err != nil {
		return err
	}
	release() // connected: let the next camera try

	waitErr := make(chan error, 1)
	go func() { waitErr <- c.Wait() }()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case err := <-waitErr:
			return err
		case <-ctx.Done():
			if probe {
				return fmt.Errorf("timeout: no keyframe within %s", w.m.o.ProbeTimeout)
			}
			return nil
		case <-keyframe:
			if probe {
				return nil
			}
		case <-t.C:
			w.mu.Lock()
			stalled := w.h.stalled(w.m.o.Now(), connectedAt)
			w.mu.Unlock()
			if stalled {
				return errStalled
			}
		}
	}
}

func (w *worker) readH264(c *gortsplib.Client, medi *description.Media, forma *format.H264, keyframe chan struct{}, probe bool) {
	dec, err := forma.CreateDecoder()
	if err != nil {
		return
	}
	w.setCodec("H264", forma.SPS)
	w.fan.reset()
	w.fan.SetH264Params(forma.SPS, forma.PPS)
	sps, pps := forma.SPS, forma.PPS
	var clock rtpClock
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		w.mu.Lock()
		w.h.packets(1, 0)
		w.mu.Unlock()
		au, err := dec.Decode(pkt)
		if err != nil {
			return // more packets needed, or a fragment lost: counted by gortsplib
		}
		key := false
		size := 0
		hs := fnv.New64a()
		for _, nalu := range au {
			size += len(nalu)
			if len(nalu) == 0 {
				continue
			}
			switch nalu[0] & 0x1f {
			case 5:
				key = true
			case 7:
				if string(nalu) != string(sps) {
					sps = nalu
					w.setCodec("H264", nalu)
				}
			case 8:
				pps = nalu
			}
			hs.Write(nalu)
		}
		w.onFrame(size, key, hs.Sum64(), keyframe)
		if w.fan.Viewers() > 0 && !probe {
			w.fan.SetH264Params(sps, pps)
			w.fan.WriteAccessUnit(clock.unwrap(pkt.Timestamp), au, key)
		}
	})
}

func (w *worker) readH265(c *gortsplib.Client, medi *description.Media, forma *format.H265, keyframe chan struct{}) {
	dec, err := forma.CreateDecoder()
	if err != nil {
		return
	}
	w.setCodec("H265", nil)
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		w.mu.Lock()
		w.h.packets(1, 0)
		w.mu.Unlock()
		au, err := dec.Decode(pkt)
		if err != nil {
			return
		}
		key := false
		size := 0
		hs := fnv.New64a()
		for _, nalu := range au {
			size += len(nalu)
			if len(nalu) < 2 {
				continue
			}
			if t := (nalu[0] >> 1) & 0x3f; t >= 16 && t <= 21 {
				key = true
			}
			hs.Write(nalu)
		}
		w.onFrame(size, key, hs.Sum64(), keyframe)
	})
}

func (w *worker) onFrame(size int, key bool, hash uint64, keyframe chan struct{}) {
	w.mu.Lock()
	w.h.frame(w.m.o.Now(), size, key, hash)
	w.mu.Unlock()
	if key {
		select {
		case keyframe <- struct{}{}:
		default:
		}
	}
}

// setCodec records the codec and, from an H.264 SPS, the resolution.
func (w *worker) setCodec(codec string, sps []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.codec = codec
	if len(sps) == 0 || codec != "H264" {
		return
	}
	var s h264.SPS
	if err := s.Unmarshal(sps); err == nil {
		w.width, w.height = s.Width(), s.Height()
	}
}

// rtpClock turns 32-bit RTP timestamps (90 kHz for video) into a
// monotonic 64-bit count, across wrap-arounds.
type rtpClock struct {
	started bool
	last    uint32
	value   int64
}

func (c *rtpClock) unwrap(ts uint32) int64 {
	if !c.started {
		c.started, c.last = true, ts
		return 0
	}
	c.value += int64(int32(ts - c.last))
	c.last = ts
	return c.value
}
