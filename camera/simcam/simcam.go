// Package simcam serves simulated cameras over RTSP (gortsplib's server)
// for the demo and the tests: one short H.264 clip looped on many paths,
// with the faults real rural cameras show: links that flap, streams that
// stall with the connection open, and cameras that send 3 fps.
package simcam

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
)

//go:embed testdata/clip.h264
var clip []byte

// Behaviour of a simulated camera.
type Behaviour string

const (
	Normal Behaviour = "normal"
	Flap   Behaviour = "flap"   // down for FlapDown every FlapEvery
	Stall  Behaviour = "stall"  // connection stays open, frames stop now and then
	LowFPS Behaviour = "lowfps" // 3 fps instead of 25
	Down   Behaviour = "down"   // refuses (404)
	Frozen Behaviour = "frozen" // repeats one identical frame
	Paused Behaviour = "paused" // connection stays open, no frames at all
)

// Camera is one simulated camera.
type Camera struct {
	Path      string
	Behaviour Behaviour
}

// Options configure the server.
type Options struct {
	Listen    string // host:port; port 0 picks a free one
	Cameras   []Camera
	Logger    *slog.Logger
	FlapEvery time.Duration // default 3 min
	FlapDown  time.Duration // default 20 s
	// Clip, when set, replaces the demo clip: Annex-B H.264 with access
	// unit delimiters (the benchmarks stream a 2 Mbit/s 720p clip).
	Clip []byte
	// OnAttempt, when set, is told of every DESCRIBE: a client's attempt.
	OnAttempt func(path string, at time.Time)
}

const fps = 25

type cam struct {
	path      string
	behaviour Behaviour
	stream    *gortsplib.ServerStream
	enc       *rtph264.Encoder
	frame     int
	ts        uint32
	tick      int
}

// Server is the simulated cameras' RTSP server.
type Server struct {
	o      Options
	srv    *gortsplib.Server
	addr   string
	aus    [][][]byte // the clip's access units
	sps    []byte
	pps    []byte
	mu     sync.Mutex
	cams   map[string]*cam
	start  time.Time
	cancel context.CancelFunc
	done   chan struct{}

	describes atomic.Int64
	perPath   sync.Map // path → *atomic.Int64
}

// DescribesOf counts DESCRIBE requests for one camera.
func (s *Server) DescribesOf(path string) int64 {
	if v, ok := s.perPath.Load(path); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// Started is when the server started: flapping cameras go down at every
// multiple of FlapEvery after it.
func (s *Server) Started() time.Time { return s.start }

// Describes counts DESCRIBE requests: connection attempts of clients.
func (s *Server) Describes() int64 { return s.describes.Load() }

// New parses the clip and prepares the cameras.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FlapEvery <= 0 {
		o.FlapEvery = 3 * time.Minute
	}
	if o.FlapDown <= 0 {
		o.FlapDown = 20 * time.Second
	}
	s := &Server{o: o, cams: map[string]*cam{}}
	b := clip
	if o.Clip != nil {
		b = o.Clip
	}
	s.aus, s.sps, s.pps = splitAnnexB(b)
	if len(s.aus) == 0 || s.sps == nil {
		return nil, fmt.Errorf("simcam: clip has no access units")
	}
	for _, c := range o.Cameras {
		s.cams[c.Path] = &cam{path: c.Path, behaviour: c.Behaviour}
	}
	return s, nil
}

// splitAnnexB groups an Annex-B stream with access unit delimiters into
// access units (NALUs without start codes), and finds SPS and PPS.
func splitAnnexB(b []byte) (aus [][][]byte, sps, pps []byte) {
	var nalus [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte{0, 0, 1})
		if i < 0 {
			break
		}
		b = b[i+3:]
		j := bytes.Index(b, []byte{0, 0, 1})
		n := b
		if j >= 0 {
			n = b[:j]
			b = b[j:]
		} else {
			b = nil
		}
		n = bytes.TrimRight(n, "\x00")
		if len(n) > 0 {
			nalus = append(nalus, n)
		}
	}
	var cur [][]byte
	for _, n := range nalus {
		switch n[0] & 0x1f {
		case 9: // access unit delimiter: a new AU starts
			if len(cur) > 0 {
				aus = append(aus, cur)
			}
			cur = nil
			continue
		case 7:
			sps = n
		case 8:
			pps = n
		}
		cur = append(cur, n)
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	return aus, sps, pps
}

// Start listens and starts sending.
func (s *Server) Start(ctx context.Context) error {
	addr := s.o.Listen
	if host, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return err
		}
		addr = l.Addr().String()
		l.Close()
	}
	s.addr = addr
	s.srv = &gortsplib.Server{Handler: s, RTSPAddress: addr}
	if err := s.srv.Start(); err != nil {
		return fmt.Errorf("simcam listen %s: %w", addr, err)
	}
	s.mu.Lock()
	for _, c := range s.cams {
		if err := s.openStream(c); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Unlock()
	s.start = time.Now()
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.run(ctx)
	s.o.Logger.Info("simulated cameras", "addr", addr, "cameras", len(s.cams))
	return nil
}

func (s *Server) openStream(c *cam) error {
	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: s.sps, PPS: s.pps}
	st := &gortsplib.ServerStream{Server: s.srv, Desc: &description.Session{Medias: []*description.Media{{
		Type: description.MediaTypeVideo, Formats: []format.Format{forma}}}}}
	if err := st.Initialize(); err != nil {
		return err
	}
	enc, err := forma.CreateEncoder()
	if err != nil {
		return err
	}
	c.stream, c.enc = st, enc
	return nil
}

// URL is the camera's RTSP URL.
func (s *Server) URL(path string) string { return "rtsp://" + s.addr + path }

// SetBehaviour changes a camera's behaviour at once.
func (s *Server) SetBehaviour(path string, b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cams[path]
	if c == nil {
		c = &cam{path: path}
		s.cams[path] = c
	}
	c.behaviour = b
	if (b == Down || b == Flap) && c.stream != nil {
		c.stream.Close() // drops every session of this camera
		c.stream = nil
	}
}

func (s *Server) up(c *cam, now time.Time) bool {
	switch c.behaviour {
	case Down:
		return false
	case Flap:
		return now.Sub(s.start)%s.o.FlapEvery >= s.o.FlapDown
	}
	return true
}

// run drives every camera from one goroutine at the frame rate.
func (s *Server) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(time.Second / fps)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			for _, c := range s.cams {
				s.step(c, now)
			}
			s.mu.Unlock()
		}
	}
}

func (s *Server) step(c *cam, now time.Time) {
	c.tick++
	c.ts += 90000 / fps
	up := s.up(c, now)
	if !up {
		if c.stream != nil {
			c.stream.Close()
			c.stream = nil
		}
		return
	}
	if c.stream == nil {
		if err := s.openStream(c); err != nil {
			return
		}
	}
	switch c.behaviour {
	case LowFPS:
		if c.tick%8 != 0 {
			return
		}
	case Paused:
		return
	case Stall:
		// 40 s of frames, then 20 s with the connection open and nothing.
		if now.Sub(s.start)%time.Minute >= 40*time.Second {
			return
		}
	}
	au := s.aus[c.frame%len(s.aus)]
	if c.behaviour == Frozen {
		au = s.aus[0]
	} else {
		c.frame++
	}
	pkts, err := c.enc.Encode(au)
	if err != nil {
		return
	}
	for _, p := range pkts {
		p.Timestamp = c.ts
		_ = c.stream.WritePacketRTP(c.stream.Desc.Medias[0], p)
	}
}

// OnDescribe answers with the camera's stream, or 404 while it is down.
func (s *Server) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s.describes.Add(1)
	v, _ := s.perPath.LoadOrStore(ctx.Path, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if s.o.OnAttempt != nil {
		s.o.OnAttempt(ctx.Path, time.Now())
	}
	return s.lookup(ctx.Path)
}

// OnSetup answers with the camera's stream.
func (s *Server) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return s.lookup(ctx.Path)
}

// OnPlay accepts.
func (s *Server) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (s *Server) lookup(path string) (*base.Response, *gortsplib.ServerStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cams[path]
	if c == nil || c.stream == nil || !s.up(c, time.Now()) {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// Close stops the cameras and the server.
func (s *Server) Close() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	s.mu.Lock()
	for _, c := range s.cams {
		if c.stream != nil {
			c.stream.Close()
			c.stream = nil
		}
	}
	s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
	}
}

// The clip was made with:
//
//	ffmpeg -f lavfi -i testsrc2=size=480x270:rate=25 -t 4 -c:v libx264 -profile:v baseline \
//	  -bf 0 -g 25 -b:v 400k -pix_fmt yuv420p -x264-params aud=1 -f h264 clip.h264

// Clip is the simulated cameras' clip: its access units (NALUs without
// start codes), SPS and PPS. Other test servers stream it too.
func Clip() (aus [][][]byte, sps, pps []byte) { return splitAnnexB(clip) }
