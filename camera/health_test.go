package camera

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

var cfg = healthConfig{StallAfter: 5 * time.Second, OfflineAfter: 10 * time.Second, Settle: 10 * time.Second, Grace: 5 * time.Second, FPS: 25}

type frameEv struct {
	at   time.Duration
	key  bool
	hash uint64
}

// pending frames of a test, applied in time order between ticks.
var pendingFrames []frameEv

// feed queues frames at fps from..to (exclusive), a keyframe every gop frames.
func feed(h *health, from, to time.Duration, fps float64, gop int, hash func(i int) uint64) {
	step := time.Duration(float64(time.Second) / fps)
	i := 0
	for d := from; d < to; d += step {
		pendingFrames = append(pendingFrames, frameEv{d, i%gop == 0, hash(i)})
		i++
	}
}

// run applies the queued frames up to each tick, ticking every 250 ms as the
// worker does, and calls at after each tick.
func run(h *health, until time.Duration, at func(d time.Duration, from, to string, changed bool) bool) {
	frames := pendingFrames
	pendingFrames = nil
	fi := 0
	for d := time.Duration(0); d <= until; d += 250 * time.Millisecond {
		for fi < len(frames) && frames[fi].at <= d {
			h.frame(t0.Add(frames[fi].at), 5000, frames[fi].key, frames[fi].hash)
			fi++
		}
		from, to, _, changed := h.tick(t0.Add(d))
		if !at(d, from, to, changed) {
			return
		}
	}
}

func distinct(i int) uint64 { return uint64(i + 1) }

func TestHealthTransitions(t *testing.T) {
	type check struct {
		at    time.Duration
		state string
		cause string
	}
	tests := []struct {
		name   string
		setup  func(h *health)
		checks []check
	}{
		{"never seen is unknown, frames for the settle time make it online",
			func(h *health) { h.connect(t0); feed(h, 0, 30*time.Second, 25, 25, distinct) },
			[]check{{0, StateUnknown, ""}, {9 * time.Second, StateUnknown, ""}, {10 * time.Second, StateOnline, CauseRecovered}}},
		{"cannot connect at start: offline at once with the cause",
			func(h *health) { h.fail(t0, CauseRefused, "connection refused") },
			[]check{{0, StateOffline, CauseRefused}}},
		{"3 fps instead of 25: degraded, low_fps",
			func(h *health) { h.connect(t0); feed(h, 0, 40*time.Second, 3, 3, distinct) },
			[]check{{15 * time.Second, StateDegraded, CauseLowFPS}}},
		{"frames stop with the connection open: offline after offline_after, stalled",
			func(h *health) { h.connect(t0); feed(h, 0, 20*time.Second, 25, 25, distinct) },
			[]check{{15 * time.Second, StateOnline, ""}, {29 * time.Second, StateOnline, ""}, {30*time.Second + time.Millisecond, StateOffline, CauseStalled}}},
		{"the same frame over and over: offline, stalled",
			func(h *health) {
				h.connect(t0)
				feed(h, 0, 15*time.Second, 25, 25, distinct)
				feed(h, 15*time.Second, 40*time.Second, 25, 25, func(int) uint64 { return 42 })
			},
			[]check{{14 * time.Second, StateOnline, ""}, {30 * time.Second, StateOffline, CauseStalled}}},
		{"keyframes stop for three intervals: degraded, no_keyframe",
			func(h *health) {
				h.connect(t0)
				feed(h, 0, 15*time.Second, 25, 25, distinct)                // a keyframe a second
				feed(h, 15*time.Second, 30*time.Second, 25, 1000, distinct) // none after the first
			},
			[]check{{14 * time.Second, StateOnline, ""}, {29 * time.Second, StateDegraded, CauseNoKeyframe}}},
		{"packet loss above 2 %: degraded, loss",
			func(h *health) {
				h.connect(t0)
				feed(h, 0, 30*time.Second, 25, 25, distinct)
				h.packets(1000, 50)
			},
			[]check{{20 * time.Second, StateDegraded, CauseLoss}}},
		{"maintenance overrides, and ends",
			func(h *health) {
				h.connect(t0)
				feed(h, 0, 60*time.Second, 25, 25, distinct)
				h.maintUntil = t0.Add(30 * time.Second)
			},
			[]check{{20 * time.Second, StateMaintenance, CauseMaint}, {40 * time.Second, StateOnline, CauseRecovered}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHealth(cfg, t0)
			tt.setup(h)
			ci := 0
			run(h, time.Minute, func(d time.Duration, _, _ string, _ bool) bool {
				for ci < len(tt.checks) && d >= tt.checks[ci].at {
					c := tt.checks[ci]
					if h.state != c.state || (c.cause != "" && h.cause != c.cause) {
						t.Fatalf("at %s: %s (%s), want %s (%s)", c.at, h.state, h.cause, c.state, c.cause)
					}
					ci++
				}
				return ci < len(tt.checks)
			})
		})
	}
}

// A short gap in frames is not an outage (it may show as degraded: frames
// were lost), and coming back after an outage waits for the settle time.
func TestHealthHysteresis(t *testing.T) {
	h := newHealth(cfg, t0)
	h.connect(t0)
	feed(h, 0, 20*time.Second, 25, 25, distinct)
	feed(h, 24*time.Second, 60*time.Second, 25, 25, distinct) // a 4 s gap
	run(h, 60*time.Second, func(d time.Duration, _, to string, changed bool) bool {
		if changed && d > 11*time.Second && to == StateOffline {
			t.Fatalf("offline at %s for a 4 s gap", d)
		}
		return true
	})
	// An outage, then frames again: offline until the settle time passed.
	h2 := newHealth(cfg, t0)
	h2.connect(t0)
	feed(h2, 0, 20*time.Second, 25, 25, distinct)
	feed(h2, 40*time.Second, 70*time.Second, 25, 25, distinct)
	var back time.Duration
	run(h2, 70*time.Second, func(d time.Duration, _, to string, changed bool) bool {
		if changed && to == StateOnline && d > 20*time.Second {
			back = d
		}
		return true
	})
	if back < 50*time.Second || back > 50*time.Second+250*time.Millisecond {
		t.Fatalf("back online at %s, want at 50 s (frames from 40 s + 10 s settle)", back)
	}
}

// Just after a connect, before the first frame, a camera is neither
// offline nor stalled: a 3 fps camera's first frame comes 333 ms later,
// and without the grace it was declared offline at the first tick (0.25 s),
// opening a false village outage on every start.
func TestGraceAfterConnect(t *testing.T) {
	slow := cfg
	slow.FPS = 0 // learn the camera's own rate: 3 fps is its normal
	h := newHealth(slow, t0)
	h.connect(t0)
	feed(h, 400*time.Millisecond, 40*time.Second, 3, 3, distinct)
	var states []string
	run(h, 40*time.Second, func(d time.Duration, _, to string, changed bool) bool {
		if changed {
			states = append(states, fmt.Sprintf("%s@%s", to, d))
		}
		if h.stalled(t0.Add(d), t0) {
			t.Fatalf("stalled at %s", d)
		}
		return true
	})
	if len(states) != 1 || !strings.HasPrefix(states[0], StateOnline) {
		t.Fatalf("transitions %v, want only online", states)
	}

	// Connected and nothing ever comes: offline (stalled) once the grace is
	// over, not before.
	h = newHealth(cfg, t0)
	h.connect(t0)
	run(h, 10*time.Second, func(d time.Duration, _, to string, changed bool) bool {
		st := h.stalled(t0.Add(d), t0)
		switch {
		case d < 5*time.Second && (h.state != StateUnknown || st):
			t.Fatalf("at %s: %s stalled=%v during the grace", d, h.state, st)
		case d > 5*time.Second && (h.state != StateOffline || h.cause != CauseStalled || !st):
			t.Fatalf("at %s: %s (%s) stalled=%v after the grace, want offline (stalled)", d, h.state, h.cause, st)
		}
		return true
	})
}

// A long GOP lengthens the grace to two keyframe intervals.
func TestGraceFollowsKeyframeInterval(t *testing.T) {
	h := newHealth(cfg, t0)
	h.keyInterval = 4 * time.Second
	h.connect(t0)
	if h.grace() != 8*time.Second || !h.awaitingFirst(t0.Add(7*time.Second)) || h.awaitingFirst(t0.Add(9*time.Second)) {
		t.Fatalf("grace %s", h.grace())
	}
}

// A probe-mode camera's state is its checks' verdict: one failure is a
// sample (unchanged state), failures spanning offline_after are offline
// with the last one's cause, one answer is online, and a bad media verdict
// on an answering camera is degraded with its reason.
func TestProbeStates(t *testing.T) {
	h := newHealth(cfg, t0)
	var p probeState
	apply := func(at time.Time) (string, string) {
		next, why := p.verdict()
		h.probeTick(at, next, why)
		return h.state, h.cause
	}
	p.alive, p.answered = 1, true
	if st, _ := apply(t0); st != StateOnline {
		t.Fatalf("after an answer: %s", st)
	}
	p.fails, p.failFirst, p.failCause = 1, t0.Add(time.Minute), CauseReset
	if spans(p.fails, p.failFirst, t0.Add(time.Minute), 10*time.Second) {
		t.Fatal("one failure decided")
	}
	if st, _ := apply(t0.Add(time.Minute)); st != StateOnline {
		t.Fatalf("after one failure: %s", st)
	}
	if spans(3, t0, t0.Add(9*time.Second), 10*time.Second) || !spans(2, t0, t0.Add(10*time.Second), 10*time.Second) {
		t.Fatal("the span of the failures does not decide")
	}
	p.alive, p.failCause = -1, CauseRefused
	if st, cause := apply(t0.Add(2 * time.Minute)); st != StateOffline || cause != CauseRefused {
		t.Fatalf("after failures spanning offline_after: %s (%s)", st, cause)
	}
	p.failCause = CauseTimeout
	if st, cause := apply(t0.Add(3 * time.Minute)); st != StateOffline || cause != CauseTimeout {
		t.Fatalf("the last failure's cause is not shown: %s (%s)", st, cause)
	}
	p.alive, p.media, p.mediaCause = 1, -1, CauseNoKeyframe
	if st, cause := apply(t0.Add(4 * time.Minute)); st != StateDegraded || cause != CauseNoKeyframe {
		t.Fatalf("answering with bad video: %s (%s)", st, cause)
	}
}

func TestUptime24h(t *testing.T) {
	h := newHealth(cfg, t0)
	h.history = []stateSpan{{t0, StateOnline}, {t0.Add(18 * time.Hour), StateOffline}, {t0.Add(20 * time.Hour), StateMaintenance}, {t0.Add(22 * time.Hour), StateOnline}}
	up, in := h.uptime24h(t0.Add(24 * time.Hour))
	// online 18 h + 2 h, offline 2 h, maintenance left out: 20/22.
	if up != 0.9091 || in[StateMaintenance] != 2*time.Hour {
		t.Fatalf("uptime %v, in %v", up, in)
	}
}
