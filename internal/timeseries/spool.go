package timeseries

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// spool is an append-only, checksummed queue of line-protocol records on
// disk. Append writes into the OS page cache (a process crash loses
// nothing appended); Sync makes it survive a power cut. A reader cursor,
// persisted after each delivered batch, says what InfluxDB already has.
//
// Record: 4-byte little-endian length, 4-byte CRC-32C of the payload, payload.
type spool struct {
	dir     string
	segSize int64

	mu      sync.Mutex
	segs    []int64 // segment numbers on disk, ascending
	w       *os.File
	wSeg    int64
	wOff    int64
	dirty   bool
	bytes   int64 // on disk, all segments
	cur     cursor
	pending int64 // records appended, not yet committed (approximate after restart)

	// Corrupt spans found (a CRC failure followed by valid records): their
	// bytes are copied to quarantine/ once, skipped, and counted.
	quarantined map[cursor]string // start → file the bytes were moved to
	onCorrupt   func(seg, off, n int64, file string)
	// writeFile is the append's write; tests make it fail part-way as a
	// full disk does.
	writeFile func(f *os.File, b []byte) (int, error)
}

type cursor struct {
	seg int64
	off int64
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

const headerSize = 8

func openSpool(dir string, segSize int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	s := &spool{dir: dir, segSize: segSize}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".seg"); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil {
				s.segs = append(s.segs, v)
			}
		}
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i] < s.segs[j] })
	if b, err := os.ReadFile(filepath.Join(dir, "cursor")); err == nil {
		fmt.Sscanf(string(b), "%d %d", &s.cur.seg, &s.cur.off)
	}
	if len(s.segs) == 0 {
		s.segs = []int64{1}
	}
	if s.cur.seg < s.segs[0] {
		s.cur = cursor{seg: s.segs[0]}
	}
	// The last segment may end in a record torn by a crash: keep what is
	// whole, cut the rest. A bad record followed by good ones is not a torn
	// tail but corruption: it is skipped (and quarantined) when read, and
	// nothing after it is cut.
	last := s.segs[len(s.segs)-1]
	valid := int64(0)
	if data, err := os.ReadFile(s.segPath(last)); err == nil {
		valid = scanSegment(data, 0).end
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(s.segPath(last), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(valid); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(valid, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	s.w, s.wSeg, s.wOff = f, last, valid
	for _, seg := range s.segs {
		if st, err := os.Stat(s.segPath(seg)); err == nil {
			s.bytes += st.Size()
		}
	}
	// What InfluxDB has not taken yet: every whole record after the cursor.
	for _, seg := range s.segs {
		if seg < s.cur.seg {
			continue
		}
		from := int64(0)
		if seg == s.cur.seg {
			from = s.cur.off
		}
		_, n, _ := scanValid(s.segPath(seg), from)
		s.pending += int64(n)
	}
	return s, nil
}

func (s *spool) segPath(n int64) string { return filepath.Join(s.dir, fmt.Sprintf("%016d.seg", n)) }

// scanValid returns where the whole records of a file starting at off end,
// and how many there are (corrupt spans skipped).
func scanValid(path string, off int64) (int64, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	if off > int64(len(data)) {
		return off, 0, nil
	}
	sc := scanSegment(data, off)
	return sc.end, sc.records, nil
}

// span is a byte range [from, to) of a segment.
type span struct{ from, to int64 }

// scan is what a segment holds from an offset on.
type scan struct {
	records int
	bad     []span // corrupt records, each followed by a valid one
	end     int64  // after the last valid record: a torn tail starts here
}

const maxRecord = 1 << 24

// recordAt reports the length of the valid record at off in data, or -1.
func recordAt(data []byte, off int64) int64 {
	if off+headerSize > int64(len(data)) {
		return -1
	}
	l := int64(binary.LittleEndian.Uint32(data[off:]))
	if l == 0 || l > maxRecord || off+headerSize+l > int64(len(data)) {
		return -1
	}
	rec := data[off+headerSize : off+headerSize+l]
	if crc32.Checksum(rec, crcTable) != binary.LittleEndian.Uint32(data[off+4:]) {
		return -1
	}
	return headerSize + l
}

// scanSegment walks the records of data from off. A record that fails its
// check is corruption when a valid record follows it somewhere in the
// file (a flipped bit, a bad sector): the bad bytes up to that record are
// a bad span and the walk goes on. Only when nothing valid follows is it a
// torn tail (a crash in the middle of an append).
func scanSegment(data []byte, off int64) scan {
	sc := scan{end: off}
	for off < int64(len(data)) {
		if n := recordAt(data, off); n > 0 {
			sc.records++
			off += n
			sc.end = off
			continue
		}
		next := int64(-1)
		for q := off + 1; q+headerSize < int64(len(data)); q++ {
			if recordAt(data, q) > 0 {
				next = q
				break
			}
		}
		if next < 0 {
			return sc // a torn tail from off on
		}
		sc.bad = append(sc.bad, span{off, next})
		off = next
	}
	return sc
}

// append adds records; they are in the page cache when it returns.
func (s *spool) append(recs ...[]byte) error {
	var buf []byte
	for _, r := range recs {
		var hdr [headerSize]byte
		binary.LittleEndian.PutUint32(hdr[:], uint32(len(r)))
		binary.LittleEndian.PutUint32(hdr[4:], crc32.Checksum(r, crcTable))
		buf = append(buf, hdr[:]...)
		buf = append(buf, r...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wOff+int64(len(buf)) > s.segSize && s.wOff > 0 {
		if err := s.rollLocked(); err != nil {
			return err
		}
	}
	write := (*os.File).Write
	if s.writeFile != nil {
		write = s.writeFile
	}
	if _, err := write(s.w, buf); err != nil {
		// A short write (a full disk) leaves part of a record: cut the
		// file back to the last whole record, so the next append and the
		// reader find a clean end rather than a jam.
		if terr := s.w.Truncate(s.wOff); terr != nil {
			err = errors.Join(err, fmt.Errorf("truncate back to %d: %w", s.wOff, terr))
		}
		if _, serr := s.w.Seek(s.wOff, io.SeekStart); serr != nil {
			err = errors.Join(err, serr)
		}
		return fmt.Errorf("spool write: %w", err)
	}
	s.wOff += int64(len(buf))
	s.bytes += int64(len(buf))
	s.pending += int64(len(recs))
	s.dirty = true
	return nil
}

// rollLocked starts the next segment. The new file is opened before the
// current one is closed, so a failure (a full disk) leaves the spool
// writing where it was rather than holding a closed file.
func (s *spool) rollLocked() error {
	if err := s.w.Sync(); err != nil {
		return err
	}
	next := s.wSeg + 1
	f, err := os.OpenFile(s.segPath(next), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	s.w.Close()
	s.w, s.wSeg, s.wOff = f, next, 0
	s.segs = append(s.segs, next)
	return nil
}

// sync makes every appended record survive a power cut.
func (s *spool) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	s.dirty = false
	return s.w.Sync()
}

// read returns up to max records after the cursor, and where they end.
func (s *spool) read(max int) ([][]byte, cursor, error) {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	return s.readFrom(cur, max)
}

// readFrom is read from a cursor not yet committed: the batch after the
// one in flight.
func (s *spool) readFrom(cur cursor, max int) ([][]byte, cursor, error) {
	s.mu.Lock()
	wSeg, wOff := s.wSeg, s.wOff
	s.mu.Unlock()
	var out [][]byte
	for len(out) < max {
		limit := int64(-1)
		if cur.seg == wSeg {
			limit = wOff
			if cur.off >= wOff {
				break
			}
		}
		f, err := os.Open(s.segPath(cur.seg))
		if errors.Is(err, os.ErrNotExist) && cur.seg < wSeg {
			cur = cursor{seg: cur.seg + 1}
			continue
		}
		if err != nil {
			return out, cur, err
		}
		if _, err := f.Seek(cur.off, io.SeekStart); err != nil {
			f.Close()
			return out, cur, err
		}
		r := bufio.NewReaderSize(f, 256<<10)
		hdr := make([]byte, headerSize)
		eof := false
		for len(out) < max && (limit < 0 || cur.off < limit) {
			if _, err := io.ReadFull(r, hdr); err != nil {
				eof = true
				break
			}
			l := binary.LittleEndian.Uint32(hdr)
			var rec []byte
			ok := l > 0 && l <= maxRecord && (limit < 0 || cur.off+headerSize+int64(l) <= limit)
			if ok {
				rec = make([]byte, l)
				_, err := io.ReadFull(r, rec)
				ok = err == nil && crc32.Checksum(rec, crcTable) == binary.LittleEndian.Uint32(hdr[4:])
			}
			if !ok {
				// Corruption (or the torn tail of a sealed segment): skip
				// the bad bytes, quarantined, and read on after them.
				next, err := s.skipCorrupt(cur, limit)
				if err != nil {
					f.Close()
					return out, cur, err
				}
				if next.seg != cur.seg {
					eof = true
					break
				}
				cur = next
				if _, err := f.Seek(cur.off, io.SeekStart); err != nil {
					f.Close()
					return out, cur, err
				}
				r.Reset(f)
				continue
			}
			out = append(out, rec)
			cur.off += headerSize + int64(l)
		}
		f.Close()
		if cur.seg == wSeg || (!eof && len(out) >= max) {
			break
		}
		cur = cursor{seg: cur.seg + 1}
	}
	return out, cur, nil
}

// skipCorrupt is called when the record at c fails its check. It finds
// the next valid record of the segment (within limit for the segment being
// written), copies the bad bytes to quarantine/ once, and returns where
// reading goes on: that record, or the next segment when none follows.
func (s *spool) skipCorrupt(c cursor, limit int64) (cursor, error) {
	data, err := os.ReadFile(s.segPath(c.seg))
	if err != nil {
		return c, err
	}
	if limit >= 0 && limit < int64(len(data)) {
		data = data[:limit]
	}
	sc := scanSegment(data, c.off)
	next := cursor{seg: c.seg + 1}
	to := int64(len(data))
	if len(sc.bad) > 0 && sc.bad[0].from == c.off {
		next, to = cursor{seg: c.seg, off: sc.bad[0].to}, sc.bad[0].to
	} else if limit >= 0 {
		// The segment being written: its bytes up to limit are ours and
		// whole, so a failure here is corruption up to the end.
		next = cursor{seg: c.seg, off: limit}
	}
	s.quarantine(c, data[c.off:to])
	return next, nil
}

// quarantine copies a corrupt span aside, once, and reports it.
func (s *spool) quarantine(c cursor, bad []byte) {
	s.mu.Lock()
	if s.quarantined == nil {
		s.quarantined = map[cursor]string{}
	}
	if _, done := s.quarantined[c]; done {
		s.mu.Unlock()
		return
	}
	file := filepath.Join(s.dir, "quarantine", fmt.Sprintf("%016d-%d.bad", c.seg, c.off))
	s.quarantined[c] = file
	s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err == nil {
		if err := os.WriteFile(file, bad, 0o640); err != nil {
			file = "(not saved: " + err.Error() + ")"
		}
	}
	if s.onCorrupt != nil {
		s.onCorrupt(c.seg, c.off, int64(len(bad)), file)
	}
}

// quarantinedFiles lists the corrupt spans moved aside.
func (s *spool) quarantinedFiles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.quarantined))
	for _, f := range s.quarantined {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// commit moves the cursor past delivered records and removes segments
// wholly delivered. Only the writer goroutine calls it; the file work is
// done outside the lock, so producers appending are never held behind it.
func (s *spool) commit(c cursor, n int) error {
	s.mu.Lock()
	s.cur = c
	s.pending -= int64(n)
	if s.pending < 0 {
		s.pending = 0
	}
	var gone []string
	for len(s.segs) > 1 && s.segs[0] < c.seg {
		path := s.segPath(s.segs[0])
		if st, err := os.Stat(path); err == nil {
			s.bytes -= st.Size()
		}
		gone = append(gone, path)
		s.segs = s.segs[1:]
	}
	s.mu.Unlock()
	for _, path := range gone {
		os.Remove(path)
	}
	tmp := filepath.Join(s.dir, "cursor.tmp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", c.seg, c.off)), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.dir, "cursor"))
}

// dropOldest removes the oldest sealed segment to make room, moving the
// cursor past it. It reports how many bytes went.
func (s *spool) dropOldest() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) < 2 {
		return 0
	}
	seg := s.segs[0]
	st, err := os.Stat(s.segPath(seg))
	if err != nil {
		return 0
	}
	os.Remove(s.segPath(seg))
	s.segs = s.segs[1:]
	s.bytes -= st.Size()
	if s.cur.seg <= seg {
		s.cur = cursor{seg: s.segs[0]}
	}
	return st.Size()
}

func (s *spool) size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

func (s *spool) backlog() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return nil
	}
	err := s.w.Sync()
	s.w.Close()
	s.w = nil
	return err
}
