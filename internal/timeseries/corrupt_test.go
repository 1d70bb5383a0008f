package timeseries

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snowhub/configs"
	"snowhub/internal/event"
)

func readAll(t *testing.T, s *spool) []string {
	t.Helper()
	var got []string
	for {
		recs, cur, err := s.read(50)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return got
		}
		for _, r := range recs {
			got = append(got, string(r))
		}
		if err := s.commit(cur, len(recs)); err != nil {
			t.Fatal(err)
		}
	}
}

// One flipped bit in the middle of a segment loses the one record it hit:
// the bytes are quarantined and every record after it is read, whether the
// segment is sealed or the one being written, and whether the bit hit a
// payload or a length.
func TestSpoolBitFlipLosesOnlyTheDamagedRecord(t *testing.T) {
	for _, tc := range []struct {
		name    string
		segSize int64
		flip    func(size int64) int64 // byte to flip, given the file's size
	}{
		{"payload in the last segment", 1 << 20, func(size int64) int64 { return size / 5 }},
		{"length in the last segment", 1 << 20, func(size int64) int64 { return 0 }},
		{"payload in a sealed segment", 4000, func(size int64) int64 { return size / 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := openSpool(dir, tc.segSize)
			if err != nil {
				t.Fatal(err)
			}
			const n = 400
			for i := 0; i < n; i++ {
				if err := s.append([]byte(fmt.Sprintf("m,sensor=s-%03d value=%d", i, i))); err != nil {
					t.Fatal(err)
				}
			}
			s.close()
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			victim := segs[0]
			b, _ := os.ReadFile(victim)
			off := tc.flip(int64(len(b)))
			if off == 0 {
				off = 2 // the length's third byte: a huge length
			}
			b[off] ^= 0x10
			os.WriteFile(victim, b, 0o640)

			s, err = openSpool(dir, tc.segSize)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			var reported int
			s.onCorrupt = func(_, _, _ int64, _ string) { reported++ }
			got := readAll(t, s)
			if len(got) != n-1 {
				t.Fatalf("read %d of %d records after one flipped bit", len(got), n)
			}
			if reported != 1 {
				t.Fatalf("corruption reported %d times, want 1", reported)
			}
			q, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*.bad"))
			if len(q) != 1 {
				t.Fatalf("quarantine holds %v", q)
			}
			if err := s.append([]byte("m v=after")); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, s); len(got) != 1 {
				t.Fatalf("after the repair read %q", got)
			}
		})
	}
}

// A full disk cuts an append short: the spool cuts the file back to the
// last whole record, so the next append and the reader carry on, and a
// restart keeps everything after it.
func TestSpoolShortWriteIsCutBack(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		s.append([]byte(fmt.Sprintf("m v=%d", i)))
	}
	s.writeFile = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2])
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	if err := s.append([]byte("m v=lost-to-a-full-disk")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on a full disk: %v", err)
	}
	s.writeFile = nil // space is back
	for i := 10; i < 20; i++ {
		if err := s.append([]byte(fmt.Sprintf("m v=%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := readAll(t, s); len(got) != 20 {
		t.Fatalf("read %d of 20 records after a short write: %q", len(got), got)
	}
	for i := 20; i < 30; i++ {
		s.append([]byte(fmt.Sprintf("m v=%d", i)))
	}
	s.close()
	s, err = openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if got := readAll(t, s); len(got) != 10 {
		t.Fatalf("after restart read %d of the 10 undelivered records", len(got))
	}
}

// Start and Close leave no goroutine behind (strict: nothing ignored), and
// nothing is accepted after Close.
func TestWriterStartCloseLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t)
	w, err := New(Options{Config: configs.InfluxConfig{URL: "http://127.0.0.1:1", Bucket: "x"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(context.Background(), event.Event{Type: event.SensorReading, Time: time.Now(), Device: "s-1",
		Data: event.SensorReadingData{Sensor: "s-1", Kind: "smoke", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(context.Background(), event.Event{Type: event.SensorReading, Time: time.Now(), Device: "s-1",
		Data: event.SensorReadingData{Sensor: "s-1", Kind: "smoke", Value: 1}}); err == nil {
		t.Fatal("Record after Close accepted")
	}
	if err := w.Start(context.Background()); err == nil {
		t.Fatal("Start after Close accepted")
	}
}
