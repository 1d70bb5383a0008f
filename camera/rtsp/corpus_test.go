package rtsp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
)

var corpusDir = filepath.Join("..", "..", "testdata", "rtsp")

// vendorCamera loads a recorded DESCRIBE answer and the media to stream
// behind it.
func vendorCamera(t testing.TB, name, codec string, pt uint8) *rawrtsp.Camera {
	t.Helper()
	hdr, err := os.ReadFile(filepath.Join(corpusDir, name+".headers"))
	if err != nil {
		t.Fatal(err)
	}
	sdp, err := os.ReadFile(filepath.Join(corpusDir, name+".sdp"))
	if err != nil {
		t.Fatal(err)
	}
	c := &rawrtsp.Camera{Headers: hdr, SDP: sdp, Codec: codec, PayloadType: pt}
	if codec == H265 {
		b, err := os.ReadFile(filepath.Join(corpusDir, "media", "h265-480x270.h265"))
		if err != nil {
			t.Fatal(err)
		}
		c.AUs, _ = rawrtsp.SplitAnnexB(b, H265)
	} else {
		c.AUs, _, _ = simcam.Clip()
	}
	return c
}

// recorder is a Parent that keeps what a session reports and ends the
// session at the first keyframe.
type recorder struct {
	light  bool // take frames on the light path (no depacketizing)
	mu     sync.Mutex
	codec  string
	params [][]byte
	frames int
	keys   int
	stop   context.CancelCauseFunc
}

var errGotKeyframe = errors.New("got a keyframe")

func (r *recorder) Connected(codec string, params [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codec, r.params = codec, params
}

func (r *recorder) AccessUnit(ts int64, au [][]byte, key bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames++
	if key {
		r.keys++
		if r.stop != nil {
			r.stop(errGotKeyframe)
		}
	}
}

func (r *recorder) PacketsLost(uint64) {}

func (r *recorder) WantAccessUnits() bool { return !r.light }

func (r *recorder) Frame(ts int64, size int, key bool, hash uint64) {
	if size == 0 || hash == 0 {
		panic("empty light frame")
	}
	r.AccessUnit(ts, nil, key)
}

var corpus = []struct {
	name  string
	codec string
	pt    uint8
	quirk string // the fix this answer needs; "" when gortsplib reads it as is
}{
	{"hikvision", H264, 96, ""},                         // absolute a=control, G.711 audio, Media_header
	{"hikvision-h265", H265, 96, ""},                    // sprop-vps/sps/pps, ISAPI metadata track
	{"hikvision-nvr-timeout8", H264, 96, ""},            // Session: ...;timeout=8 (see TestSessionTimeoutKeptAlive)
	{"dahua", H264, 96, ""},                             // relative a=control under a Content-Base with a query, AAC audio, ONVIF metadata
	{"dahua-inband", H264, 96, ""},                      // no sprop-parameter-sets: SPS/PPS in-band only
	{"uniview", H264, 105, "o= and c= end in IN"},       // gortsplib #903/#906, MediaMTX #5008/#5033
	{"uniview-origin", H264, 105, "o= ends in IN"},      // the origin alone
	{"uniview-connection", H264, 105, "c= ends in IN"},  // the connection lines alone
	{"backchannel-mislabelled", H264, 96, "a=sendonly"}, // gortsplib #970: video marked sendonly taken for a back channel
}

func serveCorpus(t *testing.T) *rawrtsp.Server {
	t.Helper()
	cams := map[string]*rawrtsp.Camera{}
	for _, c := range corpus {
		cams["/"+c.name] = vendorCamera(t, c.name, c.codec, c.pt)
	}
	s, err := rawrtsp.Start(func(p string) *rawrtsp.Camera { return cams[p] })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func readFirstKeyframe(url string, light bool) (*recorder, error) {
	r := &recorder{light: light}
	ctx, cancel := context.WithTimeoutCause(context.Background(), 10*time.Second, errors.New("no keyframe within 10 s"))
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.stop = stop
	err := Read(ctx, Options{URL: url, Transport: "tcp", Timeout: 5 * time.Second}, r)
	if errors.Is(err, errGotKeyframe) {
		err = nil
	}
	return r, err
}

// Every vendor answer of the corpus is read as a working camera: its
// video track is set up and played to a keyframe, with the codec and the
// parameter sets (from the SDP or, when it has none, from the stream).
func TestVendorCorpus(t *testing.T) {
	s := serveCorpus(t)
	for _, c := range corpus {
		for _, light := range []bool{false, true} {
			name := c.name
			if light {
				name += "/light"
			}
			t.Run(name, func(t *testing.T) {
				r, err := readFirstKeyframe(s.URL("/"+c.name), light)
				if err != nil {
					t.Fatalf("not read as a working camera: %v", err)
				}
				r.mu.Lock()
				defer r.mu.Unlock()
				if r.codec != c.codec || r.keys == 0 {
					t.Fatalf("codec %q, %d keyframes", r.codec, r.keys)
				}
				for i, p := range r.params {
					if len(p) == 0 {
						t.Errorf("parameter set %d unknown after a keyframe", i)
					}
				}
			})
		}
	}
}

// Each quirk is what stops an unfixed client: without the response hook
// the same answers fail.
func TestVendorQuirksNeedTheirFix(t *testing.T) {
	s := serveCorpus(t)
	responseHook = func(*base.Response) {}
	defer func() { responseHook = FixResponse }()
	for _, c := range corpus {
		if c.quirk == "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			if _, err := readFirstKeyframe(s.URL("/"+c.name), false); err == nil {
				t.Fatalf("read without the fix for %s: the quirk is not one", c.quirk)
			} else {
				t.Logf("without the fix: %v", err)
			}
		})
	}
}

// Each rewrite of FixSDP on its own, and what it leaves alone.
func TestFixSDP(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"origin without address", "v=0\r\no=- 1001 1 IN \r\ns=x\r\n", "v=0\r\no=- 1001 1 IN IP4 0.0.0.0\r\ns=x\r\n"},
		{"connection without address", "v=0\r\nc=IN \r\n", "v=0\r\nc=IN IP4 0.0.0.0\r\n"},
		{"sendonly dropped", "m=video 0 RTP/AVP 96\r\na=sendonly\r\na=control:x\r\n", "m=video 0 RTP/AVP 96\r\na=control:x\r\n"},
		{"well-formed kept byte for byte", "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\n", "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\n"},
		{"LF only", "o=- 1 1 IN\nc=IN\n", "o=- 1 1 IN IP4 0.0.0.0\nc=IN IP4 0.0.0.0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(FixSDP([]byte(tt.in))); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	// Only SDP bodies are touched.
	res := &base.Response{Header: base.Header{"Content-Type": base.HeaderValue{"text/parameters"}}, Body: []byte("c=IN \r\n")}
	FixResponse(res)
	if !strings.HasPrefix(string(res.Body), "c=IN \r\n") {
		t.Fatalf("non-SDP body rewritten: %q", res.Body)
	}
}

// A Hikvision NVR announces "Session: …;timeout=8" and ends a session that
// sends no keep-alive for 8 s; the session keeps it alive past that.
func TestSessionTimeoutKeptAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s")
	}
	c := vendorCamera(t, "hikvision-nvr-timeout8", H264, 96)
	c.Timeout = 8
	s, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return c })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = Read(ctx, Options{URL: s.URL("/Streaming/tracks/201"), Transport: "tcp", Timeout: 5 * time.Second}, r)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("session ended before 10 s: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.Expired.Load() != 0 || s.Keeps.Load() == 0 || r.frames < 200 {
		t.Fatalf("expired %d, keep-alives %d, frames %d", s.Expired.Load(), s.Keeps.Load(), r.frames)
	}
}
