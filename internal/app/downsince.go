package app

import (
	"context"
	"sync"
	"time"

	"snowhub/camera"
)

// downSince keeps when each offline camera's outage began (down_since),
// which a restart of the hub does not reset: the camera's live state
// starts again as unknown and its since is the restart, but the outage
// it is in began before. The time series already holds every recorded
// transition; at start the hub reads from it the outages that were still
// open (timeseries.OngoingOutages) and joins them with the transitions it
// sees itself, so no second store is kept.
type downSince struct {
	mu       sync.Mutex
	start    map[string]time.Time // offline cameras: the start of the outage they are in
	recorded map[string]time.Time // read at start: the outage a camera was in before it
	left     map[string]bool      // cameras that have left offline in this process: the recorded outage is over
}

func newDownSince() *downSince {
	return &downSince{start: map[string]time.Time{}, recorded: map[string]time.Time{}, left: map[string]bool{}}
}

// transition follows one camera transition (called before it is published,
// so every event and answer after it carries the outage's start).
func (d *downSince) transition(id, to string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if to != camera.StateOffline {
		delete(d.start, id)
		d.left[id] = true
		return
	}
	if _, ok := d.start[id]; ok {
		return
	}
	if rec, ok := d.recorded[id]; ok && !d.left[id] && rec.Before(at) {
		at = rec
	}
	d.start[id] = at
}

// seed adds the outages recorded before this process; one a camera has
// left since is over and ignored.
func (d *downSince) seed(rec map[string]time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, at := range rec {
		if d.left[id] {
			continue
		}
		d.recorded[id] = at
		if cur, ok := d.start[id]; ok && at.Before(cur) {
			d.start[id] = at
		}
	}
}

// of is the start of camera id's outage for a camera in state (zero unless
// it is offline); since is its live state's, for an outage not seen begin.
func (d *downSince) of(id, state string, since time.Time) time.Time {
	if state != camera.StateOffline {
		return time.Time{}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if at, ok := d.start[id]; ok {
		return at
	}
	return since
}

// recoverDownSince reads the outages open before this process from the
// time series, once what a previous run left in the spool has reached
// InfluxDB (or a few seconds have passed), trying again while InfluxDB
// does not answer.
func (h *Hub) recoverDownSince(ctx context.Context, started time.Time) {
	defer h.wg.Done()
	for i := 0; i < 50 && h.ts.Stats().Backlog > 0; i++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		q, cancel := context.WithTimeout(ctx, 30*time.Second)
		rec, err := h.ts.OngoingOutages(q, time.Now())
		cancel()
		if err == nil {
			h.down.seed(rec)
			h.log.Info("outages open before the start read from the time series", "cameras", len(rec), "took", time.Since(started).Round(time.Millisecond))
			return
		}
		h.log.Warn("outages open before the start not read yet: down_since of those cameras counts from this start", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
