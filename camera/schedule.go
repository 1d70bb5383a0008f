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

// scheduler runs every probe-mode camera's checks from one heap: one
// goroutine waits for the next due check, takes a hub-wide connection slot
// and runs the check on a goroutine that ends with it. Checks are spread
// over the interval by each camera's id and keep their phase: the next
// liveness check is due one interval after the previous was due, not after
// it ran. When the hub cannot keep up, checks start late; the lateness is
// measured and reported, and never taken for a camera's failure (a check's
// timeout starts when it runs, not when it was due).
type scheduler struct {
	m    *Manager
	wake chan struct{}

	mu      sync.Mutex
	h       jobHeap
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
	s.at(w, jobLiveness, time.Now().Add(offset(w.spec.ID, s.m.o.ProbeInterval)))
}

func (s *scheduler) at(w *worker, kind jobKind, due time.Time) {
	s.mu.Lock()
	heap.Push(&s.h, job{due: due, w: w, kind: kind})
	first := s.h[0].w == w && s.h[0].kind == kind
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func (s *scheduler) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var j job
		wait := time.Hour
		ready := false
		if len(s.h) > 0 {
			if d := time.Until(s.h[0].due); d <= 0 {
				j, ready = heap.Pop(&s.h).(job), true
			} else {
				wait = d
			}
		}
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
			s.at(j.w, jobLiveness, next)
		}
		w, kind := j.w, j.kind
		s.m.wg.Add(1)
		go func() {
			defer s.m.wg.Done()
			defer s.m.release()
			if kind == jobLiveness {
				w.liveness(w.ctx)
			} else {
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
}

// CheckStats reports the lateness of the probe-mode checks.
func (m *Manager) CheckStats() CheckStats {
	s := m.sched
	s.mu.Lock()
	n := min(s.n, len(s.late))
	l := slices.Clone(s.late[:n])
	st := CheckStats{Checks: s.checks, Skipped: s.skipped, Pending: len(s.h), ProbeInterval: m.o.ProbeInterval,
		ConnectionsInUse: len(m.sem)}
	s.mu.Unlock()
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

// Collectors are the manager's metrics, for the hub's registry.
func (m *Manager) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sched.hist}
}
