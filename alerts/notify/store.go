package notify

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The store keeps, in one bbolt file under the data directory: the outbox
// cursor, one queue per channel, the reminders waiting for a step, the
// robots' recent sends and the SMS budgets, and the record of every notice
// sent. Routing a step, queueing its notices and advancing the cursor is one
// transaction, so a crash either routed a step or did not; a notice leaves
// its queue only after the vendor accepted it (at least once).
type store struct {
	db *bolt.DB
}

var (
	bMeta    = []byte("meta")
	bHist    = []byte("history")
	bRepeat  = []byte("repeats")
	kCursor  = []byte("cursor")
	qPrefix  = "queue/"
	limPrefx = "limits/"
)

func formatSeq(s uint64) string { return strconv.FormatUint(s, 10) }

func be64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func openStore(path string) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bHist, bRepeat} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

func (s *store) cursor() (uint64, error) {
	var c uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(kCursor); len(v) == 8 {
			c = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return c, err
}

func enqueue(tx *bolt.Tx, n *Notice) error {
	b, err := tx.CreateBucketIfNotExists([]byte(qPrefix + n.Channel))
	if err != nil {
		return err
	}
	seq, _ := b.NextSequence()
	n.Key = seq
	v, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return b.Put(be64(seq), v)
}

// repeat is a reminder waiting for its step to be taken.
type repeat struct {
	Notice Notice        `json:"notice"` // the first channel's notice, chain included
	Every  time.Duration `json:"every"`
	Max    int           `json:"max"`
	Count  int           `json:"count"`
	Next   time.Time     `json:"next"`
	Until  []string      `json:"until,omitempty"` // empty: any step a person takes
}

func repeatKey(incident, route, stepID string) []byte {
	return []byte(incident + "\x00" + route + "\x00" + stepID)
}

// routed is what routing one batch of steps produced.
type routed struct {
	cursor  uint64
	notices []*Notice
	repeats []repeat
	// stop lists incidents whose reminders end, with the step that ended
	// them (checked against each reminder's Until).
	stop []stopRepeat
}

type stopRepeat struct {
	incident, action string
	ack              bool
}

// commit queues a batch's notices, adds and ends reminders and advances the
// cursor, in one transaction.
func (s *store) commit(r *routed) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		rb := tx.Bucket(bRepeat)
		for _, st := range r.stop {
			c := rb.Cursor()
			prefix := []byte(st.incident + "\x00")
			for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
				var rp repeat
				if err := json.Unmarshal(v, &rp); err != nil {
					_ = c.Delete()
					continue
				}
				if st.ack || stopsRepeat(rp.Until, st.action) {
					if err := c.Delete(); err != nil {
						return err
					}
				}
			}
		}
		for _, n := range r.notices {
			if err := enqueue(tx, n); err != nil {
				return err
			}
		}
		for _, rp := range r.repeats {
			v, _ := json.Marshal(rp)
			if err := rb.Put(repeatKey(rp.Notice.Step.Incident, rp.Notice.Route, rp.Notice.Step.ID), v); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put(kCursor, be64(r.cursor))
	})
}

func hasPrefix(k, p []byte) bool { return len(k) >= len(p) && string(k[:len(p)]) == string(p) }

// fireRepeats queues every reminder due at now and returns when the next is
// due (zero: none).
func (s *store) fireRepeats(now time.Time) (fired int, next time.Time, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		rb := tx.Bucket(bRepeat)
		c := rb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var rp repeat
			if json.Unmarshal(v, &rp) != nil {
				_ = c.Delete()
				continue
			}
			if rp.Next.After(now) {
				if next.IsZero() || rp.Next.Before(next) {
					next = rp.Next
				}
				continue
			}
			rp.Count++
			n := rp.Notice
			n.Repeat, n.Queued = rp.Count, now
			if err := enqueue(tx, &n); err != nil {
				return err
			}
			fired++
			if rp.Count >= rp.Max {
				if err := c.Delete(); err != nil {
					return err
				}
				continue
			}
			rp.Next = now.Add(rp.Every)
			if next.IsZero() || rp.Next.Before(next) {
				next = rp.Next
			}
			nv, _ := json.Marshal(rp)
			// Put under a cursor is allowed for an existing key.
			if err := rb.Put(k, nv); err != nil {
				return err
			}
		}
		return nil
	})
	return fired, next, err
}

// pending returns up to max queued notices of channel, oldest first.
func (s *store) pending(channel string, max int) ([]*Notice, error) {
	var out []*Notice
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(qPrefix + channel))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			n := &Notice{}
			if err := json.Unmarshal(v, n); err != nil {
				continue
			}
			n.Key = binary.BigEndian.Uint64(k)
			out = append(out, n)
		}
		return nil
	})
	return out, err
}

// queued counts a channel's queue.
func (s *store) queued(channel string) int {
	n := 0
	_ = s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(qPrefix + channel)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

// outcome is what one delivery attempt changes, written in one transaction.
type outcome struct {
	channel string
	remove  []*Notice // delivered, or moved on
	update  []*Notice // stays queued, changed (Copied, People)
	move    []*Notice // to other channels' queues
	records []Record
	sends   []time.Time // the robot's recent sends after this attempt
	sms     map[string]*smsBudget
}

func (s *store) apply(o *outcome) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		qb, err := tx.CreateBucketIfNotExists([]byte(qPrefix + o.channel))
		if err != nil {
			return err
		}
		for _, n := range o.remove {
			if err := qb.Delete(be64(n.Key)); err != nil {
				return err
			}
		}
		for _, n := range o.update {
			v, _ := json.Marshal(n)
			if err := qb.Put(be64(n.Key), v); err != nil {
				return err
			}
		}
		for _, n := range o.move {
			if err := enqueue(tx, n); err != nil {
				return err
			}
		}
		hb := tx.Bucket(bHist)
		for _, r := range o.records {
			seq, _ := hb.NextSequence()
			k := append([]byte(r.Incident+"\x00"), be64(seq)...)
			v, _ := json.Marshal(r)
			if err := hb.Put(k, v); err != nil {
				return err
			}
		}
		if o.sends != nil || o.sms != nil {
			lb, err := tx.CreateBucketIfNotExists([]byte(limPrefx + o.channel))
			if err != nil {
				return err
			}
			if o.sends != nil {
				v, _ := json.Marshal(o.sends)
				if err := lb.Put([]byte("sends"), v); err != nil {
					return err
				}
			}
			for phone, b := range o.sms {
				v, _ := json.Marshal(b)
				if err := lb.Put([]byte("sms/"+phone), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// limits reads a channel's recent sends and SMS budgets.
func (s *store) limits(channel string) (sends []time.Time, sms map[string]*smsBudget) {
	sms = map[string]*smsBudget{}
	_ = s.db.View(func(tx *bolt.Tx) error {
		lb := tx.Bucket([]byte(limPrefx + channel))
		if lb == nil {
			return nil
		}
		_ = json.Unmarshal(lb.Get([]byte("sends")), &sends)
		c := lb.Cursor()
		p := []byte("sms/")
		for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
			b := &smsBudget{}
			if json.Unmarshal(v, b) == nil {
				sms[string(k[len(p):])] = b
			}
		}
		return nil
	})
	return sends, sms
}

// history returns the notices recorded for an incident, oldest first.
func (s *store) history(incident string) ([]Record, error) {
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bHist).Cursor()
		p := []byte(incident + "\x00")
		for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
			var r Record
			if json.Unmarshal(v, &r) == nil {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}
