package camera

import (
	"context"
	"sync"
)

// slots bounds the connections being made and the checks in flight, hub
// wide, under a limit that can move while waiters wait (the tuner grows
// it while answers are slow and the CPU idle). Waiters are served in the
// order they came.
type slots struct {
	mu      sync.Mutex
	used    int
	limit   int
	waiters []chan struct{}
}

func newSlots(limit int) *slots { return &slots{limit: max(limit, 1)} }

func (s *slots) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.used < s.limit && len(s.waiters) == 0 {
		s.used++
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-ch: // granted as ctx ended: give it back
			s.used--
			s.grantLocked()
		default:
			for i, c := range s.waiters {
				if c == ch {
					s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
					break
				}
			}
		}
		return ctx.Err()
	}
}

func (s *slots) release() {
	s.mu.Lock()
	s.used--
	s.grantLocked()
	s.mu.Unlock()
}

func (s *slots) grantLocked() {
	for len(s.waiters) > 0 && s.used < s.limit {
		close(s.waiters[0])
		s.waiters[0] = nil
		s.waiters = s.waiters[1:]
		s.used++
	}
}

func (s *slots) setLimit(n int) {
	s.mu.Lock()
	s.limit = max(n, 1)
	s.grantLocked()
	s.mu.Unlock()
}

// load is the slots in use, the limit and how many wait.
func (s *slots) load() (used, limit, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.limit, len(s.waiters)
}
