package camera

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// ErrFanoutClosed ends a viewer whose camera stream went away.
var ErrFanoutClosed = errors.New("camera stream ended")

const (
	videoTimescale = 90000
	maxGOP         = 300 // access units kept to start a new viewer at once
)

// Fanout remuxes one camera's H.264 access units into fragmented MP4 for
// browsers (Media Source Extensions) and hands the same bytes to every
// viewer: each segment is encoded once, whatever the number of viewers.
// Each viewer has its own bounded queue; a slow one skips to the next
// keyframe without delaying the others or the camera.
type Fanout struct {
	queue int

	nviewers atomic.Int32 // read per frame without the lock

	mu      sync.Mutex
	kind    string // H264 | H265
	params  [][]byte
	init    []byte
	codec   string
	seq     uint32
	firstTS int64
	lastEnd int64 // where the last segment ended, so a reconnect continues the timeline
	started bool
	prev    *pendingAU
	gop     [][]byte
	viewers map[*Viewer]struct{}
	closed  bool
}

type pendingAU struct {
	ts  int64
	au  [][]byte
	idr bool
}

func newFanout(queue int) *Fanout {
	return &Fanout{queue: queue, viewers: map[*Viewer]struct{}{}}
}

// NewFanout builds a fanout fed with segments made elsewhere (SetInit and
// WriteSegment): a view hub relaying another hub's camera hands the owner's
// fragmented MP4 to its own viewers without remuxing it. queue is each
// viewer's queue of segments beyond the current GOP.
func NewFanout(queue int) *Fanout { return newFanout(queue) }

// SetInit sets the init segment (ftyp+moov) and codec string of a relayed
// stream. An init that differs from the current one (the camera came back
// at another resolution) restarts every viewer at the next keyframe, as
// SetParams does.
func (f *Fanout) SetInit(init []byte, codec string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || (string(init) == string(f.init) && codec == f.codec) {
		return
	}
	f.init, f.codec = append([]byte(nil), init...), codec
	f.gop, f.prev, f.started = nil, nil, false
	for v := range f.viewers {
		v.restart(f.init, f.codec)
	}
}

// WriteSegment hands every viewer a media segment (moof+mdat) made
// elsewhere; key says it starts with a keyframe. Like WriteAccessUnit it
// never blocks: the stream starts at a keyframe, a new viewer gets the
// current GOP, a slow one skips to the next keyframe.
func (f *Fanout) WriteSegment(seg []byte, key bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.init == nil || f.closed {
		return
	}
	if !f.started {
		if !key {
			return
		}
		f.started = true
	}
	if key {
		f.gop = f.gop[:0]
	}
	if len(f.gop) < maxGOP {
		f.gop = append(f.gop, seg)
	}
	for v := range f.viewers {
		v.offer(seg, key)
	}
}

// SetH264Params sets (or changes) an H.264 stream's parameters.
func (f *Fanout) SetH264Params(sps, pps []byte) { f.SetParams("H264", [][]byte{sps, pps}) }

// SetParams sets (or changes) the stream's codec and parameter sets (H.264:
// SPS, PPS; H.265: VPS, SPS, PPS). Until all are known, nothing is sent. A
// change (a camera reconnecting at another resolution, an in-band SPS that
// differs from the SDP's) sends every viewer the new init segment, in its
// queue, and restarts it at the next keyframe.
func (f *Fanout) SetParams(codec string, params [][]byte) {
	var c mp4.Codec
	var name string
	switch {
	case codec == "H264" && len(params) == 2 && len(params[0]) >= 4 && len(params[1]) > 0:
		c = &mp4.CodecH264{SPS: params[0], PPS: params[1]}
		name = fmt.Sprintf("avc1.%02x%02x%02x", params[0][1], params[0][2], params[0][3])
	case codec == "H265" && len(params) == 3 && len(params[0]) > 0 && len(params[1]) > 0 && len(params[2]) > 0:
		c = &mp4.CodecH265{VPS: params[0], SPS: params[1], PPS: params[2]}
		name = hvc1Codec(params[1])
	default:
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if codec == f.kind && equalParams(params, f.params) {
		return
	}
	f.kind = codec
	f.params = make([][]byte, len(params))
	for i, p := range params {
		f.params[i] = append([]byte(nil), p...)
	}
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: videoTimescale, Codec: c}}}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return
	}
	f.init = buf.Bytes()
	f.codec = name
	f.gop, f.prev, f.started = nil, nil, false
	for v := range f.viewers {
		v.restart(f.init, f.codec)
	}
}

func equalParams(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			return false
		}
	}
	return true
}

// hvc1Codec is the RFC 6381 codec string of an H.265 stream, from its SPS
// (hvc1.PROFILE.COMPAT.TIER+LEVEL.CONSTRAINTS), as MediaSource wants it.
func hvc1Codec(sps []byte) string {
	var s h265.SPS
	if err := s.Unmarshal(sps); err != nil {
		return "hvc1.1.6.L93.B0"
	}
	p := s.ProfileTierLevel
	space := ""
	if p.GeneralProfileSpace > 0 {
		space = string(rune('A' + p.GeneralProfileSpace - 1))
	}
	var compat uint32
	for i, f := range p.GeneralProfileCompatibilityFlag {
		if f {
			compat |= 1 << i // the flags in reverse bit order
		}
	}
	tier := "L"
	if p.GeneralTierFlag != 0 {
		tier = "H"
	}
	var cons byte
	for i, f := range []bool{p.GeneralProgressiveSourceFlag, p.GeneralInterlacedSourceFlag,
		p.GeneralNonPackedConstraintFlag, p.GeneralFrameOnlyConstraintFlag} {
		if f {
			cons |= 0x80 >> i
		}
	}
	return fmt.Sprintf("hvc1.%s%d.%X.%s%d.%X", space, p.GeneralProfileIdc, compat, tier, p.GeneralLevelIdc, cons)
}

// WriteAccessUnit adds one access unit (NALUs without start codes) with
// its timestamp in 90 kHz units. It never blocks. Cameras send no
// B-frames, so decode order is presentation order.
func (f *Fanout) WriteAccessUnit(ts int64, au [][]byte, idr bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.init == nil || f.closed {
		return
	}
	if !f.started {
		if !idr {
			return // start at a keyframe
		}
		// Continue where the previous session ended: players see one
		// unbroken timeline across reconnects.
		f.started, f.firstTS = true, ts-f.lastEnd
	}
	cur := &pendingAU{ts: ts, au: au, idr: idr}
	prev := f.prev
	f.prev = cur
	if prev == nil {
		return
	}
	// A segment needs its duration, known when the next unit arrives.
	dur := ts - prev.ts
	if dur <= 0 || dur > videoTimescale {
		dur = videoTimescale / 25
	}
	var sample fmp4.Sample
	fill := sample.FillH264
	if f.kind == "H265" {
		fill = sample.FillH265
	}
	if err := fill(0, prev.au); err != nil {
		return
	}
	sample.Duration, sample.IsNonSyncSample = uint32(dur), !prev.idr
	f.seq++
	part := fmp4.Part{SequenceNumber: f.seq, Tracks: []*fmp4.PartTrack{{ID: 1, BaseTime: uint64(prev.ts - f.firstTS), Samples: []*fmp4.Sample{&sample}}}}
	var buf seekablebuffer.Buffer
	if err := part.Marshal(&buf); err != nil {
		return
	}
	seg := buf.Bytes()
	f.lastEnd = prev.ts - f.firstTS + dur
	if prev.idr {
		f.gop = f.gop[:0]
	}
	if len(f.gop) < maxGOP {
		f.gop = append(f.gop, seg)
	}
	for v := range f.viewers {
		v.offer(seg, prev.idr)
	}
}

// reset starts a new session's timeline at its next keyframe.
func (f *Fanout) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started, f.prev = false, nil
	f.gop = f.gop[:0]
	for v := range f.viewers {
		v.waitKey = true
	}
}

// Subscribe adds a viewer; it starts at the current GOP's keyframe.
func (f *Fanout) Subscribe() *Viewer {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := &Viewer{f: f, ch: make(chan []byte, f.queue+maxGOP), ready: make(chan struct{}), done: make(chan struct{})}
	if f.closed {
		close(v.done)
		return v
	}
	if f.init != nil {
		v.restart(f.init, f.codec)
		for _, seg := range f.gop {
			v.ch <- seg
		}
		v.waitKey = len(f.gop) == 0
	}
	f.viewers[v] = struct{}{}
	f.nviewers.Store(int32(len(f.viewers)))
	return v
}

// Viewers is the number of viewers.
func (f *Fanout) Viewers() int { return int(f.nviewers.Load()) }

// Close ends every viewer.
func (f *Fanout) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	for v := range f.viewers {
		v.end()
	}
	f.viewers = map[*Viewer]struct{}{}
	f.nviewers.Store(0)
}

// Viewer receives one camera's fragmented MP4.
type Viewer struct {
	f       *Fanout
	ch      chan []byte
	ready   chan struct{}
	done    chan struct{}
	init    []byte
	codec   string
	waitKey bool
	dropped uint64
	once    sync.Once
	rOnce   sync.Once
}

// restart (under the fanout's lock) gives the viewer a new init segment.
// A viewer that already has one gets the new one in its queue, in place of
// the old stream's segments, so it reaches the player in order: the
// player sees an init segment (ftyp) and resets its decoder.
func (v *Viewer) restart(init []byte, codec string) {
	had := v.init != nil
	v.init, v.codec, v.waitKey = init, codec, true
	v.rOnce.Do(func() { close(v.ready) })
	if !had {
		return
	}
	for {
		select {
		case <-v.ch:
			continue
		default:
		}
		break
	}
	v.ch <- init
}

// IsInit reports whether a segment from Next is an init segment (ftyp):
// the stream's parameters changed and the player must reset.
func IsInit(seg []byte) bool { return len(seg) >= 8 && string(seg[4:8]) == "ftyp" }

// offer (under the fanout's lock) queues a segment, or drops to the next
// keyframe when the viewer is behind.
func (v *Viewer) offer(seg []byte, key bool) {
	if v.waitKey {
		if !key {
			v.dropped++
			return
		}
		v.waitKey = false
	}
	select {
	case v.ch <- seg:
	default:
		v.dropped++
		v.waitKey = true
	}
}

func (v *Viewer) end() { v.once.Do(func() { close(v.done) }) }

// Init waits for and returns the init segment (ftyp+moov).
func (v *Viewer) Init(ctx context.Context) ([]byte, error) {
	select {
	case <-v.ready:
		v.f.mu.Lock()
		defer v.f.mu.Unlock()
		return v.init, nil
	case <-v.done:
		return nil, ErrFanoutClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Codec is the codec string for MediaSource (avc1.PPCCLL).
func (v *Viewer) Codec() string {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	return v.codec
}

// Next returns the next media segment (moof+mdat).
func (v *Viewer) Next(ctx context.Context) ([]byte, error) {
	select {
	case seg := <-v.ch:
		return seg, nil
	case <-v.done:
		return nil, ErrFanoutClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Dropped counts segments skipped because the viewer was slow.
func (v *Viewer) Dropped() uint64 {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	return v.dropped
}

// Close leaves the fanout.
func (v *Viewer) Close() {
	v.f.mu.Lock()
	delete(v.f.viewers, v)
	v.f.nviewers.Store(int32(len(v.f.viewers)))
	if len(v.f.viewers) == 0 {
		// Nothing is written while nobody watches: the next viewer starts
		// at a fresh keyframe, not at a GOP kept from before.
		v.f.started, v.f.prev, v.f.gop = false, nil, v.f.gop[:0]
	}
	v.f.mu.Unlock()
	v.end()
}

// SegmentStartsWithKey reports whether a media segment (moof+mdat) begins
// with a keyframe: its first sample is a sync sample. A relay of another
// hub's stream reads it from the segment itself, so no side channel is
// needed between hubs.
func SegmentStartsWithKey(seg []byte) (bool, error) {
	var p fmp4.Parts
	if err := p.Unmarshal(seg); err != nil {
		return false, fmt.Errorf("media segment: %w", err)
	}
	if len(p) == 0 || len(p[0].Tracks) == 0 || len(p[0].Tracks[0].Samples) == 0 {
		return false, errors.New("media segment: no sample")
	}
	return !p[0].Tracks[0].Samples[0].IsNonSyncSample, nil
}
