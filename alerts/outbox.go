package alerts

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Entry is one committed step in the outbox.
type Entry = event.OutboxEntry

// Outbox is the ordered, durable record of committed steps. Consumers read
// it by cursor, at least once, and resume after a restart from the cursor
// they saved.
type Outbox struct {
	s      *store
	mu     sync.Mutex
	notify chan struct{} // closed and replaced at each commit
}

func (o *Outbox) wakeAll() {
	o.mu.Lock()
	close(o.notify)
	o.notify = make(chan struct{})
	o.mu.Unlock()
}

func (o *Outbox) changed() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.notify
}

// Changed is closed at the next commit: a consumer outside this package
// takes it before reading and waits on it after (the notifier).
func (o *Outbox) Changed() <-chan struct{} { return o.changed() }

// Last is the id of the last committed entry.
func (o *Outbox) Last() uint64 { return o.s.outSeq.Load() }

// Read returns up to limit entries after id, in order.
func (o *Outbox) Read(after uint64, limit int) ([]Entry, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	out := []Entry{}
	err := o.s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var en Entry
			if err := json.Unmarshal(v, &en); err != nil {
				continue
			}
			out = append(out, en)
		}
		return nil
	})
	return out, err
}

// Cursor is a consumer's saved position (0: from the start).
func (o *Outbox) Cursor(name string) (uint64, error) {
	var n uint64
	err := o.s.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketCursors).Get([]byte(name)); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return n, err
}

// SetCursor saves a consumer's position after it handled entry id.
func (o *Outbox) SetCursor(name string, id uint64) error {
	return o.s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketCursors).Put([]byte(name), u64(id)) })
}

// StepEvent is an outbox entry as the event stream carries it: the
// incident as it stood after the step.
func StepEvent(en Entry) event.Event {
	inc := en.Incident
	return event.Event{Type: event.IncidentStep, Time: en.At, Township: inc.Township, Village: inc.Village,
		Device: inc.Device, Data: inc}
}

// Relay delivers the outbox to one consumer in order: it reads from the
// consumer's cursor, calls deliver for each entry, retries an entry that
// failed (with a growing pause), and saves the cursor after each batch.
// After a crash it resumes from the saved cursor: an entry delivered but
// not yet saved comes again (at least once), none is skipped.
type Relay struct {
	box     *Outbox
	name    string
	log     *slog.Logger
	deliver func(context.Context, Entry) error
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewRelay builds a relay; Start runs it.
func NewRelay(box *Outbox, name string, log *slog.Logger, deliver func(context.Context, Entry) error) *Relay {
	return &Relay{box: box, name: name, log: log.With("consumer", name), deliver: deliver}
}

// Start runs the relay's goroutine.
func (r *Relay) Start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go r.run(ctx)
}

// Close stops the relay and waits for it.
func (r *Relay) Close() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
}

func (r *Relay) run(ctx context.Context) {
	defer close(r.done)
	cur, err := r.box.Cursor(r.name)
	if err != nil {
		r.log.Error("outbox cursor not readable; starting from the end", "err", err)
		cur = r.box.Last()
	}
	pause := 100 * time.Millisecond
	for {
		wake := r.box.changed()
		batch, err := r.box.Read(cur, 256)
		if err != nil {
			r.log.Error("outbox read", "err", err)
		}
		for _, en := range batch {
			for {
				err := r.deliver(ctx, en)
				if err == nil {
					pause = 100 * time.Millisecond
					break
				}
				r.log.Warn("outbox entry not delivered; retrying", "id", en.ID, "err", err)
				select {
				case <-ctx.Done():
					r.save(cur)
					return
				case <-time.After(pause):
				}
				pause = min(2*pause, 30*time.Second)
			}
			cur = en.ID
		}
		if len(batch) > 0 {
			r.save(cur)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(time.Second):
		}
	}
}

func (r *Relay) save(cur uint64) {
	if err := r.box.SetCursor(r.name, cur); err != nil {
		r.log.Error("outbox cursor not saved", "err", err)
	}
}

// ReadOutbox is the outbox for a person or another system over the API:
// the county's to read.
func (e *Engine) ReadOutbox(p auth.Principal, after uint64, limit int) ([]Entry, error) {
	if err := auth.Allow(p, auth.Outbox, auth.Scope{}); err != nil {
		return nil, err
	}
	return e.box.Read(after, limit)
}
