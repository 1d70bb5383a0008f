package alerts

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"

	"snowhub/internal/event"
)

// The audit trail: records appended in the order written, each carrying
// the hash of the one before, and the check of that chain.

// audit appends an entry, keyed by time then sequence, carrying the hash
// of the record before it (verifyAudit). The key's time never goes back
// (a clock stepped back, callers' times a little out of order), so the
// key order is the order of writing and the chain can be walked by it;
// the record keeps its own time.
func (s *store) audit(a event.AuditEntry) error {
	a = capAudit(a)
	return s.db.Update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketAudit)
		at := uint64(max(a.At.UnixNano(), 0))
		if k, v := bk.Cursor().Last(); k != nil {
			if len(k) == 16 {
				at = max(at, binary.BigEndian.Uint64(k[:8]))
			}
			sum := sha256.Sum256(v)
			a.Prev = hex.EncodeToString(sum[:])
		}
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		key := make([]byte, 16)
		binary.BigEndian.PutUint64(key, at)
		binary.BigEndian.PutUint64(key[8:], s.auditSeq.Add(1))
		return bk.Put(key, b)
	})
}

// AuditCheck is what verifying the audit chain found.
type AuditCheck struct {
	Records int    // records read
	Legacy  int    // leading records written by an older hub, before the chain: not covered
	Last    string // SHA-256 of the last record: note it to detect a cut tail later
	Pruned  int    // records removed for age (audit.keep) before the first one checked
}

// verifyAudit walks the audit records in the order written and checks each
// one's prev against the hash of the one before. Records without prev are
// accepted only before the first chained one (written by an older hub). The
// error names the first broken record. Removing records from the end
// cannot be seen from inside: compare Last with a copy kept elsewhere.
func verifyAudit(tx *bbolt.Tx) (AuditCheck, error) {
	var out AuditCheck
	// expect is the hash the next record must carry: after records were
	// removed for age, the anchor kept with the removal.
	anc := auditAnchorOf(tx)
	expect, chained := anc.Prev, anc.Prev != ""
	out.Pruned = anc.Pruned
	var last []byte
	err := tx.Bucket(bucketAudit).ForEach(func(k, v []byte) error {
		out.Records++
		var a event.AuditEntry
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("审计记录 %d 无法读取 (audit record %d unreadable): %w", out.Records, out.Records, err)
		}
		at := a.At.Format(time.RFC3339Nano)
		switch {
		case a.Prev == "" && !chained:
			out.Legacy++
		case a.Prev == "":
			return fmt.Errorf("审计记录 %d（%s）缺少链接，已被改动 (audit record %d, %s: its link is missing, it was edited)", out.Records, at, out.Records, at)
		case expect == "":
			return fmt.Errorf("审计记录 %d（%s）之前的记录被删除 (audit record %d, %s: the records before it were removed)", out.Records, at, out.Records, at)
		case a.Prev != expect:
			return fmt.Errorf("审计记录 %d（%s）之前的记录被改动或删除 (audit record %d, %s: the record before it was edited or removed)", out.Records, at, out.Records, at)
		default:
			chained = true
		}
		sum := sha256.Sum256(v)
		expect, last = hex.EncodeToString(sum[:]), v
		return nil
	})
	if out.Legacy > 0 {
		out.Legacy-- // the first record of a chain has no link either, and the next one covers it
	}
	if last != nil {
		out.Last = expect
	}
	return out, err
}

// auditAnchor is what a removal of old records keeps, so the chain after
// it stays checkable: the hash of the last record removed, and counts.
type auditAnchor struct {
	Prev   string    `json:"prev"`
	Pruned int       `json:"pruned"` // records removed for age, in all
	Before time.Time `json:"before"` // the last removal took those before this time
}

var keyAuditAnchor = []byte("audit_anchor")

func auditAnchorOf(tx *bbolt.Tx) auditAnchor {
	var a auditAnchor
	if b := tx.Bucket(bucketMeta); b != nil {
		if v := b.Get(keyAuditAnchor); v != nil {
			_ = json.Unmarshal(v, &a) // unreadable: no anchor, and the check says the records before were removed
		}
	}
	return a
}

// pruneBatch bounds one removal's transaction.
const pruneBatch = 5000

// pruneAudit removes the records written before before, oldest first, at
// most pruneBatch in one transaction (it says whether more are left), and
// keeps the anchor that lets the check start after them. The removal is
// itself recorded in the trail by the caller.
func (s *store) pruneAudit(before time.Time) (removed int, more bool, err error) {
	limit := uint64(max(before.UnixNano(), 0))
	err = s.db.Update(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		var last []byte
		for k, v := c.First(); k != nil; k, v = c.First() {
			if len(k) == 16 && binary.BigEndian.Uint64(k[:8]) >= limit {
				break
			}
			if removed == pruneBatch {
				more = true
				break
			}
			last = append(last[:0], v...)
			if err := c.Delete(); err != nil {
				return err
			}
			removed++
		}
		if removed == 0 {
			return nil
		}
		anc := auditAnchorOf(tx)
		sum := sha256.Sum256(last)
		anc.Prev, anc.Pruned, anc.Before = hex.EncodeToString(sum[:]), anc.Pruned+removed, before.UTC()
		if _, v := c.First(); v != nil {
			var next event.AuditEntry
			if json.Unmarshal(v, &next) == nil && next.Prev == "" {
				anc.Prev = "" // records of a hub older than the chain remain: they start it
			}
		}
		b, err := json.Marshal(anc)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyAuditAnchor, b)
	})
	return removed, more, err
}

// auditBytes is the trail's size as stored (keys and values).
func (s *store) auditBytes() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketAudit).ForEach(func(k, v []byte) error { n += int64(len(k) + len(v)); return nil })
	})
	return n, err
}

// VerifyAudit checks the audit chain of the store under dir (data_dir),
// opened read-only: the hub must not be running on it (bbolt's lock).
func VerifyAudit(dir string) (AuditCheck, error) {
	path := filepath.Join(dir, "incidents.db")
	if _, err := os.Stat(path); err != nil {
		return AuditCheck{}, fmt.Errorf("audit: %w", err)
	}
	db, err := bbolt.Open(path, 0o640, &bbolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return AuditCheck{}, fmt.Errorf("audit: open %s (is the hub running on it?): %w", path, err)
	}
	defer db.Close()
	var out AuditCheck
	err = db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketAudit) == nil {
			return nil
		}
		var err error
		out, err = verifyAudit(tx)
		return err
	})
	return out, err
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
				continue // one bad entry does not hide the others
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}
