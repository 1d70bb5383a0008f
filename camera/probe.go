package camera

import (
	"context"
	"errors"
	"fmt"
	"time"

	"snowhub/camera/rtsp"
)

var (
	errNoKeyframe = errors.New("no keyframe within the probe timeout")
	errMediaDone  = errors.New("media check done")
)

// probeState is what a probe-mode camera's checks know.
type probeState struct {
	alive       int8 // liveness: 0 unknown, 1 answers, -1 does not
	mediaOK     bool // the last media check saw a keyframe
	mediaQueued bool
	// mediaDue is when the one media check the schedule holds for this
	// camera is due: a queued check with another time was replaced (the
	// periodic one, when the camera came back and needs one now) and is
	// dropped when it comes up.
	mediaDue   time.Time
	mediaFails int
	mediaRetry time.Time // a failed media check is retried with back-off, not at every liveness check
	lastCheck  time.Time
	lastMedia  time.Time
	fps, kbps  float64
}

// liveness runs the cheap check (DESCRIBE, no media) and decides whether a
// media check is due now: when liveness changed, or when the camera answers
// but its media has not yet been seen working.
func (w *worker) liveness(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, w.m.o.ProbeTimeout)
	err := rtsp.Check(cctx, w.options(w.grid.url))
	cancel()
	if ctx.Err() != nil {
		return
	}
	now := w.m.o.Now()
	w.mu.Lock()
	p := &w.probe
	p.lastCheck = now
	was := p.alive
	queueMedia := false
	if err != nil {
		p.alive = -1
		p.mediaOK = false
		w.errors++
		w.h.probed(now, err, classify(err))
		w.h.lastErr = redactErr(err, w.spec.URL)
	} else {
		p.alive = 1
		switch {
		case was != 1 || !p.mediaOK:
			// Back, or never seen working: look at the media before
			// calling it online (unless a failed media check backs off).
			// Back from a failure, it is looked at now: the periodic
			// check queued while it worked (media_check_interval away)
			// is replaced, or the camera would stay offline until then.
			queueMedia = (!p.mediaQueued || was == -1) && !now.Before(p.mediaRetry)
		default:
			w.h.probed(now, nil, "")
		}
	}
	if queueMedia {
		p.mediaQueued, p.mediaDue = true, now
	}
	w.mu.Unlock()
	if queueMedia {
		w.m.sched.at(w, jobMedia, now)
	}
	w.evaluate()
}

// media runs the media check: PLAY to the first keyframe, then a second
// more to estimate the frame rate and bitrate. Its result is the camera's
// state; the next one is due after MediaCheckInterval, or sooner with
// back-off when it failed.
func (w *worker) media(ctx context.Context) {
	measure := w.m.o.MediaSample
	cctx, cancel := context.WithTimeoutCause(ctx, w.m.o.ProbeTimeout, errNoKeyframe)
	defer cancel()
	sctx, stop := context.WithCancelCause(cctx)
	defer stop(nil)
	var firstKey time.Time
	frames, bytes := 0, 0
	s := &session{w: w, cancel: stop, noSlot: true, health: true}
	s.onFrame = func(now time.Time, size int, key bool) {
		if firstKey.IsZero() {
			if !key {
				return
			}
			firstKey = now
		}
		frames++
		bytes += size
		if now.Sub(firstKey) >= measure {
			stop(errMediaDone)
		}
	}
	// The slot was taken by the scheduler; the session must not take one.
	err := rtsp.Read(sctx, w.options(w.grid.url), s)
	if ctx.Err() != nil {
		return
	}
	if errors.Is(err, errNoKeyframe) && !firstKey.IsZero() {
		err = errMediaDone // a keyframe came late, the measuring second did not end before the timeout: working
	}
	if errors.Is(err, errMediaDone) {
		err = nil
	} else if err == nil {
		err = fmt.Errorf("stream ended before a keyframe")
	}
	now := w.m.o.Now()
	w.mu.Lock()
	p := &w.probe
	p.mediaQueued = false
	p.lastMedia = now
	w.h.connected = false
	next := now.Add(w.m.o.MediaCheckInterval)
	if err != nil {
		p.mediaOK = false
		p.mediaFails++
		w.errors++
		w.h.probed(now, err, classify(err))
		w.h.lastErr = redactErr(err, w.spec.URL)
		back := min(w.m.o.BackoffMin<<min(p.mediaFails, 20), w.m.o.MediaCheckInterval)
		p.mediaRetry = now.Add(jitter(back))
		next = time.Time{} // the next liveness check queues it after the back-off
	} else {
		p.mediaOK, p.mediaFails, p.mediaRetry = true, 0, time.Time{}
		if d := now.Sub(firstKey).Seconds(); d > 0 && frames > 1 {
			p.fps = float64(frames-1) / d
			p.kbps = float64(bytes*8) / 1000 / d
		}
		w.h.probed(now, nil, "")
		p.mediaQueued, p.mediaDue = true, next
	}
	w.mu.Unlock()
	if !next.IsZero() {
		w.m.sched.at(w, jobMedia, next)
	}
	w.evaluate()
}
