// Package rtsp reads one camera's video over RTSP and hands it to a parent:
// the codec and its parameters when connected (and again when they change
// in-band), access units with their timestamps, and packet losses. It knows
// nothing of supervision, health or scheduling: the camera package's worker
// is the parent, and another protocol can slot in beside this one.
package rtsp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// Codecs a session reports.
const (
	H264 = "H264"
	H265 = "H265"
)

// ErrNoVideo: the stream offers neither H.264 nor H.265.
var ErrNoVideo = errors.New("no video: the stream has no H.264 or H.265 track")

// Parent receives what a session reads. Calls come from one goroutine at a
// time (the session's reader); Connected comes before any AccessUnit.
type Parent interface {
	// Connected reports the codec and its parameter sets (H.264: SPS, PPS;
	// H.265: VPS, SPS, PPS; nil ones not known yet). It is called again when
	// the camera sends different parameters in-band.
	Connected(codec string, params [][]byte)
	// AccessUnit is one frame: NALUs without start codes, the timestamp in
	// 90 kHz units made monotonic across RTP wrap-arounds, and whether it
	// is a keyframe.
	AccessUnit(ts int64, au [][]byte, key bool)
	// PacketsLost reports RTP packets that never arrived.
	PacketsLost(n uint64)
}

// Options of one session.
type Options struct {
	URL       string
	Transport string        // auto | tcp | udp
	Timeout   time.Duration // read and write timeout of the connection
	// OnDecodeError counts packets gortsplib could not decode (optional).
	OnDecodeError func(error)
}

func (o Options) client(u *base.URL) *gortsplib.Client {
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
		OnResponse: responseHook}
	switch o.Transport {
	case "tcp":
		t := gortsplib.TransportTCP
		c.Transport = &t
	case "udp":
		t := gortsplib.TransportUDP
		c.Transport = &t
	}
	if o.OnDecodeError != nil {
		c.OnDecodeError = o.OnDecodeError
	} else {
		c.OnDecodeError = func(error) {}
	}
	return c
}

// Read connects, plays the video track and hands it to p until ctx ends
// (it returns context.Cause(ctx) then) or the stream fails.
func Read(ctx context.Context, o Options, p Parent) error {
	u, err := base.ParseURL(o.URL)
	if err != nil {
		return fmt.Errorf("bad url: %w", err)
	}
	c := o.client(u)
	c.OnPacketsLost = p.PacketsLost
	if err := c.Start2(); err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	err = read(c, u, p)
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

func read(c *gortsplib.Client, u *base.URL, p Parent) error {
	desc, _, err := c.Describe(u)
	if err != nil {
		return err
	}
	var h264 *format.H264
	var h265 *format.H265
	var medi *description.Media
	if medi = desc.FindFormat(&h264); medi == nil {
		medi = desc.FindFormat(&h265)
	}
	if medi == nil {
		return ErrNoVideo
	}
	// Only the video track is set up: audio, metadata and back channels
	// are not read, so their quirks cannot stop the video.
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return err
	}
	if h264 != nil {
		err = readH264(c, medi, h264, p)
	} else {
		err = readH265(c, medi, h265, p)
	}
	if err != nil {
		return err
	}
	if _, err := c.Play(nil); err != nil {
		return err
	}
	return c.Wait()
}

func readH264(c *gortsplib.Client, medi *description.Media, forma *format.H264, p Parent) error {
	dec, err := forma.CreateDecoder()
	if err != nil {
		return fmt.Errorf("h264 decoder: %w", err)
	}
	ps := paramSet{codec: H264, sets: [][]byte{forma.SPS, forma.PPS}}
	p.Connected(H264, ps.copy())
	r := reader{p: p, ps: &ps, light: lightFrame{codec: H264}, fresh: func() {
		dec, _ = forma.CreateDecoder()
	}}
	r.fo, _ = p.(FrameObserver)
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		if r.lightPacket(pkt) {
			return
		}
		au, err := dec.Decode(pkt)
		if err != nil {
			return // more packets needed, or a fragment lost: counted by gortsplib
		}
		key := false
		for _, nalu := range au {
			if len(nalu) == 0 {
				continue
			}
			switch nalu[0] & 0x1f {
			case 5:
				key = true
			case 7:
				ps.set(0, nalu)
			case 8:
				ps.set(1, nalu)
			}
		}
		r.accessUnit(pkt, au, key)
	})
	return nil
}

func readH265(c *gortsplib.Client, medi *description.Media, forma *format.H265, p Parent) error {
	dec, err := forma.CreateDecoder()
	if err != nil {
		return fmt.Errorf("h265 decoder: %w", err)
	}
	ps := paramSet{codec: H265, sets: [][]byte{forma.VPS, forma.SPS, forma.PPS}}
	p.Connected(H265, ps.copy())
	r := reader{p: p, ps: &ps, light: lightFrame{codec: H265}, fresh: func() {
		dec, _ = forma.CreateDecoder()
	}}
	r.fo, _ = p.(FrameObserver)
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		if r.lightPacket(pkt) {
			return
		}
		au, err := dec.Decode(pkt)
		if err != nil {
			return
		}
		key := false
		for _, nalu := range au {
			if len(nalu) < 2 {
				continue
			}
			switch t := (nalu[0] >> 1) & 0x3f; {
			case t >= 16 && t <= 21: // IRAP pictures
				key = true
			case t == 32:
				ps.set(0, nalu)
			case t == 33:
				ps.set(1, nalu)
			case t == 34:
				ps.set(2, nalu)
			}
		}
		r.accessUnit(pkt, au, key)
	})
	return nil
}

// reader is one session's packet path: depacketized access units while
// the parent wants them, the light path otherwise.
type reader struct {
	p       Parent
	fo      FrameObserver
	ps      *paramSet
	clock   rtpClock
	light   lightFrame
	inLight bool
	fresh   func() // a new depacketizer, when leaving the light path mid-stream
}

// lightPacket handles pkt on the light path and reports true, or reports
// false when the parent wants access units.
func (r *reader) lightPacket(pkt *rtp.Packet) bool {
	if r.fo == nil || r.fo.WantAccessUnits() {
		if r.inLight {
			r.inLight = false
			r.light.reset()
			r.fresh()
		}
		return false
	}
	r.inLight = true
	if r.light.packet(pkt, r.ps) {
		f := r.light
		r.light.reset()
		r.paramsChanged()
		r.fo.Frame(r.clock.unwrap(f.ts), f.size, f.key, f.hash)
	}
	return true
}

func (r *reader) paramsChanged() {
	if r.ps.changed {
		r.ps.changed = false
		r.p.Connected(r.ps.codec, r.ps.copy())
	}
}

func (r *reader) accessUnit(pkt *rtp.Packet, au [][]byte, key bool) {
	r.paramsChanged()
	r.p.AccessUnit(r.clock.unwrap(pkt.Timestamp), au, key)
}

// paramSet tracks the parameter sets seen, in-band or from the SDP.
type paramSet struct {
	codec   string
	sets    [][]byte
	changed bool
}

func (s *paramSet) set(i int, nalu []byte) {
	if string(s.sets[i]) == string(nalu) {
		return
	}
	s.sets[i] = append([]byte(nil), nalu...)
	s.changed = true
}

func (s *paramSet) copy() [][]byte {
	out := make([][]byte, len(s.sets))
	copy(out, s.sets)
	return out
}

// rtpClock turns 32-bit RTP timestamps (90 kHz for video) into a
// monotonic 64-bit count, across wrap-arounds.
type rtpClock struct {
	started bool
	last    uint32
	value   int64
}

func (c *rtpClock) unwrap(ts uint32) int64 {
	if !c.started {
		c.started, c.last = true, ts
		return 0
	}
	c.value += int64(int32(ts - c.last))
	c.last = ts
	return c.value
}
