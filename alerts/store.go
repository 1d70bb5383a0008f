package alerts

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"snowhub/internal/event"
)

var (
	bucketIncidents   = []byte("incidents")
	bucketMaintenance = []byte("maintenance")
	bucketAudit       = []byte("audit")
	bucketMeta        = []byte("meta")
	keySeq            = []byte("seq")
)

// store keeps incidents, maintenance windows and the audit log in bbolt:
// each change is committed (fsync) before the engine answers.
type store struct {
	db       *bbolt.DB
	auditSeq atomic.Uint64
}

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "incidents.db")
	db, err := bbolt.Open(path, 0o640, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketIncidents, bucketMaintenance, bucketAudit, bucketMeta} {
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

func (s *store) load() (recs []*record, seq int, maint []event.Maintenance, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySeq); len(v) == 8 {
			seq = int(binary.BigEndian.Uint64(v))
		}
		if err := tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
			r := &record{}
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("incident %s: %w", k, err)
			}
			recs = append(recs, r)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMaintenance).ForEach(func(k, v []byte) error {
			var m event.Maintenance
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			maint = append(maint, m)
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

func seqBytes(seq int) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(seq))
	return b
}

// save commits incidents in one transaction (one fsync). The engine calls
// it under its lock, so bbolt's Batch, which waits for company, would only
// add its delay.
func (s *store) save(recs []*record, seq int) error {
	vals := make([][]byte, len(recs))
	for i, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		vals[i] = b
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketIncidents)
		for i, r := range recs {
			if err := b.Put([]byte(r.ID), vals[i]); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySeq, seqBytes(seq))
	})
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
		return tx.Bucket(bucketMeta).Put(keySeq, seqBytes(seq))
	})
}

// audit appends an entry, keyed by time then sequence.
func (s *store) audit(a event.AuditEntry) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	key := make([]byte, 16)
	binary.BigEndian.PutUint64(key, uint64(a.At.UnixNano()))
	binary.BigEndian.PutUint64(key[8:], s.auditSeq.Add(1))
	return s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketAudit).Put(key, b) })
}

func (s *store) auditSince(since time.Time, limit int) ([]event.AuditEntry, error) {
	out := []event.AuditEntry{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		min := uint64(max(since.UnixNano(), 0))
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			if binary.BigEndian.Uint64(k[:8]) < min {
				break
			}
			var a event.AuditEntry
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

func (s *store) close() error { return s.db.Close() }
