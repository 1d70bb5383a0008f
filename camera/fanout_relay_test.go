package camera

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// A relayed stream (NewFanout fed by SetInit and WriteSegment) behaves for
// its viewers as a camera's own: it starts at a keyframe, a new viewer gets
// the GOP, a changed init restarts the viewers, and the bytes pass through
// unchanged.
func TestFanoutRelaysSegments(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	src := newFanout(64)
	src.SetH264Params(testSPS, testPPS)
	tap := src.Subscribe()
	defer tap.Close()
	for i := 0; i < 7; i++ { // two GOPs: keyframes at 0 and 4
		src.WriteAccessUnit(int64(i)*3600, au(i%4 == 0, byte(i)), i%4 == 0)
	}
	init, err := tap.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var segs [][]byte
	var keys []bool
	for range 6 {
		s, err := tap.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		k, err := SegmentStartsWithKey(s)
		if err != nil {
			t.Fatal(err)
		}
		segs, keys = append(segs, s), append(keys, k)
	}
	if want := []bool{true, false, false, false, true, false}; !slices.Equal(keys, want) {
		t.Fatalf("keyframes read from the segments: %v, want %v", keys, want)
	}
	if _, err := SegmentStartsWithKey([]byte("not a segment")); err == nil {
		t.Error("garbage was read as a segment")
	}

	relay := NewFanout(8)
	relay.WriteSegment(segs[0], true) // before the init: nothing to say it with
	relay.SetInit(init, tap.Codec())
	early := relay.Subscribe()
	defer early.Close()
	relay.WriteSegment(segs[1], false) // mid-GOP: skipped until a keyframe
	for i := 4; i < 6; i++ {
		relay.WriteSegment(segs[i], keys[i])
	}
	if got, _ := early.Init(ctx); !bytes.Equal(got, init) || early.Codec() != "avc1.42c015" {
		t.Fatalf("init not passed through: codec %q", early.Codec())
	}
	for _, i := range []int{4, 5} {
		if s, _ := early.Next(ctx); !bytes.Equal(s, segs[i]) {
			t.Fatalf("segment %d not passed through unchanged", i)
		}
	}
	late := relay.Subscribe() // joins mid-GOP: gets the GOP from its keyframe
	defer late.Close()
	late.Init(ctx)
	if s, _ := late.Next(ctx); !bytes.Equal(s, segs[4]) {
		t.Fatal("a viewer joining mid-GOP did not start at the keyframe")
	}

	// The same init again changes nothing; another one restarts the viewers.
	relay.SetInit(init, tap.Codec())
	relay.WriteSegment(segs[1], false)
	if s, _ := early.Next(ctx); !bytes.Equal(s, segs[1]) {
		t.Fatal("a repeated init interrupted the stream")
	}
	other := append([]byte(nil), init...)
	other[len(other)-1] ^= 0xff
	relay.SetInit(other, "avc1.42c01e")
	if s, _ := early.Next(ctx); !IsInit(s) || !bytes.Equal(s, other) {
		t.Fatal("a changed init did not reach the viewer in its queue")
	}
	relay.WriteSegment(segs[2], false)
	relay.WriteSegment(segs[4], true)
	if s, _ := early.Next(ctx); !bytes.Equal(s, segs[4]) {
		t.Fatal("after a new init the viewer did not wait for a keyframe")
	}
	relay.Close()
	if _, err := early.Next(ctx); !errors.Is(err, ErrFanoutClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
