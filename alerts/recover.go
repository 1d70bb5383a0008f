package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.etcd.io/bbolt"
)

// Recovery of a damaged store: what bbolt cannot read is moved aside and
// named in the log; every record still readable is kept.

// damage is a store that bbolt cannot read: a bad page, a bad meta page.
type damage struct{ err error }

func (d damage) Error() string { return "damaged: " + d.err.Error() }
func isDamage(err error) bool  { return errors.As(err, new(damage)) }

// salvage moves the damaged file aside (incidents.db.damaged-TIME, kept for
// a person to look at) and copies every record that can still be read into
// a fresh store.
func (s *store) salvage() error {
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
	aside := fmt.Sprintf("%s.damaged-%s", s.path, time.Now().UTC().Format("20060102T150405"))
	if err := os.Rename(s.path, aside); err != nil {
		return fmt.Errorf("move the damaged store aside: %w", err)
	}
	s.log.Error("damaged incident store moved aside", "path", aside)
	if err := s.open(); err != nil {
		return fmt.Errorf("new incident store: %w", err)
	}
	copied, lost := copyReadable(aside, s.db, s.log)
	s.log.Warn("incident store recovered", "records_copied", copied, "buckets_cut_short", lost, "damaged_copy", aside)
	return nil
}

// copyReadable copies what it can read of src into dst, bucket by bucket;
// a bad page ends its bucket's copy, not the others'.
func copyReadable(src string, dst *bbolt.DB, log *slog.Logger) (copied, lost int) {
	db, err := openReadOnly(src)
	if err != nil {
		log.Error("damaged store cannot be opened at all; starting empty", "path", src, "err", err)
		return 0, len(allBuckets)
	}
	defer db.Close()
	for _, name := range allBuckets {
		var kvs [][2][]byte
		cut := false
		func() {
			defer func() {
				if p := recover(); p != nil {
					lost++
					cut = true
					log.Error("bad page: the rest of this bucket cannot be read through its tree", "bucket", string(name), "copied", len(kvs), "err", p)
				}
			}()
			_ = db.View(func(tx *bbolt.Tx) error {
				b := tx.Bucket(name)
				if b == nil {
					return nil
				}
				c := b.Cursor()
				for k, v := c.First(); k != nil; k, v = c.Next() {
					if v != nil {
						kvs = append(kvs, [2][]byte{clone(k), clone(v)})
					}
				}
				return nil
			})
		}()
		if string(name) == string(bucketIncidents) && cut {
			// The tree above some leaf was unreadable: read the leaves
			// themselves for the incidents the cursor could not reach.
			have := map[string]bool{}
			for _, kv := range kvs {
				have[string(kv[0])] = true
			}
			found := 0
			for id, r := range scanIncidents(src) {
				if have[id] {
					continue
				}
				v, err := json.Marshal(r)
				if err != nil {
					continue
				}
				kvs = append(kvs, [2][]byte{[]byte(id), v})
				found++
			}
			log.Warn("incidents read from the damaged file's leaf pages", "found", found)
		}
		if err := dst.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(name)
			for _, kv := range kvs {
				if err := b.Put(kv[0], kv[1]); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			log.Error("copy recovered records", "bucket", string(name), "err", err)
		}
		copied += len(kvs)
	}
	return copied, lost
}

func openReadOnly(path string) (db *bbolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return bbolt.Open(path, 0o400, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
}
