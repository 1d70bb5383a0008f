// Package camera pulls road and village cameras over RTSP and judges their
// health from the media itself: frames, their rate, keyframes, losses and
// repeats, not from whether a TCP connection is open. It imports nothing
// else of the hub's: the hub adapts its types.
package camera

import (
	"math"
	"time"
)

// States of a camera.
const (
	StateOnline      = "online"
	StateDegraded    = "degraded"
	StateOffline     = "offline"
	StateUnknown     = "unknown"
	StateMaintenance = "maintenance"
)

// Causes of states (classify in cause.go says which failure is which).
const (
	CauseRefused     = "refused"     // the camera's address answered with a TCP reset to the connect: nothing listens
	CauseReset       = "reset"       // a connection was had, then closed or reset before the answer
	CauseUnreachable = "unreachable" // no route to the camera's host or network
	CauseTimeout     = "timeout"     // no answer in time
	CauseTLS         = "tls"         // RTSPS: the handshake or the certificate failed
	CauseBusy        = "busy"        // the camera answered 503 or 453: at its session limit
	CauseAuth        = "auth"
	CauseNotFound    = "not_found"
	CauseNoVideo     = "no_video"
	CauseStalled     = "stalled"
	CauseLowFPS      = "low_fps"
	CauseLoss        = "loss"
	CauseNoKeyframe  = "no_keyframe"
	CauseProtocol    = "protocol"
	CauseRecovered   = "recovered"
	CauseMaint       = "maintenance"
)

// healthConfig holds the thresholds of the health model.
type healthConfig struct {
	StallAfter, OfflineAfter, Settle time.Duration
	Grace                            time.Duration // after a connect: no stall or slow verdict yet
	FPS                              float64       // expected; 0: learn from the camera's own recent normal
}

// health is the pure state model of one camera: fed frames, failures and
// ticks with explicit times, it decides the state with hysteresis. It is
// not safe for concurrent use; the worker serialises calls.
type health struct {
	cfg healthConfig

	state, cause string
	since        time.Time

	connected    bool
	connectedAt  time.Time
	lastFrame    time.Time
	flowingSince time.Time // frames have flowed without a gap since
	goodSince    time.Time // the stream met every degraded test since
	frames       []time.Time
	bytes        []int
	lastKey      time.Time
	keyInterval  time.Duration
	normalFPS    float64
	lastHash     uint64
	repeats      int
	lostPkts     uint64
	recvPkts     uint64
	lastErr      string
	failed       bool
	maintUntil   time.Time
	maintNote    string

	// time in each state over a sliding 24 h, from transitions
	history []stateSpan
}

type stateSpan struct {
	at    time.Time
	state string
}

func newHealth(cfg healthConfig, now time.Time) *health {
	return &health{cfg: cfg, state: StateUnknown, since: now, history: []stateSpan{{now, StateUnknown}}}
}

const fpsWindow = 5 * time.Second

// frame records one access unit.
func (h *health) frame(now time.Time, size int, key bool, hash uint64) {
	if hash != 0 && hash == h.lastHash {
		h.repeats++
	} else {
		h.repeats = 0
	}
	h.lastHash = hash
	if h.repeating() {
		return // a frozen picture is not a live camera
	}
	if h.lastFrame.IsZero() || now.Sub(h.lastFrame) > h.cfg.StallAfter {
		h.flowingSince = now
	}
	h.lastFrame = now
	h.frames = append(h.frames, now)
	h.bytes = append(h.bytes, size)
	cut := 0
	for cut < len(h.frames) && now.Sub(h.frames[cut]) > fpsWindow {
		cut++
	}
	if cut > 0 {
		h.frames = append(h.frames[:0], h.frames[cut:]...)
		h.bytes = append(h.bytes[:0], h.bytes[cut:]...)
	}
	if key {
		if !h.lastKey.IsZero() {
			h.keyInterval = now.Sub(h.lastKey)
		}
		h.lastKey = now
	}
}

// repeating reports identical frames for two seconds' worth.
func (h *health) repeating() bool {
	return h.repeats >= max(int(2*h.expectedFPS()), 20)
}

func (h *health) packets(received, lost uint64) {
	h.recvPkts += received
	h.lostPkts += lost
}

// fps over the window.
func (h *health) fps(now time.Time) float64 {
	n := 0
	for _, t := range h.frames {
		if now.Sub(t) <= fpsWindow {
			n++
		}
	}
	span := fpsWindow
	if !h.flowingSince.IsZero() && now.Sub(h.flowingSince) < span {
		span = now.Sub(h.flowingSince)
	}
	if span < time.Second {
		span = time.Second
	}
	return float64(n) / span.Seconds()
}

func (h *health) bitrateKbps(now time.Time) float64 {
	total := 0
	for i, t := range h.frames {
		if now.Sub(t) <= fpsWindow {
			total += h.bytes[i]
		}
	}
	return float64(total*8) / 1000 / fpsWindow.Seconds()
}

func (h *health) expectedFPS() float64 {
	if h.cfg.FPS > 0 {
		return h.cfg.FPS
	}
	return h.normalFPS
}

func (h *health) lossRatio() float64 {
	total := h.recvPkts + h.lostPkts
	if total == 0 {
		return 0
	}
	return float64(h.lostPkts) / float64(total)
}

// fail records a connection failure and its cause.
func (h *health) fail(now time.Time, cause, msg string) {
	h.connected = false
	h.failed = true
	h.cause = cause
	h.lastErr = msg
}

func (h *health) connect(now time.Time) {
	h.connected = true
	h.connectedAt = now
	h.lastErr = ""
	h.recvPkts, h.lostPkts = 0, 0
}

// grace is the time after a connect during which a camera is not declared
// stalled or slow: its first frame may be a frame interval away (333 ms at
// 3 fps) and its first keyframe a GOP away. Two keyframe intervals when
// the camera's GOP is long, else the configured grace.
func (h *health) grace() time.Duration {
	return max(h.cfg.Grace, 2*h.keyInterval)
}

// inGrace reports a connection younger than the grace.
func (h *health) inGrace(now time.Time) bool {
	return h.connected && now.Sub(h.connectedAt) < h.grace()
}

// awaitingFirst reports a first connection in its grace that has not yet
// delivered a frame: too early for any verdict. Once the camera has sent
// frames, a gap is judged by the stall and offline times as usual, also
// across reconnects, so the grace never delays the verdict on a camera
// that went away.
func (h *health) awaitingFirst(now time.Time) bool {
	return h.inGrace(now) && h.lastFrame.IsZero()
}

// stalled reports a connection that is open but sends no live frames.
func (h *health) stalled(now time.Time, connectedAt time.Time) bool {
	if h.awaitingFirst(now) {
		return false
	}
	ref := h.lastFrame
	if ref.Before(connectedAt) {
		ref = connectedAt
	}
	return h.connected && (now.Sub(ref) > h.cfg.StallAfter || h.repeating())
}

// tick decides the state at now. It returns the transition, if any.
func (h *health) tick(now time.Time) (from, to, cause string, changed bool) {
	next, why := h.decide(now)
	if next == h.state && (next != StateDegraded || why == h.cause) {
		return "", "", "", false
	}
	if next == h.state { // degraded for another reason: not a transition
		h.cause = why
		return "", "", "", false
	}
	from = h.state
	h.state, h.cause, h.since = next, why, now
	h.history = append(h.history, stateSpan{now, next})
	h.trimHistory(now)
	return from, next, why, true
}

func (h *health) decide(now time.Time) (string, string) {
	if now.Before(h.maintUntil) {
		return StateMaintenance, CauseMaint
	}
	fresh := !h.lastFrame.IsZero() && now.Sub(h.lastFrame) <= h.cfg.StallAfter && !h.repeating()
	if !fresh && h.awaitingFirst(now) {
		// Just connected, no frame yet: neither stalled nor offline. A
		// verdict now would open a false outage on every start.
		return h.state, h.cause
	}
	if !fresh {
		h.goodSince = time.Time{}
		gone := h.lastFrame.IsZero() || now.Sub(h.lastFrame) > h.cfg.OfflineAfter || h.repeating()
		switch {
		case h.state == StateUnknown && h.failed:
			return StateOffline, h.cause // never seen and cannot connect
		case gone && (h.failed || h.connected || !h.lastFrame.IsZero()):
			cause := h.cause
			if h.connected || cause == "" || cause == CauseRecovered {
				cause = CauseStalled
			}
			return StateOffline, cause
		}
		if h.state == StateMaintenance {
			return StateUnknown, ""
		}
		return h.state, h.cause
	}
	fps := h.fps(now)
	settled := now.Sub(h.flowingSince) >= h.cfg.Settle
	if h.state == StateOnline && now.Sub(h.flowingSince) > 30*time.Second {
		// Learn the camera's own normal while it is healthy.
		if h.normalFPS == 0 {
			h.normalFPS = fps
		} else {
			h.normalFPS = 0.95*h.normalFPS + 0.05*fps
		}
	}
	if now.Sub(h.lastFrame) >= time.Second {
		// A gap: the stream is judged by the stall and offline times, not
		// reported as slow or keyframe-less on its way there.
		return h.state, h.cause
	}
	why := ""
	exp := h.expectedFPS()
	switch {
	case exp > 0 && fps < exp/2 && now.Sub(h.flowingSince) >= fpsWindow && !h.inGrace(now):
		why = CauseLowFPS
	case h.lossRatio() > 0.02 && h.recvPkts > 100:
		why = CauseLoss
	case h.keyInterval > 0 && now.Sub(h.lastKey) > 3*h.keyInterval && now.Sub(h.lastKey) > 3*time.Second:
		why = CauseNoKeyframe
	}
	if why != "" {
		h.goodSince = time.Time{}
		if h.state == StateOnline || settled {
			return StateDegraded, why
		}
		return h.state, h.cause
	}
	if h.goodSince.IsZero() {
		h.goodSince = now
	}
	switch h.state {
	case StateOnline:
		return StateOnline, h.cause
	case StateDegraded:
		if now.Sub(h.goodSince) >= h.cfg.Settle {
			return StateOnline, CauseRecovered
		}
		return h.state, h.cause
	default:
		if settled {
			h.failed = false
			return StateOnline, CauseRecovered
		}
		return h.state, h.cause
	}
}

// probeTick puts a probe-mode camera's verdict (probeState.verdict) in
// force, maintenance first. It returns the transition, if any; a new
// cause in the same state (the last failure's) is shown without one.
func (h *health) probeTick(now time.Time, next, why string) (from, to, cause string, changed bool) {
	if now.Before(h.maintUntil) {
		next, why = StateMaintenance, CauseMaint
	}
	if next == h.state {
		h.cause = why
		return "", "", "", false
	}
	from = h.state
	h.state, h.cause, h.since = next, why, now
	h.history = append(h.history, stateSpan{now, next})
	h.trimHistory(now)
	return from, next, why, true
}

func (h *health) trimHistory(now time.Time) {
	cut := 0
	for cut+1 < len(h.history) && now.Sub(h.history[cut+1].at) > 24*time.Hour {
		cut++
	}
	if cut > 0 {
		h.history = append(h.history[:0], h.history[cut:]...)
	}
}

// uptime24h is the online (and degraded) share of the known time in the
// last 24 h; maintenance and unknown time do not count.
func (h *health) uptime24h(now time.Time) (float64, map[string]time.Duration) {
	start := now.Add(-24 * time.Hour)
	in := map[string]time.Duration{}
	for i, s := range h.history {
		from := s.at
		if from.Before(start) {
			from = start
		}
		to := now
		if i+1 < len(h.history) {
			to = h.history[i+1].at
		}
		if to.After(from) {
			in[s.state] += to.Sub(from)
		}
	}
	up := in[StateOnline] + in[StateDegraded]
	known := up + in[StateOffline]
	if known == 0 {
		return 0, in
	}
	return math.Round(float64(up)/float64(known)*10000) / 10000, in
}
