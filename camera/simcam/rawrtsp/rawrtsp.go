// Package rawrtsp is a small RTSP server written over net.Conn for tests:
// it answers DESCRIBE with a vendor's bytes exactly as recorded (headers
// and SDP), so the client meets what cameras in the field send rather
// than what a well-behaved server library would generate; it streams RTP
// interleaved over TCP, enforces a session timeout like Hikvision's, and
// checks digest credentials. It is deliberately not gortsplib's server.
package rawrtsp

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"
)

// Camera is what one path serves.
type Camera struct {
	// Headers of the DESCRIBE response as the vendor sends them, one
	// "Name: value" per line, without CSeq and Content-Length (the server
	// adds those); SDP is the body, byte for byte.
	Headers []byte
	SDP     []byte
	Status  int // DESCRIBE status; 0: 200

	Codec       string     // H264 | H265: how the access units are packetised
	PayloadType uint8      // of the video track; default 96
	Channel     int        // interleaved channel of the video; default 0
	AUs         [][][]byte // looped; each AU's NALUs without start codes
	FPS         float64    // default 25
	// Switch, when set, replaces AUs after this many access units: a
	// camera that changes resolution (new SPS in-band) mid-stream.
	Switch    [][][]byte
	SwitchAt  int
	Delay     time.Duration // before answering DESCRIBE: a slow camera or link
	Timeout   int           // session timeout in s, announced in SETUP's Session header; no keep-alive for that long closes the session
	User, Pwd string        // digest credentials required when set
}

// Server serves cameras by path.
type Server struct {
	ln         net.Listener
	lookup     func(path string) *Camera
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      map[net.Conn]struct{}
	closed     bool
	done       chan struct{} // closed by Close: a delayed answer is not waited for
	counts     sync.Map      // path → *atomic.Int64 (DESCRIBEs)
	Keeps      atomic.Int64  // keep-alives received (GET_PARAMETER, OPTIONS in a session)
	Expired    atomic.Int64  // sessions closed for want of a keep-alive
	Setups     atomic.Int64
	Dropped    atomic.Int64 // connections closed at accept (Faults.Drop)
	OnDescribe func(path string, at time.Time)

	faults atomic.Pointer[Faults]
}

// Faults make the server a lossy, slow network: a fraction of the
// connections closed at accept (the client sees a reset or EOF), and a
// delay before every DESCRIBE answer on top of the camera's own.
type Faults struct {
	Drop  float64              // share of connections closed at accept, 0-1
	Delay func() time.Duration // added before each DESCRIBE answer; nil: none
}

// SetFaults puts faults in force for new connections and requests.
func (s *Server) SetFaults(f Faults) { s.faults.Store(&f) }

// Start listens on a free loopback port.
func Start(lookup func(path string) *Camera) (*Server, error) {
	return Listen("127.0.0.1:0", lookup)
}

// Listen serves on addr.
func Listen(addr string, lookup func(path string) *Camera) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, lookup: lookup, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// URL of a path on this server.
func (s *Server) URL(path string) string { return "rtsp://" + s.ln.Addr().String() + path }

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Describes counts DESCRIBE requests for a path.
func (s *Server) Describes(path string) int64 {
	if v, ok := s.counts.Load(path); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// Close stops the server and every connection, and waits.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		if f := s.faults.Load(); f != nil && f.Drop > 0 && rand.Float64() < f.Drop {
			s.mu.Unlock()
			s.Dropped.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset, as a middlebox or a camera out of sessions gives
			}
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			(&conn{s: s, c: c, r: bufio.NewReader(c)}).serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

type request struct {
	method, uri string
	header      map[string]string // canonical lower-case names
}

type conn struct {
	s       *Server
	c       net.Conn
	r       *bufio.Reader
	wmu     sync.Mutex
	cam     *Camera
	path    string
	nonce   string
	playing bool
	stop    chan struct{}
	keep    chan struct{}
}

func (c *conn) serve() {
	defer func() {
		if c.stop != nil {
			close(c.stop)
		}
	}()
	for {
		req, err := c.read()
		if err != nil {
			return
		}
		if !c.handle(req) {
			return
		}
	}
}

// read reads one request, skipping interleaved RTCP the client sends.
func (c *conn) read() (*request, error) {
	for {
		b, err := c.r.Peek(1)
		if err != nil {
			return nil, err
		}
		if b[0] == '$' {
			hdr := make([]byte, 4)
			if _, err := io.ReadFull(c.r, hdr); err != nil {
				return nil, err
			}
			if _, err := c.r.Discard(int(binary.BigEndian.Uint16(hdr[2:]))); err != nil {
				return nil, err
			}
			continue
		}
		break
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	if len(f) < 3 {
		return nil, fmt.Errorf("bad request line %q", line)
	}
	req := &request{method: f[0], uri: f[1], header: map[string]string{}}
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok {
			req.header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	if n, _ := strconv.Atoi(req.header["content-length"]); n > 0 {
		if _, err := c.r.Discard(n); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.c.Write(b)
	return err
}

func (c *conn) respond(req *request, status int, reason string, headers string, body []byte) bool {
	var b strings.Builder
	fmt.Fprintf(&b, "RTSP/1.0 %d %s\r\nCSeq: %s\r\n", status, reason, req.header["cseq"])
	b.WriteString(headers)
	if len(body) > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	return c.write(append([]byte(b.String()), body...)) == nil
}

func pathOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	return u.Path
}

const realm = "IP Camera(C2045)"

// authorized checks digest credentials (RFC 2617, as cameras do it).
func (c *conn) authorized(req *request) bool {
	if c.cam == nil || c.cam.User == "" {
		return true
	}
	a := req.header["authorization"]
	if !strings.HasPrefix(a, "Digest ") {
		return false
	}
	p := map[string]string{}
	for _, kv := range strings.Split(a[len("Digest "):], ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			p[k] = strings.Trim(v, `"`)
		}
	}
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	want := h(h(c.cam.User+":"+realm+":"+c.cam.Pwd) + ":" + c.nonce + ":" + h(req.method+":"+p["uri"]))
	return p["username"] == c.cam.User && p["response"] == want
}

func (c *conn) handle(req *request) bool {
	if c.cam == nil {
		c.path = pathOf(req.uri)
		c.cam = c.s.lookup(c.path)
		c.nonce = strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	if c.cam == nil {
		return c.respond(req, 404, "Not Found", "", nil)
	}
	if req.method != "OPTIONS" && !c.authorized(req) {
		return c.respond(req, 401, "Unauthorized", fmt.Sprintf("WWW-Authenticate: Digest realm=%q, nonce=%q, stale=\"FALSE\"\r\nWWW-Authenticate: Basic realm=%q\r\n", realm, c.nonce, realm), nil)
	}
	switch req.method {
	case "OPTIONS", "GET_PARAMETER":
		if c.playing {
			c.s.Keeps.Add(1)
			select {
			case c.keep <- struct{}{}:
			default:
			}
		}
		return c.respond(req, 200, "OK", "Public: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n", nil)
	case "DESCRIBE":
		v, _ := c.s.counts.LoadOrStore(c.path, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		if c.s.OnDescribe != nil {
			c.s.OnDescribe(c.path, time.Now())
		}
		delay := c.cam.Delay
		if f := c.s.faults.Load(); f != nil && f.Delay != nil {
			delay += f.Delay()
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-c.s.done:
				return false
			}
		}
		if c.cam.Status != 0 && c.cam.Status != 200 {
			return c.respond(req, c.cam.Status, "Error", "", nil)
		}
		return c.respond(req, 200, "OK", string(c.cam.Headers), c.cam.SDP)
	case "SETUP":
		t := req.header["transport"]
		if !strings.Contains(t, "TCP") {
			return c.respond(req, 461, "Unsupported Transport", "", nil)
		}
		c.s.Setups.Add(1)
		ch := c.cam.Channel
		sess := "7A3F09C1"
		if c.cam.Timeout > 0 {
			sess += fmt.Sprintf(";timeout=%d", c.cam.Timeout)
		}
		return c.respond(req, 200, "OK", fmt.Sprintf("Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d;ssrc=1A2B3C4D;mode=\"play\"\r\nSession: %s\r\n", ch, ch+1, sess), nil)
	case "PLAY":
		if !c.respond(req, 200, "OK", "Session: 7A3F09C1\r\nRange: npt=0.000-\r\n", nil) {
			return false
		}
		if !c.playing {
			c.playing = true
			c.stop, c.keep = make(chan struct{}), make(chan struct{}, 1)
			c.s.wg.Add(1)
			go func() { defer c.s.wg.Done(); c.stream() }()
		}
		return true
	case "TEARDOWN":
		c.respond(req, 200, "OK", "", nil)
		return false
	}
	return c.respond(req, 405, "Method Not Allowed", "", nil)
}

// stream sends the access units as RTP over the interleaved channel until
// the connection ends or, with a session timeout, a keep-alive is missed.
func (c *conn) stream() {
	cam := c.cam
	pt := cam.PayloadType
	if pt == 0 {
		pt = 96
	}
	fps := cam.FPS
	if fps <= 0 {
		fps = 25
	}
	var encode func([][]byte, uint32) ([]*rtp.Packet, error)
	if cam.Codec == "H265" {
		e := &rtph265.Encoder{PayloadType: pt}
		e.Init()
		encode = func(au [][]byte, ts uint32) ([]*rtp.Packet, error) {
			pk, err := e.Encode(au)
			for _, p := range pk {
				p.Timestamp += ts
			}
			return pk, err
		}
	} else {
		e := &rtph264.Encoder{PayloadType: pt, PacketizationMode: 1}
		e.Init()
		encode = func(au [][]byte, ts uint32) ([]*rtp.Packet, error) {
			pk, err := e.Encode(au)
			for _, p := range pk {
				p.Timestamp += ts
			}
			return pk, err
		}
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / fps))
	defer t.Stop()
	var expire <-chan time.Time
	var timer *time.Timer
	if cam.Timeout > 0 {
		timer = time.NewTimer(time.Duration(cam.Timeout) * time.Second)
		defer timer.Stop()
		expire = timer.C
	}
	aus := cam.AUs
	for i := 0; ; i++ {
		if cam.Switch != nil && i == cam.SwitchAt {
			aus = cam.Switch
		}
		au := aus[i%len(aus)]
		pkts, err := encode(au, uint32(i)*uint32(90000/fps))
		if err != nil {
			return
		}
		for _, p := range pkts {
			b, err := p.Marshal()
			if err != nil {
				return
			}
			frame := append([]byte{'$', byte(cam.Channel), byte(len(b) >> 8), byte(len(b))}, b...)
			if c.write(frame) != nil {
				return
			}
		}
		select {
		case <-c.stop:
			return
		case <-c.keep:
			if timer != nil {
				timer.Reset(time.Duration(cam.Timeout) * time.Second)
			}
		case <-expire:
			c.s.Expired.Add(1)
			c.c.Close()
			return
		case <-t.C:
		}
	}
}

// SplitAnnexB groups an Annex-B stream with access unit delimiters into
// access units (NALUs without start codes) and returns the parameter sets
// seen (H.264: SPS, PPS; H.265: VPS, SPS, PPS).
func SplitAnnexB(b []byte, codec string) (aus [][][]byte, params [][]byte) {
	var nalus [][]byte
	for len(b) > 0 {
		i := indexStart(b)
		if i < 0 {
			break
		}
		b = b[i+3:]
		n := b
		if j := indexStart(b); j >= 0 {
			n, b = b[:j], b[j:]
		} else {
			b = nil
		}
		for len(n) > 0 && n[len(n)-1] == 0 {
			n = n[:len(n)-1]
		}
		if len(n) > 0 {
			nalus = append(nalus, n)
		}
	}
	if codec == "H265" {
		params = make([][]byte, 3)
	} else {
		params = make([][]byte, 2)
	}
	var cur [][]byte
	for _, n := range nalus {
		aud := false
		if codec == "H265" {
			switch t := (n[0] >> 1) & 0x3f; t {
			case 35:
				aud = true
			case 32, 33, 34:
				if params[t-32] == nil {
					params[t-32] = n
				}
			}
		} else {
			switch n[0] & 0x1f {
			case 9:
				aud = true
			case 7, 8:
				if params[(n[0]&0x1f)-7] == nil {
					params[(n[0]&0x1f)-7] = n
				}
			}
		}
		if aud {
			if len(cur) > 0 {
				aus = append(aus, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, n)
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	return aus, params
}

func indexStart(b []byte) int {
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			return i
		}
	}
	return -1
}
