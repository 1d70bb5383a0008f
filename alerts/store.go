package alerts

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"snowhub/internal/event"
)

var (
	bucketIncidents   = []byte("incidents")
	bucketMaintenance = []byte("maintenance")
	bucketAudit       = []byte("audit")
	bucketMeta        = []byte("meta")
	bucketOutbox      = []byte("outbox")
	bucketCursors     = []byte("cursors")
	bucketQuarantine  = []byte("quarantine")
	keySeq            = []byte("seq")
	keyOutboxSeq      = []byte("outbox_seq")
	allBuckets        = [][]byte{bucketIncidents, bucketMaintenance, bucketAudit, bucketMeta, bucketOutbox, bucketCursors, bucketQuarantine}
)

// outboxKeep is how many outbox entries stay once every cursor is past
// them: a consumer that comes back within that many steps resumes. An
// entry holds the incident as it stood (a few KiB), so a consumer whose
// cursor stopped moving holds back at most four times as many.
const outboxKeep = 50_000

// store keeps incidents, maintenance windows, the audit log and the outbox
// in bbolt: each change is committed (fsync) before the engine answers.
type store struct {
	db       *bbolt.DB
	path     string
	log      *slog.Logger
	auditSeq atomic.Uint64
	outSeq   atomic.Uint64 // last outbox id written
	outFirst atomic.Uint64 // first outbox id kept
}

func openStore(dir string, log *slog.Logger) (*store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	s := &store{path: filepath.Join(dir, "incidents.db"), log: log}
	if err := s.open(); err != nil {
		if !isDamage(err) {
			return nil, err
		}
		log.Error("incident store damaged: moving it aside and recovering what can be read", "path", s.path, "err", err)
		if err := s.salvage(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// open opens the file and makes the buckets; a panic inside bbolt (a bad
// page) is turned into damage.
func (s *store) open() (err error) {
	defer func() {
		if p := recover(); p != nil {
			if s.db != nil {
				s.db.Close()
				s.db = nil
			}
			err = damage{fmt.Errorf("%v", p)}
		}
	}()
	db, err := bbolt.Open(s.path, 0o640, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		if errors.Is(err, bberrors.ErrTimeout) {
			return fmt.Errorf("open %s: another process holds it: %w", s.path, err)
		}
		if os.IsPermission(err) {
			return fmt.Errorf("open %s: %w", s.path, err)
		}
		return damage{fmt.Errorf("open %s: %w", s.path, err)}
	}
	s.db = db
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		s.db = nil
		return damage{err}
	}
	return nil
}

// loaded is what load read.
type loaded struct {
	recs  []*record
	seq   int
	maint []event.Maintenance
}

// load reads every incident and window. A record that does not decode is
// quarantined (moved to the quarantine bucket and named in the log) and the
// rest load; a bad page makes the whole file move aside and what can be
// read is copied to a new one. The sequence is the highest of the stored
// key and the ids present, so a lost key never makes a new incident
// overwrite an old one.
func (s *store) load() (loaded, error) {
	l, bad, err := s.read()
	if isDamage(err) {
		s.log.Error("incident store damaged while reading: moving it aside and recovering what can be read", "path", s.path, "err", err)
		if err := s.salvage(); err != nil {
			return loaded{}, err
		}
		l, bad, err = s.read()
	}
	if err != nil {
		return loaded{}, err
	}
	if len(bad) > 0 {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			q := tx.Bucket(bucketQuarantine)
			for _, b := range bad {
				qk := append(append([]byte{}, b.bucket...), append([]byte{'/'}, b.key...)...)
				if err := q.Put(qk, b.val); err != nil {
					return err
				}
				if err := tx.Bucket(b.bucket).Delete(b.key); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return loaded{}, fmt.Errorf("quarantine unreadable records: %w", err)
		}
		for _, b := range bad {
			s.log.Error("unreadable record quarantined; the others loaded", "bucket", string(b.bucket), "key", string(b.key), "err", b.err)
		}
	}
	return l, nil
}

type badRecord struct {
	bucket, key, val []byte
	err              error
}

func (s *store) read() (l loaded, bad []badRecord, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = damage{fmt.Errorf("%v", p)}
		}
	}()
	err = s.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySeq); len(v) == 8 {
			l.seq = int(binary.BigEndian.Uint64(v))
		}
		if v := tx.Bucket(bucketMeta).Get(keyOutboxSeq); len(v) == 8 {
			s.outSeq.Store(binary.BigEndian.Uint64(v))
		}
		if k, _ := tx.Bucket(bucketOutbox).Cursor().Last(); len(k) == 8 {
			s.outSeq.Store(max(s.outSeq.Load(), binary.BigEndian.Uint64(k)))
		}
		if k, _ := tx.Bucket(bucketOutbox).Cursor().First(); len(k) == 8 {
			s.outFirst.Store(binary.BigEndian.Uint64(k))
		}
		var kvs [][2][]byte // valid while the transaction is open
		if err := tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
			kvs = append(kvs, [2][]byte{k, v})
			return nil
		}); err != nil {
			return err
		}
		// Decoding is most of a start (100,000 incidents: about 200 MiB of
		// JSON): spread over the cores, each into its own part of recs, with
		// the Go team's encoding/json/v2 prototype in its v1 mode (the same
		// semantics as encoding/json, which wrote them): 1.3-1.8 s against
		// 1.9-2.0 s (docs/performance.md, BenchmarkStats100k).
		recs := make([]*record, len(kvs))
		errs := make([]error, len(kvs))
		workers := min(runtime.GOMAXPROCS(0), max(len(kvs)/1000, 1))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(kvs); i += workers {
					r := &record{}
					if err := jsonv1.Unmarshal(kvs[i][1], r); err != nil {
						errs[i] = err
					} else if r.ID != string(kvs[i][0]) {
						errs[i] = fmt.Errorf("id %q under key %q", r.ID, kvs[i][0])
					} else {
						recs[i] = r
					}
				}
			})
		}
		wg.Wait()
		l.recs = make([]*record, 0, len(kvs))
		for i, r := range recs {
			if errs[i] != nil {
				bad = append(bad, badRecord{bucketIncidents, clone(kvs[i][0]), clone(kvs[i][1]), errs[i]})
				continue
			}
			l.seq = max(l.seq, idSeq(r.ID))
			l.recs = append(l.recs, r)
		}
		if err := tx.Bucket(bucketMaintenance).ForEach(func(k, v []byte) error {
			var m event.Maintenance
			if err := json.Unmarshal(v, &m); err != nil {
				bad = append(bad, badRecord{bucketMaintenance, clone(k), clone(v), err})
				return nil
			}
			l.seq = max(l.seq, idSeq(m.ID))
			l.maint = append(l.maint, m)
			return nil
		}); err != nil {
			return err
		}
		if k, _ := tx.Bucket(bucketAudit).Cursor().Last(); len(k) == 16 {
			s.auditSeq.Store(binary.BigEndian.Uint64(k[8:]))
		}
		return nil
	})
	return
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// idSeq is the sequence number at the end of an id (INC-20261124-0042, MW-0007).
func idSeq(id string) int {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(id[i+1:])
	if err != nil {
		return 0
	}
	return n
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// commit writes changed incidents and one outbox entry per new step (or an
// "update" entry for a record changed without a step) in one transaction:
// one fsync. Step ids are set on the records before they are encoded.
func (s *store) commit(recs []*record, base map[string]int, seq int) ([]uint64, error) {
	next := s.outSeq.Load()
	var ids []uint64
	type entry struct {
		id  uint64
		val []byte
	}
	var entries []entry
	pending := make([][2]int, 0, len(recs)) // record index, history index (-1: update)
	for i, r := range recs {
		from := base[r.ID]
		if from >= len(r.History) {
			next++
			ids = append(ids, next)
			pending = append(pending, [2]int{i, -1})
			continue
		}
		for h := from; h < len(r.History); h++ {
			next++
			r.History[h].ID = next
			ids = append(ids, next)
			pending = append(pending, [2]int{i, h})
		}
	}
	vals := make([][]byte, len(recs))
	for i, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		vals[i] = b
	}
	for n, p := range pending {
		r := recs[p[0]]
		en := Entry{ID: ids[n], Action: "update", At: r.LastSeen, Incident: r.view()}
		if p[1] >= 0 {
			st := r.History[p[1]]
			en.Action, en.At, en.Step = st.Action, st.At, st.ID
		}
		b, err := json.Marshal(en)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{ids[n], b})
	}
	first := s.outFirst.Load()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketIncidents)
		for i, r := range recs {
			if err := b.Put([]byte(r.ID), vals[i]); err != nil {
				return err
			}
		}
		ob := tx.Bucket(bucketOutbox)
		for _, en := range entries {
			if err := ob.Put(u64(en.id), en.val); err != nil {
				return err
			}
		}
		if first == 0 && len(entries) > 0 {
			first = entries[0].id
		}
		first = pruneOutbox(tx, first, next)
		if err := tx.Bucket(bucketMeta).Put(keyOutboxSeq, u64(next)); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySeq, u64(uint64(seq)))
	})
	if err != nil {
		return nil, err
	}
	s.outSeq.Store(next)
	s.outFirst.Store(first)
	return ids, nil
}

// pruneOutbox drops the oldest entries past outboxKeep that every cursor
// has passed, a few at a time.
func pruneOutbox(tx *bbolt.Tx, first, last uint64) uint64 {
	if first == 0 || last-first < outboxKeep {
		return first
	}
	low := last
	_ = tx.Bucket(bucketCursors).ForEach(func(_, v []byte) error {
		if len(v) == 8 {
			low = min(low, binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if last-first >= 4*outboxKeep {
		low = last // a stalled consumer's cursor no longer holds the outbox back
	}
	ob := tx.Bucket(bucketOutbox)
	for n := 0; n < 64 && first <= low && last-first >= outboxKeep; n++ {
		_ = ob.Delete(u64(first))
		first++
	}
	return first
}

func (s *store) saveMaintenance(m event.Maintenance, seq int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketMaintenance).Put([]byte(m.ID), b); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySeq, u64(uint64(seq)))
	})
}

// getIncidents reads incidents from the store (the archive).
func (s *store) getIncidents(ids []string) ([]*record, error) {
	out := make([]*record, 0, len(ids))
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketIncidents)
		for _, id := range ids {
			v := b.Get([]byte(id))
			if v == nil {
				continue
			}
			r := &record{}
			if err := json.Unmarshal(v, r); err != nil {
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

func (s *store) close() error {
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	return err
}
