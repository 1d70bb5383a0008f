package rtsp

import "github.com/pion/rtp"

// FrameObserver is implemented by a parent that can do without the
// access units' bytes while nobody watches the camera: the session then
// skips depacketizing (reassembling fragments into new buffers, the bulk
// of the per-packet work and garbage at 2 Mbit/s) and reports each frame's
// size, whether it is a keyframe, and a hash of a sample of its packets
// (enough to see a frozen camera repeat one picture).
type FrameObserver interface {
	WantAccessUnits() bool
	Frame(ts int64, size int, key bool, hash uint64)
}

// lightFrame follows one frame across its RTP packets without copying it.
type lightFrame struct {
	codec   string
	started bool
	ts      uint32
	size    int
	key     bool
	hash    uint64
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// packet adds one RTP packet; it returns true when the packet ends the
// frame (marker bit). In-band parameter sets (single NALU or aggregated)
// are passed to ps.
func (f *lightFrame) packet(pkt *rtp.Packet, ps *paramSet) bool {
	if f.started && pkt.Timestamp != f.ts {
		f.reset() // the previous frame lost its marker packet
	}
	if !f.started {
		f.started, f.ts, f.hash = true, pkt.Timestamp, fnvOffset
	}
	p := pkt.Payload
	f.size += len(p)
	f.hash ^= uint64(len(p))
	f.hash *= fnvPrime
	for _, c := range p[:min(len(p), 32)] {
		f.hash ^= uint64(c)
		f.hash *= fnvPrime
	}
	if f.codec == H265 {
		f.h265(p, ps)
	} else {
		f.h264(p, ps)
	}
	return pkt.Marker
}

func (f *lightFrame) reset() { *f = lightFrame{codec: f.codec} }

func (f *lightFrame) h264(p []byte, ps *paramSet) {
	if len(p) < 1 {
		return
	}
	switch t := p[0] & 0x1f; t {
	case 24: // STAP-A: 16-bit sizes, then NALUs
		for b := p[1:]; len(b) >= 2; {
			n := int(b[0])<<8 | int(b[1])
			if n == 0 || len(b) < 2+n {
				return
			}
			f.h264NALU(b[2:2+n], ps)
			b = b[2+n:]
		}
	case 28: // FU-A: the type is in the FU header
		if len(p) >= 2 && p[1]&0x1f == 5 {
			f.key = true
		}
	default:
		f.h264NALU(p, ps)
	}
}

func (f *lightFrame) h264NALU(n []byte, ps *paramSet) {
	switch n[0] & 0x1f {
	case 5:
		f.key = true
	case 7:
		ps.set(0, n)
	case 8:
		ps.set(1, n)
	}
}

func (f *lightFrame) h265(p []byte, ps *paramSet) {
	if len(p) < 2 {
		return
	}
	switch t := (p[0] >> 1) & 0x3f; t {
	case 48: // aggregation packet
		for b := p[2:]; len(b) >= 2; {
			n := int(b[0])<<8 | int(b[1])
			if n < 2 || len(b) < 2+n {
				return
			}
			f.h265NALU(b[2:2+n], ps)
			b = b[2+n:]
		}
	case 49: // fragmentation unit
		if len(p) >= 3 {
			if ft := p[2] & 0x3f; ft >= 16 && ft <= 21 {
				f.key = true
			}
		}
	default:
		f.h265NALU(p, ps)
	}
}

func (f *lightFrame) h265NALU(n []byte, ps *paramSet) {
	switch t := (n[0] >> 1) & 0x3f; {
	case t >= 16 && t <= 21:
		f.key = true
	case t == 32:
		ps.set(0, n)
	case t == 33:
		ps.set(1, n)
	case t == 34:
		ps.set(2, n)
	}
}
