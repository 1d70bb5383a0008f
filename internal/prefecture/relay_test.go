package prefecture

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"snowhub/camera"
	"snowhub/internal/event"
)

// A real SPS/PPS pair (baseline, 480×270), so the segments parse.
var (
	relaySPS = []byte{0x67, 0x42, 0xc0, 0x15, 0xd9, 0x01, 0xe0, 0x8f, 0xeb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x62, 0xe4, 0x80}
	relayPPS = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
)

// fakeOwner serves the owner's live endpoint as a hub does: the init
// message, the init segment, then a segment every 10 ms from a keyframe.
type fakeOwner struct {
	*httptest.Server
	token  string
	pulls  atomic.Int32           // live connections opened
	open   atomic.Int32           // live connections open now
	refuse atomic.Pointer[string] // close at once with this reason (4004)
}

func newFakeOwner(t *testing.T, token string) *fakeOwner {
	o := &fakeOwner{token: token}
	up := websocket.Upgrader{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+o.token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/api/v1/cameras/cam-1/live") {
			http.NotFound(w, r)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		o.pulls.Add(1)
		o.open.Add(1)
		defer o.open.Add(-1)
		if why := o.refuse.Load(); why != nil && *why != "" {
			b, _ := json.Marshal(map[string]string{"type": "error", "error": *why})
			c.WriteMessage(websocket.TextMessage, b)
			c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "x"), time.Now().Add(time.Second))
			return
		}
		src := camera.NewFanout(64)
		src.SetH264Params(relaySPS, relayPPS)
		v := src.Subscribe()
		defer v.Close()
		go func() { // the reader: the view closing ends the stream
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					src.Close()
					return
				}
			}
		}()
		init, _ := v.Init(r.Context())
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"init","codec":"`+v.Codec()+`"}`))
		c.WriteMessage(websocket.BinaryMessage, init)
		go func() {
			for i := 0; ; i++ {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
				idr := i%10 == 0
				nal := []byte{0x41, 0x9a, byte(i)}
				if idr {
					nal = []byte{0x65, 0x88, byte(i)}
				}
				src.WriteAccessUnit(int64(i)*3600, [][]byte{nal}, idr)
			}
		}()
		for {
			seg, err := v.Next(r.Context())
			if err != nil || c.WriteMessage(websocket.BinaryMessage, seg) != nil {
				return
			}
		}
	}))
	t.Cleanup(o.Server.Close)
	return o
}

func newTestRelay(t *testing.T, owner *fakeOwner, token string, reachable bool) *VideoRelay {
	r := NewVideoRelay(VideoRelayOptions{
		Owner: func(id string) (string, string, bool, bool) {
			if id != "cam-1" && id != "cam-2" {
				return "", "", false, false
			}
			return "north", owner.URL, reachable, true
		},
		Token:  func() string { return token },
		Linger: 200 * time.Millisecond, DialTimeout: 2 * time.Second,
	})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRelayOnePullForManyViewers(t *testing.T) {
	leaks := goleak.IgnoreCurrent() // checked after the fake owner closed (cleanups run last first)
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
	owner := newFakeOwner(t, "city-token-0123456789")
	r := newTestRelay(t, owner, "city-token-0123456789", true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var viewers []*VideoRelayViewer
	for i := 0; i < 3; i++ {
		v, err := r.Watch(ctx, "cam-1", "")
		if err != nil {
			t.Fatalf("viewer %d: %v", i, err)
		}
		if init, err := v.Init(ctx); err != nil || !camera.IsInit(init) || !strings.HasPrefix(v.Codec(), "avc1.") {
			t.Fatalf("viewer %d init: %v %q", i, err, v.Codec())
		}
		seg, err := v.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if key, err := camera.SegmentStartsWithKey(seg); err != nil || !key {
			t.Fatalf("viewer %d does not start at a keyframe (%v)", i, err)
		}
		viewers = append(viewers, v)
	}
	if n := owner.pulls.Load(); n != 1 || r.Upstreams() != 1 {
		t.Fatalf("%d pulls at the owner, %d upstreams, want 1 for three viewers", n, r.Upstreams())
	}
	// The main stream is another pull.
	m, err := r.Watch(ctx, "cam-1", "main")
	if err != nil {
		t.Fatal(err)
	}
	if r.Upstreams() != 2 {
		t.Fatalf("upstreams %d, want 2 with the main stream", r.Upstreams())
	}
	m.Close()

	// Every viewer gone: after the linger the owner is let go, and a new
	// viewer pulls again.
	for _, v := range viewers {
		v.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for (owner.open.Load() != 0 || r.Upstreams() != 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if owner.open.Load() != 0 || r.Upstreams() != 0 {
		t.Fatalf("after the linger: %d open at the owner, %d upstreams", owner.open.Load(), r.Upstreams())
	}
	v, err := r.Watch(ctx, "cam-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Next(ctx); err != nil {
		t.Fatal(err)
	}

	// Close ends the viewers and every goroutine (goleak above).
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Next(ctx); !errors.Is(err, camera.ErrFanoutClosed) {
		t.Fatalf("a viewer after Close: %v", err)
	}
	if _, err := r.Watch(ctx, "cam-1", ""); !errors.Is(err, ErrVideoRelayClosed) {
		t.Fatalf("Watch after Close: %v", err)
	}
}

func TestRelayRefusals(t *testing.T) {
	leaks := goleak.IgnoreCurrent() // checked after the fake owner closed (cleanups run last first)
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
	owner := newFakeOwner(t, "city-token-0123456789")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tests := []struct {
		name      string
		token     string
		reachable bool
		camera    string
		refuse    string
		sentinel  error
		says      string
	}{
		{name: "owner unreachable", token: "city-token-0123456789", camera: "cam-1", sentinel: event.ErrNoService, says: "不可达"},
		{name: "no hub user", reachable: true, camera: "cam-1", sentinel: event.ErrNoService, says: "hub 角色"},
		{name: "credential refused", token: "wrong-token-0123456789", reachable: true, camera: "cam-1", sentinel: event.ErrNoService, says: "凭据"},
		{name: "owner has no such camera", token: "city-token-0123456789", reachable: true, camera: "cam-2", sentinel: event.ErrNotFound, says: "没有摄像机 cam-2"},
		{name: "unknown camera", token: "city-token-0123456789", reachable: true, camera: "nope", sentinel: event.ErrNotFound},
		{name: "owner cannot reach the camera", token: "city-token-0123456789", reachable: true, camera: "cam-1",
			refuse: "摄像机连接超时 / camera timed out", sentinel: event.ErrNoService, says: "north：摄像机连接超时"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owner.refuse.Store(&tt.refuse)
			r := newTestRelay(t, owner, tt.token, tt.reachable)
			defer r.Close()
			_, err := r.Watch(ctx, tt.camera, "")
			if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.sentinel, tt.says)
			}
			if r.Upstreams() != 0 {
				t.Errorf("a failed pull is kept: %d upstreams", r.Upstreams())
			}
		})
	}
}
