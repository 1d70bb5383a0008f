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
	// whole, cut the rest.
	last := s.segs[len(s.segs)-1]
	valid, _, err := scanValid(s.segPath(last), 0)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
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
// and how many there are.
func scanValid(path string, off int64) (int64, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, 0, err
	}
	r := bufio.NewReader(f)
	n := 0
	hdr := make([]byte, headerSize)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return off, n, nil
		}
		l := binary.LittleEndian.Uint32(hdr)
		if l > 1<<24 {
			return off, n, nil
		}
		buf := make([]byte, l)
		if _, err := io.ReadFull(r, buf); err != nil || crc32.Checksum(buf, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return off, n, nil
		}
		off += headerSize + int64(l)
		n++
	}
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
	if _, err := s.w.Write(buf); err != nil {
		return fmt.Errorf("spool write: %w", err)
	}
	s.wOff += int64(len(buf))
	s.bytes += int64(len(buf))
	s.pending += int64(len(recs))
	s.dirty = true
	return nil
}

func (s *spool) rollLocked() error {
	if err := s.w.Sync(); err != nil {
		return err
	}
	s.w.Close()
	next := s.wSeg + 1
	f, err := os.OpenFile(s.segPath(next), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
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
	cur, wSeg, wOff := s.cur, s.wSeg, s.wOff
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
			rec := make([]byte, l)
			if _, err := io.ReadFull(r, rec); err != nil || crc32.Checksum(rec, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
				eof = true // a corrupt tail of a sealed segment: skip to the next
				break
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
