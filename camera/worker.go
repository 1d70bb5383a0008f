package camera

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"snowhub/camera/rtsp"
)

// Failures the worker itself detects.
var (
	errStalled = errors.New("stalled: connection open but no new frames")
	errNoVideo = rtsp.ErrNoVideo
)

// worker is one camera: its health, its sessions (continuous for a watched
// camera, on demand for a probe-mode camera someone opens on the wall) and
// its checks. It owns no goroutine of its own apart from a running session:
// the manager's tick loop and scheduler drive it.
type worker struct {
	m    *Manager
	spec Spec
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	// grid is the stream the camera is judged on and the wall's grid tiles
	// play: the sub-stream when there is one, else the main stream. main is
	// the main stream when a sub-stream exists (pulled only while a
	// focused tile plays it), else nil. One pull per stream, whatever the
	// number of viewers.
	grid, main *pull

	mu         sync.Mutex
	h          *health
	codec      string
	width      int
	height     int
	errors     uint64
	reconnects uint64
	sess       *session // the running session, if any

	// probe mode
	probe probeState
	// a reported camera's state, as its source last reported it
	reported struct{ state, cause, reason string }
}

func newWorker(m *Manager, s Spec) *worker {
	w := &worker{m: m, spec: s, log: m.log.With("camera", s.ID),
		h: newHealth(healthConfig{StallAfter: m.o.StallAfter, OfflineAfter: m.o.OfflineAfter, Settle: m.o.Settle,
			Grace: m.o.Grace, FPS: s.FPS}, m.o.Now()),
		grid: &pull{url: s.streamURL(), fan: newFanout(64), health: true}}
	if s.SubstreamURL != "" {
		w.main = &pull{url: s.URL, fan: newFanout(64)}
	}
	return w
}

// pull is one stream of a camera and its viewers.
type pull struct {
	url    string
	fan    *Fanout
	health bool // its frames feed the health model

	// while pulled on demand (under the worker's lock)
	pulling bool
	cancel  context.CancelFunc
	idle    time.Time
}

// linger ends an on-demand pull ViewerLinger after its last viewer left.
func (p *pull) linger(now time.Time, after time.Duration) {
	if !p.pulling || p.cancel == nil {
		return
	}
	switch {
	case p.fan.Viewers() > 0:
		p.idle = time.Time{}
	case p.idle.IsZero():
		p.idle = now
	case now.Sub(p.idle) >= after:
		p.cancel()
	}
}

func (w *worker) status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.m.o.Now()
	h := w.h
	st := Status{ID: w.spec.ID, Name: w.spec.Name, Source: w.spec.Source, State: h.state, Cause: h.cause, Since: h.since, Watch: w.spec.Watch,
		FPS: math.Round(h.fps(now)*10) / 10, BitrateKbps: math.Round(h.bitrateKbps(now)), KeyframeInterval: h.keyInterval,
		Codec: w.codec, Width: w.width, Height: w.height, PacketsLost: h.lostPkts, LossRatio: h.lossRatio(),
		Errors: w.errors, Reconnects: w.reconnects, LastError: h.lastErr, MaintenanceNote: h.maintNote}
	if !h.lastFrame.IsZero() {
		st.LastFrameAge = now.Sub(h.lastFrame)
	}
	if now.Before(h.maintUntil) {
		st.MaintenanceUntil = h.maintUntil
	}
	if !w.spec.Watch && w.sess == nil {
		// Between checks: the last media check's figures.
		st.FPS, st.BitrateKbps = w.probe.fps, w.probe.kbps
		st.LastCheck, st.LastMediaCheck = w.probe.lastCheck, w.probe.lastMedia
	}
	st.Uptime24h, st.TimeInState = h.uptime24h(now)
	return st
}

// evaluate runs the health model and reports a transition.
func (w *worker) evaluate() { w.evaluateAt(w.m.o.Now()) }

func (w *worker) evaluateAt(now time.Time) {
	w.mu.Lock()
	var from, to, cause string
	var changed bool
	switch {
	case w.spec.Source != "":
		next := w.reported.state
		if next == "" {
			next = StateUnknown
		}
		w.h.lastErr = w.reported.reason
		from, to, cause, changed = w.h.probeTick(now, next, w.reported.cause)
	case w.spec.Watch:
		from, to, cause, changed = w.h.tick(now)
	default:
		next, why := w.probe.verdict()
		from, to, cause, changed = w.h.probeTick(now, next, why)
	}
	w.mu.Unlock()
	if changed {
		st := w.status()
		w.log.Info("camera state", "from", from, "to", to, "cause", cause)
		w.m.o.OnTransition(Transition{ID: w.spec.ID, At: now, From: from, To: to, Cause: cause, Status: st})
	}
}

// tick is the tick loop's visit: stall detection, the end of an unwatched
// on-demand pull, and the health model.
func (w *worker) tick(now time.Time) {
	w.mu.Lock()
	if s := w.sess; s != nil && w.h.stalled(now, s.connectedAt) {
		s.cancel(errStalled)
	}
	w.grid.linger(now, w.m.o.ViewerLinger)
	if w.main != nil {
		w.main.linger(now, w.m.o.ViewerLinger)
	}
	w.mu.Unlock()
	if w.spec.Watch {
		w.evaluateAt(now)
	}
}

// watch pulls the stream continuously, reconnecting with exponential
// backoff and full jitter, reset after a minute of healthy frames.
func (w *worker) watch(ctx context.Context) {
	backoff := w.m.o.BackoffMin
	for ctx.Err() == nil {
		started := w.m.o.Now()
		err := w.session(ctx, w.grid)
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		w.reconnects++
		if err != nil {
			w.errors++
			w.h.fail(w.m.o.Now(), classify(err), redactErr(err, w.spec.URL))
		}
		healthy := w.h.state == StateOnline && w.m.o.Now().Sub(started) > time.Minute
		w.mu.Unlock()
		w.evaluate()
		if healthy {
			backoff = w.m.o.BackoffMin
		}
		if !sleep(ctx, jitter(backoff)) {
			return
		}
		backoff = min(backoff*2, w.m.o.BackoffMax)
	}
}

// jitter is full jitter with a floor of a tenth, so cameras that dropped
// together do not come back together.
func jitter(d time.Duration) time.Duration {
	s := time.Duration(rand.Int64N(int64(d) + 1))
	return max(s, d/10)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// demand pulls a stream while someone watches it (a probe-mode camera's,
// or a main stream behind its sub-stream); the tick loop ends the pull
// ViewerLinger after the last viewer left.
func (m *Manager) demand(w *worker, p *pull) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || w.ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	if p.pulling {
		w.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(w.ctx)
	p.pulling, p.cancel, p.idle = true, cancel, time.Time{}
	w.mu.Unlock()
	m.live[w] = struct{}{}
	m.goLocked(func() {
		defer func() {
			cancel()
			w.mu.Lock()
			p.pulling, p.cancel = false, nil
			still := w.spec.Watch || w.grid.pulling || (w.main != nil && w.main.pulling)
			w.mu.Unlock()
			if !still {
				m.mu.Lock()
				delete(m.live, w)
				m.mu.Unlock()
			}
		}()
		// Named, not its URL: the URL carries the camera's credentials.
		stream := "grid"
		if p == w.main {
			stream = StreamMain
		}
		w.log.Info("pulling on demand for the wall", "stream", stream)
		for ctx.Err() == nil {
			if err := w.session(ctx, p); err != nil && ctx.Err() == nil {
				sleep(ctx, jitter(w.m.o.BackoffMin))
			}
		}
		w.log.Info("on-demand pull released", "stream", stream)
	})
}

// session connects and reads frames until the stream ends, stalls (the
// tick loop cancels it) or ctx ends. The hub-wide connection slot is held
// until the camera is connected.
func (w *worker) session(ctx context.Context, p *pull) error {
	if err := w.m.acquire(ctx); err != nil {
		return err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := &session{w: w, cancel: cancel, fan: p.fan, health: p.health}
	defer s.releaseSlot()
	err := rtsp.Read(sctx, w.options(p.url), s)
	w.mu.Lock()
	if w.sess == s {
		w.sess = nil
	}
	if p.health {
		w.h.connected = false
	}
	w.mu.Unlock()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

func (w *worker) options(url string) rtsp.Options {
	return rtsp.Options{URL: url, Transport: w.spec.Transport, Timeout: w.m.o.OfflineAfter,
		OnDecodeError: func(error) {
			w.mu.Lock()
			w.errors++
			w.mu.Unlock()
		}}
}

// session is the parent of one RTSP session: it feeds the health model and
// the fan-out.
type session struct {
	w           *worker
	cancel      context.CancelCauseFunc
	fan         *Fanout // the viewers of this stream; nil for a media check
	health      bool    // feeds the health model and the stall watchdog
	connectedAt time.Time
	slotOnce    sync.Once
	noSlot      bool                                    // a media check: the scheduler holds the slot for the whole check
	onFrame     func(now time.Time, size int, key bool) // media check's own accounting
}

func (s *session) releaseSlot() {
	if !s.noSlot {
		s.slotOnce.Do(s.w.m.release)
	}
}

// Connected implements rtsp.Parent.
func (s *session) Connected(codec string, params [][]byte) {
	w := s.w
	now := w.m.o.Now()
	w.mu.Lock()
	first := s.connectedAt.IsZero()
	if first {
		s.connectedAt = now
	}
	if s.health {
		if first {
			w.h.connect(now)
			if s.fan != nil {
				w.sess = s
			}
		}
		w.setCodecLocked(codec, params)
	}
	w.mu.Unlock()
	if first {
		s.releaseSlot() // connected: let the next camera try
		if s.fan != nil {
			s.fan.reset()
		}
	}
	if s.fan != nil {
		s.fan.SetParams(codec, params)
	}
}

// AccessUnit implements rtsp.Parent: access units come while someone
// watches the camera.
func (s *session) AccessUnit(ts int64, au [][]byte, key bool) {
	size := 0
	for _, n := range au {
		size += len(n)
	}
	s.Frame(ts, size, key, frameHash(au))
	if s.fan != nil && s.fan.Viewers() > 0 {
		s.fan.WriteAccessUnit(ts, au, key)
	}
}

// WantAccessUnits implements rtsp.FrameObserver: the bytes are needed
// only for viewers; the health model needs a frame's size, kind and hash.
func (s *session) WantAccessUnits() bool { return s.fan != nil && s.fan.Viewers() > 0 }

// Frame implements rtsp.FrameObserver.
func (s *session) Frame(ts int64, size int, key bool, hash uint64) {
	w := s.w
	now := w.m.o.Now()
	if !s.health {
		return
	}
	w.mu.Lock()
	w.h.frame(now, size, key, hash)
	// Packets received, estimated from the frame's size (one RTP packet
	// carries at most ~1,400 bytes of it): counting them one by one would
	// take the lock per packet for a ratio that needs no exact count.
	w.h.packets(uint64(size/1400+1), 0)
	w.mu.Unlock()
	if s.onFrame != nil {
		s.onFrame(now, size, key)
	}
}

// PacketsLost implements rtsp.Parent.
func (s *session) PacketsLost(n uint64) {
	if !s.health {
		return
	}
	s.w.mu.Lock()
	s.w.h.packets(0, n)
	s.w.mu.Unlock()
}

// frameHash identifies a frame well enough to see a frozen camera repeat
// one picture: each NALU's length and a few bytes from its start, middle
// and end. Hashing whole frames cost more than the rest of the per-frame
// path; a live picture differs in its slice header (frame number) at
// least, so the sample tells repeats from live frames.
func frameHash(au [][]byte) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(b []byte) {
		for _, c := range b {
			h ^= uint64(c)
			h *= prime
		}
	}
	for _, n := range au {
		h ^= uint64(len(n))
		h *= prime
		const k = 32
		if len(n) <= 3*k {
			mix(n)
			continue
		}
		mix(n[:k])
		mid := len(n) / 2
		mix(n[mid : mid+k])
		mix(n[len(n)-k:])
	}
	if h == 0 {
		h = 1
	}
	return h
}

// setCodecLocked records the codec and, from the SPS, the resolution.
func (w *worker) setCodecLocked(codec string, params [][]byte) {
	w.codec = codec
	switch codec {
	case rtsp.H264:
		if len(params) > 0 && len(params[0]) > 0 {
			var s h264.SPS
			if err := s.Unmarshal(params[0]); err == nil {
				w.width, w.height = s.Width(), s.Height()
			}
		}
	case rtsp.H265:
		if len(params) > 1 && len(params[1]) > 0 {
			var s h265.SPS
			if err := s.Unmarshal(params[1]); err == nil {
				w.width, w.height = s.Width(), s.Height()
			}
		}
	}
}
