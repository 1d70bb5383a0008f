package notify

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Step is one committed incident step as the outbox gives it: what notify
// reads, routes and tells people about. Seq orders the outbox (the cursor);
// ID is the step's stable id, carried by every notice and repeat of it so a
// receiver can drop duplicates.
type Step struct {
	Seq      uint64    `json:"seq"`
	ID       string    `json:"id"`
	Incident string    `json:"incident"`
	Action   string    `json:"action"` // open | dispatch | accept | assign | supervise | escalate | acknowledge | ...
	At       time.Time `json:"at"`
	By       string    `json:"by,omitempty"`
	State    string    `json:"state,omitempty"` // the incident's state after the step
	Severity string    `json:"severity"`
	Kind     string    `json:"kind,omitempty"`
	Title    string    `json:"title"`
	Township string    `json:"township"`
	Village  string    `json:"village,omitempty"`
	Source   string    `json:"source,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`  // of the step now awaited
	Tier     int       `json:"tier,omitempty"`     // supervision tier
	Assignee string    `json:"assignee,omitempty"` // the person's name
	// AssigneePhone is @-mentioned in group messages.
	AssigneePhone string `json:"assignee_phone,omitempty"`
	Rating        string `json:"rating,omitempty"`
	Note          string `json:"note,omitempty"`
	// Data is the incident as the public API shows it after the step, for
	// webhooks and MQTT out (nil when the source does not carry it).
	Data any `json:"data,omitempty"`
}

// Source is where committed steps come from: the incident outbox, read by
// cursor. After returns up to max steps with Seq > cursor, in order; Wake is
// signalled (without blocking) when new steps were committed, and may be nil
// (notify then polls).
type Source interface {
	After(ctx context.Context, cursor uint64, max int) ([]Step, error)
	Wake() <-chan struct{}
}

// Acker is a Source that wants to know how far notify has routed, so the
// outbox keeps what notify has not read yet (its pruning waits for every
// consumer's cursor).
type Acker interface {
	Ack(cursor uint64) error
}

// MemSource is a Source held in memory: for tests, the benchmark, and as the
// shape an outbox adapter takes.
type MemSource struct {
	mu    sync.Mutex
	steps []Step
	wake  chan struct{}
}

// NewMemSource returns an empty source.
func NewMemSource() *MemSource { return &MemSource{wake: make(chan struct{}, 1)} }

// Add appends steps, numbering those without a Seq after the last one, and
// giving those without an ID one made of their Seq.
func (m *MemSource) Add(steps ...Step) {
	m.mu.Lock()
	for _, s := range steps {
		if s.Seq == 0 {
			s.Seq = uint64(len(m.steps)) + 1
			if n := len(m.steps); n > 0 && m.steps[n-1].Seq >= s.Seq {
				s.Seq = m.steps[n-1].Seq + 1
			}
		}
		if s.ID == "" {
			s.ID = formatSeq(s.Seq)
		}
		m.steps = append(m.steps, s)
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// After implements Source.
func (m *MemSource) After(_ context.Context, cursor uint64, max int) ([]Step, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := sort.Search(len(m.steps), func(i int) bool { return m.steps[i].Seq > cursor })
	end := min(len(m.steps), i+max)
	return append([]Step(nil), m.steps[i:end]...), nil
}

// Wake implements Source.
func (m *MemSource) Wake() <-chan struct{} { return m.wake }
