package camera

import (
	"context"
	"errors"
	"time"

	"snowhub/camera/rtsp"
)

var (
	errNoKeyframe          = errors.New("no keyframe within the probe timeout")
	errEndedBeforeKeyframe = errors.New("stream ended before a keyframe")
	errMediaDone           = errors.New("media check done")
)

// probeState is what a probe-mode camera's checks know. One failed check
// is a sample, not the state: a failed liveness check is tried again at
// once on a fresh connection, and the camera is offline only when its
// failures go on for OfflineAfter; one good answer brings it back.
type probeState struct {
	alive int8 // liveness: 0 not known yet, 1 answers, -1 offline (failures spanned OfflineAfter)
	// The run of consecutive failed liveness checks: how many, when the
	// first failed, the last one's cause, and whether a retry is queued.
	fails     int
	failFirst time.Time
	failCause string
	retrying  bool
	answered  bool // the camera has answered a liveness check since it was added

	// The media check (PLAY to a keyframe) says whether an answering
	// camera's video is good: 0 not judged yet, 1 good, -1 not
	// (degraded, mediaCause). Its failures too count only when they go
	// on for OfflineAfter.
	media          int8
	mediaCause     string
	mediaFails     int
	mediaFailFirst time.Time
	mediaQueued    bool
	// mediaDue is when the one media check the schedule holds for this
	// camera is due: a queued check with another time was replaced (the
	// periodic one, when the camera came back and needs one now) and is
	// dropped when it comes up.
	mediaDue   time.Time
	mediaRetry time.Time // a camera judged degraded is looked at again with back-off, not at every liveness check
	lastCheck  time.Time
	lastMedia  time.Time
	fps, kbps  float64
}

// verdict is the probe-mode camera's state from its checks' evidence.
func (p *probeState) verdict() (state, cause string) {
	switch {
	case p.alive < 0:
		return StateOffline, p.failCause
	case p.alive == 0:
		return StateUnknown, ""
	case p.media < 0:
		return StateDegraded, p.mediaCause
	}
	return StateOnline, CauseRecovered
}

// spans reports a run of failures that decides: at least two (the first
// was tried again on a fresh connection) lasting OfflineAfter.
func spans(fails int, first, now time.Time, after time.Duration) bool {
	return fails >= 2 && now.Sub(first) >= after
}

// retryIn is how soon a failed check is tried again: a few tries fit in
// OfflineAfter, jittered so that cameras behind one dropped link do not
// come back in step.
func (m *Manager) retryIn() time.Duration {
	base := min(m.o.BackoffMin, m.o.OfflineAfter/4)
	return base/2 + jitter(base)
}

// liveness runs the cheap check (DESCRIBE, no media). An answer is the
// camera online (the media check, queued now when its video has not been
// judged, says whether it is degraded); a failure is tried again soon and
// becomes the state only when the failures span OfflineAfter.
func (w *worker) liveness(ctx context.Context, retry bool) {
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
	if retry {
		p.retrying = false
	}
	var retryAt time.Time
	queueMedia := false
	if err != nil {
		w.errors++
		w.h.lastErr = redactErr(err, w.spec.URL)
		if p.fails == 0 {
			p.failFirst = now
		}
		p.fails++
		p.failCause = classify(err)
		switch {
		case spans(p.fails, p.failFirst, now, w.m.o.OfflineAfter):
			if p.alive >= 0 {
				p.alive, p.media, p.mediaFails = -1, 0, 0
				w.h.lastFrame = time.Time{}
			}
		case !p.retrying:
			p.retrying = true
			retryAt = now.Add(w.m.retryIn())
		}
	} else {
		was := p.alive
		p.alive, p.fails, p.answered = 1, 0, true
		w.h.lastFrame = now
		if p.media >= 0 {
			w.h.lastErr = ""
		}
		if was != 1 || p.media != 1 {
			// Back, or its video never judged: look at the media now
			// (unless a degraded camera's back-off runs). Back from an
			// outage, the periodic check queued while it worked
			// (media_check_interval away) is replaced.
			queueMedia = (!p.mediaQueued || was == -1) && !now.Before(p.mediaRetry)
		}
	}
	if queueMedia {
		p.mediaQueued, p.mediaDue = true, now
	}
	w.mu.Unlock()
	if !retryAt.IsZero() {
		w.m.sched.at(w, jobRetry, retryAt, true)
	}
	if queueMedia {
		w.m.sched.at(w, jobMedia, now, true) // a camera that just answered goes ahead of routine checks
	}
	w.evaluate()
}

// media runs the media check: PLAY to the first keyframe, then a second
// more to estimate the frame rate and bitrate. A failure is tried again
// soon and judges the video (degraded) only when it goes on for
// OfflineAfter; the next check is due after MediaCheckInterval, or with
// back-off while the video is judged bad.
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
		err = errEndedBeforeKeyframe
	}
	now := w.m.o.Now()
	w.mu.Lock()
	p := &w.probe
	p.mediaQueued = false
	p.lastMedia = now
	w.h.connected = false
	next, urgent := now.Add(w.m.o.MediaCheckInterval), false
	if err != nil {
		w.errors++
		w.h.lastErr = redactErr(err, w.spec.URL)
		if p.mediaFails == 0 {
			p.mediaFailFirst = now
		}
		p.mediaFails++
		if spans(p.mediaFails, p.mediaFailFirst, now, w.m.o.OfflineAfter) {
			p.media, p.mediaCause = -1, classify(err)
			back := min(w.m.o.BackoffMin<<min(p.mediaFails, 20), w.m.o.MediaCheckInterval)
			p.mediaRetry = now.Add(jitter(back))
			next = time.Time{} // the next liveness check queues it after the back-off
		} else {
			next, urgent = now.Add(w.m.retryIn()), true
			p.mediaQueued, p.mediaDue = true, next
		}
	} else {
		p.media, p.mediaCause, p.mediaFails, p.mediaRetry = 1, "", 0, time.Time{}
		if d := now.Sub(firstKey).Seconds(); d > 0 && frames > 1 {
			p.fps = float64(frames-1) / d
			p.kbps = float64(bytes*8) / 1000 / d
		}
		w.h.lastErr = ""
		w.h.lastFrame = now
		p.mediaQueued, p.mediaDue = true, next
	}
	w.mu.Unlock()
	if !next.IsZero() {
		w.m.sched.at(w, jobMedia, next, urgent)
	}
	w.evaluate()
}
