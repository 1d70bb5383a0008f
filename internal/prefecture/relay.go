package prefecture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/camera"
	"snowhub/internal/event"
)

// Live video of another hub's camera goes over HTTP, not the broker: a
// view opens the owner's own live endpoint (GET /api/v1/cameras/{id}/live,
// a websocket of fragmented MP4) once per camera and stream, logged in as
// its user of role "hub", and hands the segments to all its viewers. The
// owner pulls the camera once for all of them (docs/prefecture.md says why
// video does not ride the broker).

// VideoRelayOptions configure a view's relay of other hubs' live video.
type VideoRelayOptions struct {
	// Owner finds the viewed hub that holds camera id: its id, the address
	// its status gave (hub.url) and whether it is reachable.
	Owner func(id string) (hub, url string, reachable, ok bool)
	// Token is this hub's credential at the others (its user of role
	// "hub"); "" when it has none.
	Token func() string
	// Linger keeps an upstream open this long after its last viewer left,
	// so a wall switching layouts does not make the owner pull again (10 s).
	Linger time.Duration
	// DialTimeout bounds reaching the owner and its first segment (10 s).
	DialTimeout time.Duration
	// ReadTimeout ends an upstream that sends nothing this long (20 s).
	ReadTimeout time.Duration
	// Queue is each viewer's queue beyond the current GOP (64).
	Queue  int
	Dialer *websocket.Dialer // nil: websocket.DefaultDialer's settings
	Logger *slog.Logger
}

// VideoRelay pulls other hubs' cameras for this hub's viewers: one upstream per
// camera and stream, however many viewers.
type VideoRelay struct {
	o   VideoRelayOptions
	log *slog.Logger

	mu      sync.Mutex
	streams map[relayKey]*relayed
	ctx     context.Context
	cancel  context.CancelFunc
	started bool
	closed  bool
	wg      sync.WaitGroup
}

type relayKey struct{ hub, camera, stream string }

// relayed is one upstream and its viewers.
type relayed struct {
	key   relayKey
	fan   *camera.Fanout
	ready chan struct{} // closed when the first init arrived or the pull failed
	err   error         // why the pull failed (read after ready)
	idle  time.Time     // when its last viewer left (zero while watched)

	connMu sync.Mutex
	conn   *websocket.Conn
	ended  bool
}

// maxRelayMessage bounds one message read from an owner.
const maxRelayMessage = 16 << 20

// ErrVideoRelayClosed answers a Watch before Start or after Close.
var ErrVideoRelayClosed = errors.New("video relay closed")

// NewVideoRelay builds the relay; nothing runs before Start.
func NewVideoRelay(o VideoRelayOptions) *VideoRelay {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Linger <= 0 {
		o.Linger = 10 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 20 * time.Second
	}
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.Dialer == nil {
		d := *websocket.DefaultDialer
		o.Dialer = &d
	}
	if o.Token == nil {
		o.Token = func() string { return "" }
	}
	return &VideoRelay{o: o, log: o.Logger, streams: map[relayKey]*relayed{}}
}

// Start starts the janitor that lets go of unwatched upstreams.
func (r *VideoRelay) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrVideoRelayClosed
	}
	if r.started {
		return nil
	}
	r.started = true
	r.ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Add(1)
	go r.janitor()
	return nil
}

// Close ends every upstream (their viewers end) and waits for every
// goroutine the relay started.
func (r *VideoRelay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	if r.cancel != nil {
		r.cancel()
	}
	for _, s := range r.streams {
		s.end()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

// Upstreams is the number of cameras' streams pulled from other hubs now.
func (r *VideoRelay) Upstreams() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.streams)
}

// Has reports whether camera id is another hub's, known to the relay.
func (r *VideoRelay) Has(id string) bool {
	_, _, _, ok := r.o.Owner(id)
	return ok
}

// VideoRelayViewer is one viewer of a relayed camera.
type VideoRelayViewer struct {
	*camera.Viewer
	r *VideoRelay
	s *relayed
}

// Close leaves the stream; the upstream lingers for the next viewer.
func (v *VideoRelayViewer) Close() {
	v.Viewer.Close()
	v.r.mu.Lock()
	if v.s.fan.Viewers() == 0 && v.s.idle.IsZero() {
		v.s.idle = time.Now()
	}
	v.r.mu.Unlock()
}

// Watch returns a viewer of another hub's camera id (stream "main" or the
// grid stream ""). It fails at once, with the reason in Chinese first,
// when the owner is unreachable, has no address, or refuses.
func (r *VideoRelay) Watch(ctx context.Context, id, stream string) (*VideoRelayViewer, error) {
	hub, base, reachable, ok := r.o.Owner(id)
	switch {
	case !ok:
		return nil, event.NotFound("camera " + id)
	case !reachable:
		return nil, event.Refuse(event.ErrNoService, "摄像机 %s 所属中心 %s 不可达，无法播放 / hub %s holding camera %s is unreachable", id, hub, hub, id)
	case base == "":
		return nil, event.Refuse(event.ErrNoService, "所属中心 %s 未公布视频地址（hub.url），无法转发 / hub %s publishes no address (hub.url) for live video", hub, hub)
	case r.o.Token() == "":
		return nil, event.Refuse(event.ErrNoService, "本中心没有 hub 角色的用户，无法从 %s 拉流 / this hub has no user of role hub to watch %s's cameras with", hub, hub)
	}
	if stream != "main" {
		stream = ""
	}
	key := relayKey{hub, id, stream}
	r.mu.Lock()
	if !r.started || r.closed {
		r.mu.Unlock()
		return nil, ErrVideoRelayClosed
	}
	s := r.streams[key]
	if s == nil {
		s = &relayed{key: key, fan: camera.NewFanout(r.o.Queue), ready: make(chan struct{})}
		r.streams[key] = s
		r.wg.Add(1)
		go r.pull(s, base)
	}
	// Subscribed before the first segment can arrive: nothing is missed.
	v := &VideoRelayViewer{Viewer: s.fan.Subscribe(), r: r, s: s}
	s.idle = time.Time{}
	r.mu.Unlock()
	select {
	case <-s.ready:
		if s.err != nil {
			v.Close()
			return nil, s.err
		}
		return v, nil
	case <-ctx.Done():
		v.Close()
		return nil, ctx.Err()
	}
}

// pull runs one upstream until it ends, then lets its viewers go.
func (r *VideoRelay) pull(s *relayed, base string) {
	defer r.wg.Done()
	err := r.run(s, base)
	r.mu.Lock()
	if r.streams[s.key] == s {
		delete(r.streams, s.key)
	}
	r.mu.Unlock()
	select {
	case <-s.ready:
	default:
		s.err = err
		close(s.ready)
	}
	s.fan.Close()
	s.end()
	if err != nil && !errors.Is(err, context.Canceled) {
		r.log.Info("relayed camera stream ended", "hub", s.key.hub, "camera", s.key.camera, "err", err)
	}
}

func (r *VideoRelay) run(s *relayed, base string) error {
	u, err := liveURL(base, s.key.camera, s.key.stream)
	if err != nil {
		return event.Refuse(event.ErrNoService, "所属中心 %s 的视频地址无效 / hub %s's address: %v", s.key.hub, s.key.hub, err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.o.DialTimeout)
	hdr := http.Header{"Authorization": {"Bearer " + r.o.Token()}}
	conn, resp, err := r.o.Dialer.DialContext(ctx, u, hdr)
	cancel()
	if err != nil {
		return dialRefusal(s.key, resp, err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if !s.attach(conn) {
		conn.Close()
		return context.Canceled
	}
	defer conn.Close()
	// A segment is one frame: even a 4K keyframe is a few MiB. More is not
	// video, and is not held in memory.
	conn.SetReadLimit(maxRelayMessage)
	// Until the first init: the dial's deadline, so a camera the owner
	// cannot reach answers within it.
	conn.SetReadDeadline(time.Now().Add(r.o.DialTimeout))
	codec, why := "", ""
	wantInit := false
	for {
		typ, b, err := conn.ReadMessage()
		if err != nil {
			if ce := (*websocket.CloseError)(nil); why == "" && errors.As(err, &ce) {
				why = ce.Text
			}
			if why != "" { // the owner's own words: its camera is down, ...
				zh, en, _ := event.SplitBilingual(why)
				return event.Refuse(event.ErrNoService, "所属中心 %s：%s / hub %s: %s", s.key.hub, zh, s.key.hub, en)
			}
			return fmt.Errorf("hub %s camera %s: %w", s.key.hub, s.key.camera, err)
		}
		switch {
		case typ == websocket.TextMessage:
			var m struct{ Type, Codec, Error string }
			if json.Unmarshal(b, &m) == nil {
				switch m.Type {
				case "init":
					codec, wantInit = m.Codec, true
				case "error":
					why = m.Error
				}
			}
		case wantInit:
			s.fan.SetInit(b, codec)
			wantInit = false
			select {
			case <-s.ready:
			default:
				close(s.ready)
			}
			conn.SetReadDeadline(time.Now().Add(r.o.ReadTimeout))
		default:
			key, err := camera.SegmentStartsWithKey(b)
			if err != nil {
				continue // not a segment: nothing a player could use
			}
			s.fan.WriteSegment(b, key)
			conn.SetReadDeadline(time.Now().Add(r.o.ReadTimeout))
		}
	}
}

// attach records the upstream connection, unless the stream already ended.
func (s *relayed) attach(c *websocket.Conn) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.ended {
		return false
	}
	s.conn = c
	return true
}

// end closes the upstream connection (its reader then returns).
func (s *relayed) end() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	s.ended = true
	if s.conn != nil {
		s.conn.Close()
	}
}

// janitor lets go of upstreams nobody watched for Linger.
func (r *VideoRelay) janitor() {
	defer r.wg.Done()
	t := time.NewTicker(min(time.Second, r.o.Linger/2))
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			for k, s := range r.streams {
				if s.fan.Viewers() > 0 {
					s.idle = time.Time{}
					continue
				}
				if s.idle.IsZero() {
					s.idle = now
				}
				if now.Sub(s.idle) >= r.o.Linger {
					delete(r.streams, k)
					s.end()
				}
			}
			r.mu.Unlock()
		}
	}
}

// liveURL is the owner's live endpoint for a camera, as a websocket URL.
func liveURL(base, id, stream string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("scheme %q", u.Scheme)
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/cameras/" + url.PathEscape(id) + "/live"
	if stream == "main" {
		u.RawQuery = "stream=main"
	}
	return u.String(), nil
}

// dialRefusal says why an owner did not open its stream.
func dialRefusal(k relayKey, resp *http.Response, err error) error {
	if resp == nil {
		return event.Refuse(event.ErrNoService, "无法连接所属中心 %s 的视频服务 / cannot reach hub %s for live video: %v", k.hub, k.hub, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return event.Refuse(event.ErrNoService, "所属中心 %s 不认本中心的凭据（hub 用户的令牌须与之一致） / hub %s refused this hub's credential (%d)", k.hub, k.hub, resp.StatusCode)
	case http.StatusNotFound:
		return event.Refuse(event.ErrNotFound, "所属中心 %s 没有摄像机 %s / hub %s has no camera %s", k.hub, k.camera, k.hub, k.camera)
	}
	return event.Refuse(event.ErrNoService, "所属中心 %s 未能提供视频（%d） / hub %s did not serve the video (%d)", k.hub, resp.StatusCode, k.hub, resp.StatusCode)
}
