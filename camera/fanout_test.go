package camera

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"go.uber.org/goleak"
)

// A real SPS/PPS pair (baseline, 480×270) so the init segment is valid.
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x15, 0xd9, 0x01, 0xe0, 0x8f, 0xeb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x62, 0xe4, 0x80}
	testPPS = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
)

func au(idr bool, n byte) [][]byte {
	if idr {
		return [][]byte{{0x65, 0x88, n}}
	}
	return [][]byte{{0x41, 0x9a, n}}
}

func parts(t *testing.T, seg []byte) fmp4.Parts {
	t.Helper()
	var p fmp4.Parts
	if err := p.Unmarshal(seg); err != nil {
		t.Fatalf("segment does not parse: %v", err)
	}
	return p
}

func TestFanoutViewers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newFanout(4)
	f.SetH264Params(testSPS, testPPS)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// Before any keyframe nothing is sent; a GOP starts at a keyframe.
	f.WriteAccessUnit(0, au(false, 0), false)
	a, b := f.Subscribe(), f.Subscribe()
	init, err := a.Init(ctx)
	if err != nil || a.Codec() != "avc1.42c015" {
		t.Fatalf("init: %v codec %q", err, a.Codec())
	}
	var in fmp4.Init
	if err := in.Unmarshal(bytes.NewReader(init)); err != nil || len(in.Tracks) != 1 {
		t.Fatalf("init segment does not parse: %v", err)
	}
	for i := 0; i < 4; i++ {
		f.WriteAccessUnit(int64(i)*3600, au(i == 0, byte(i)), i == 0)
	}
	sa, _ := a.Next(ctx)
	sb, _ := b.Next(ctx)
	if !bytes.Equal(sa, sb) {
		t.Fatal("two viewers got different bytes for the same frame")
	}
	p := parts(t, sa)
	if p[0].Tracks[0].Samples[0].IsNonSyncSample || p[0].Tracks[0].BaseTime != 0 || p[0].Tracks[0].Samples[0].Duration != 3600 {
		t.Fatalf("first segment: %+v", p[0].Tracks[0].Samples[0])
	}

	// A viewer joining mid-GOP starts at that GOP's keyframe.
	c := f.Subscribe()
	c.Init(ctx)
	sc, _ := c.Next(ctx)
	if parts(t, sc)[0].Tracks[0].Samples[0].IsNonSyncSample {
		t.Fatal("a new viewer did not start at a keyframe")
	}
	if !bytes.Equal(sc, sa) {
		t.Fatal("a new viewer did not get the GOP from its keyframe")
	}

	// b stops reading: its queue (4, plus room for a GOP to start from)
	// fills, it drops until the next keyframe; a reads on and gets every
	// frame.
	got := 0
	for i := 4; i < 400; i++ {
		f.WriteAccessUnit(int64(i)*3600, au(i%10 == 0, byte(i)), i%10 == 0)
		for {
			select {
			case <-a.ch:
				got++
				continue
			default:
			}
			break
		}
	}
	if b.Dropped() == 0 {
		t.Fatal("the slow viewer dropped nothing")
	}
	for len(b.ch) > 0 {
		<-b.ch
	}
	// After its queue, the slow viewer resumes at a keyframe.
	f.WriteAccessUnit(400*3600, au(true, 0), true)
	f.WriteAccessUnit(401*3600, au(false, 1), false)
	next, _ := b.Next(ctx)
	if parts(t, next)[0].Tracks[0].Samples[0].IsNonSyncSample {
		t.Fatal("the slow viewer resumed on a frame that is not a keyframe")
	}
	// Frames 0..398 have segments (a frame's leaves when the next arrives);
	// frame 0's was read above.
	if got != 398 {
		t.Fatalf("the reading viewer got %d segments", got)
	}

	f.Close()
	for len(a.ch) > 0 { // what was already queued may still be read
		<-a.ch
	}
	if _, err := a.Next(ctx); !errors.Is(err, ErrFanoutClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	a.Close()
	b.Close()
	c.Close()
}
