package camera

import (
	"container/heap"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type jobKind uint8

const (
	jobLiveness jobKind = iota // DESCRIBE, no media; every ProbeInterval
	jobRetry                   // a failed liveness check tried again on a fresh connection
	jobMedia                   // PLAY to the first keyframe
	jobEvaluate                // a maintenance window ends
)

type job struct {
	due  time.Time
	w    *worker
	kind jobKind
}

type jobHeap []job

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(job)) }
func (h *jobHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = job{}
	*h = old[:n-1]
	return x
}

// scheduler runs every probe-mode camera's checks from two heaps: one
// goroutine waits for the next due check, takes a hub-wide connection slot
// and runs the check on a goroutine that ends with it. The urgent heap
// (a camera's first check, the retry of a failed one, the media check of a
// camera that just answered) goes ahead of the routine one (re-checks of
// cameras already known): when the hub is behind, what nobody knows yet
// is learnt first. Checks are spread
// over the interval by each camera's id and keep their phase: the next
// liveness check is due one interval after the previous was due, not after
// it ran. When the hub cannot keep up, checks start late; the lateness is
// measured and reported, and never taken for a camera's failure (a check's
// timeout starts when it runs, not when it was due).
type scheduler struct {
	m    *Manager
	wake chan struct{}

	mu      sync.Mutex
	urgent  jobHeap
	routine jobHeap
	late    [4096]time.Duration // the most recent checks' lateness, a ring
	n       int
	checks  uint64
	skipped uint64

	hist prometheus.Histogram
}

func newScheduler(m *Manager) *scheduler {
	return &scheduler{m: m, wake: make(chan struct{}, 1),
		hist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "snowhub_camera_check_lateness_seconds",
			Help:    "How late probe-mode camera checks start after they were due (the hub's own delay, not the camera's).",
			Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		})}
}

// offset spreads cameras over the interval by their id.
func offset(id string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(interval))
}

func (s *scheduler) add(w *worker) {
	s.at(w, jobLiveness, time.Now().Add(offset(w.spec.ID, s.m.o.ProbeInterval)), true)
}

func (s *scheduler) at(w *worker, kind jobKind, due time.Time, urgent bool) {
	s.mu.Lock()
	h := &s.routine
	if urgent {
		h = &s.urgent
	}
	heap.Push(h, job{due: due, w: w, kind: kind})
	first := (*h)[0].w == w && (*h)[0].kind == kind
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// nextLocked pops a due job, urgent ones first, or says how long until
// the next is due.
func (s *scheduler) nextLocked(now time.Time) (job, time.Duration, bool) {
	wait := time.Hour
	for _, h := range []*jobHeap{&s.urgent, &s.routine} {
		if len(*h) == 0 {
			continue
		}
		if d := (*h)[0].due.Sub(now); d <= 0 {
			return heap.Pop(h).(job), 0, true
		} else {
			wait = min(wait, d)
		}
	}
	return job{}, wait, false
}

func (s *scheduler) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		j, wait, ready := s.nextLocked(time.Now())
		s.mu.Unlock()
		if !ready {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			case <-timer.C:
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			continue
		}
		if j.w.ctx.Err() != nil {
			continue // the camera was removed or changed
		}
		switch j.kind {
		case jobEvaluate:
			j.w.evaluate()
			continue
		case jobMedia:
			j.w.mu.Lock()
			stale := !j.due.Equal(j.w.probe.mediaDue) // replaced by a sooner one
			dead := !stale && j.w.probe.alive < 0
			if dead {
				j.w.probe.mediaQueued = false
			}
			j.w.mu.Unlock()
			if stale || dead {
				continue // looked at again when liveness comes back
			}
		case jobRetry:
			j.w.mu.Lock()
			done := j.w.probe.fails == 0 // answered meanwhile
			if done {
				j.w.probe.retrying = false
			}
			j.w.mu.Unlock()
			if done {
				continue
			}
		}
		// An overloaded hub waits here: that wait is the lateness.
		if err := s.m.acquire(ctx); err != nil {
			return
		}
		now := time.Now()
		s.record(now.Sub(j.due))
		if j.kind == jobLiveness {
			iv := s.m.o.ProbeInterval
			next := j.due.Add(iv)
			if behind := now.Sub(next); behind >= 0 {
				// More than an interval late: skip the missed checks
				// rather than run them back to back.
				n := behind/iv + 1
				next = next.Add(n * iv)
				s.mu.Lock()
				s.skipped += uint64(n)
				s.mu.Unlock()
			}
			s.at(j.w, jobLiveness, next, false)
		}
		w, kind := j.w, j.kind
		s.m.wg.Add(1)
		go func() {
			defer s.m.wg.Done()
			defer s.m.release()
			switch kind {
			case jobLiveness, jobRetry:
				w.liveness(w.ctx, kind == jobRetry)
			default:
				w.media(w.ctx)
			}
		}()
	}
}

func (s *scheduler) record(d time.Duration) {
	d = max(d, 0)
	s.hist.Observe(d.Seconds())
	s.mu.Lock()
	s.late[s.n%len(s.late)] = d
	s.n++
	s.checks++
	s.mu.Unlock()
}

// CheckStats describes how well the probe-mode checks keep their schedule.
type CheckStats struct {
	Checks, Skipped  uint64        // checks started; liveness checks skipped for being an interval late
	Pending          int           // checks queued
	LatenessP50      time.Duration // over the most recent 4,096 checks
	LatenessP99      time.Duration
	LatenessMax      time.Duration
	ProbeInterval    time.Duration
	ConnectionsInUse int
	ConnectionLimit  int // the slots' limit now: between MaxConnecting and MaxChecks, sized by the answers' latency
	Waiting          int // checks and connections waiting for a slot
}

// CheckStats reports the lateness of the probe-mode checks.
func (m *Manager) CheckStats() CheckStats {
	s := m.sched
	s.mu.Lock()
	n := min(s.n, len(s.late))
	l := slices.Clone(s.late[:n])
	st := CheckStats{Checks: s.checks, Skipped: s.skipped, Pending: len(s.urgent) + len(s.routine), ProbeInterval: m.o.ProbeInterval}
	s.mu.Unlock()
	st.ConnectionsInUse, st.ConnectionLimit, st.Waiting = m.slots.load()
	if n > 0 {
		slices.Sort(l)
		st.LatenessP50, st.LatenessP99, st.LatenessMax = l[n/2], l[min(n-1, n*99/100)], l[n-1]
	}
	return st
}

// Ready fails while the probe-mode checks run late by more than half an
// interval at the 99th percentile: the hub is then too loaded to keep the
// county's check interval, which it says instead of declaring cameras
// offline.
func (m *Manager) Ready() error {
	st := m.CheckStats()
	if st.LatenessP99 > st.ProbeInterval/2 {
		return fmt.Errorf("摄像机巡检落后: p99 %s (巡检间隔 %s); camera checks behind schedule",
			st.LatenessP99.Round(time.Millisecond), st.ProbeInterval)
	}
	return nil
}

// CheckLag is each group's check lag (a group is what Spec.Group names:
// the hub's township): how long the most overdue liveness check of its
// cameras has waited past its due time, 0 when none is overdue. Every
// group with a probe-mode camera is listed.
func (m *Manager) CheckLag() map[string]time.Duration {
	now := time.Now()
	out := map[string]time.Duration{}
	s := m.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range []jobHeap{s.urgent, s.routine} {
		for _, j := range h {
			if j.kind != jobLiveness && j.kind != jobRetry {
				continue
			}
			g := j.w.spec.Group
			lag := max(now.Sub(j.due), 0)
			if cur, ok := out[g]; !ok || lag > cur {
				out[g] = lag
			}
		}
	}
	return out
}

// Collectors are the manager's metrics, for the hub's registry.
func (m *Manager) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sched.hist}
}
