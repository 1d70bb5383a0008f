package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// blockingVideo is a camera that sends its init segment and then nothing.
type blockingVideo struct{}

type blockingViewer struct{}

func (blockingVideo) Watch(context.Context, string) (VideoViewer, error) {
	return blockingViewer{}, nil
}
func (blockingViewer) Init(context.Context) ([]byte, error)     { return []byte("init"), nil }
func (blockingViewer) Codec() string                            { return "avc1.42e01e" }
func (blockingViewer) Next(ctx context.Context) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() }
func (blockingViewer) Close()                                   {}

func startLimited(t *testing.T, l Limits) *Server {
	t.Helper()
	// The default history of 10,000 events.
	cfg := &configs.Config{Listen: "127.0.0.1:0", Dashboard: configs.DashboardConfig{History: 10000, ClientQueue: 16}}
	s, err := New(Options{Config: func() *configs.Config { return cfg },
		Auth:      func(tok string) (auth.Principal, bool) { p, ok := principals[tok]; return p, ok },
		Cameras:   fakeCameras{},
		Incidents: &fakeIncidents{},
		Video:     blockingVideo{},
		Limits:    l,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// closedWithin reports whether the server closes c within d, while the
// client keeps trickling what write returns (nil: nothing).
func closedWithin(c net.Conn, d time.Duration, write func(i int) []byte) bool {
	deadline := time.Now().Add(d)
	buf := make([]byte, 4096)
	for i := 0; time.Now().Before(deadline); i++ {
		if write != nil {
			if b := write(i); b != nil {
				if _, err := c.Write(b); err != nil {
					return true
				}
			}
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil && !isTimeout(err) {
			return true
		}
		if n > 0 && strings.Contains(string(buf[:n]), "408") {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Slow headers, a slow body and an idle keep-alive connection are each
// closed; before, the idle and slow-body connections stayed open for ever.
func TestSlowAndIdleConnectionsClosed(t *testing.T) {
	s := startLimited(t, Limits{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	tests := []struct {
		name  string
		first string
		trick func(i int) []byte
	}{
		{"slow headers", "GET /healthz HTTP/1.1\r\nHost: x\r\n", func(int) []byte { return []byte("X-Slow: 1\r\n") }},
		{"slow body", "POST /api/v1/incidents/INC-1/accept HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ops-token\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"note\":\"",
			func(int) []byte { return []byte("a") }},
		{"idle keep-alive", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte(tt.first))
			if !closedWithin(c, 3*time.Second, tt.trick) {
				t.Fatal("the connection is still open after 3 s")
			}
		})
	}
}

func TestHeaderAndBodyBytesLimited(t *testing.T) {
	s := startLimited(t, Limits{})
	req, _ := http.NewRequest("GET", "http://"+s.Addr()+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KiB header: %d", res.StatusCode)
	}
	body := `{"note":"` + strings.Repeat("x", 100<<10) + `"}`
	req, _ = http.NewRequest("POST", "http://"+s.Addr()+"/api/v1/incidents/INC-1/accept", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer ops-token")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("100 KiB body: %d", res.StatusCode)
	}
}

// A township user sends a 64 MiB frame to a camera's live endpoint: the
// server stops at its read limit and closes; the heap does not hold it.
// Before, a 400 MB frame took 937 MB of RSS.
func TestLiveEndpointReadsNothing(t *testing.T) {
	s := startLimited(t, Limits{})
	c, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/cameras/cam-1/live?token=zhaoren-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read(t, c) // the init message
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	w, err := c.NextWriter(websocket.BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	sent := 0
	for ; sent < 64; sent++ {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := w.Write(chunk); err != nil {
			break
		}
	}
	w.Close()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	const ceiling = 16 << 20
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew %.1f MiB (ceiling %d MiB)", float64(grew)/(1<<20), ceiling>>20)
	if grew > ceiling {
		t.Fatalf("heap grew %d MiB for a %d MiB frame; ceiling %d MiB", grew>>20, sent, ceiling>>20)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if isTimeout(err) {
				t.Fatal("the live connection stays open after a data frame")
			}
			break
		}
	}
}

// A ping flood closes the connection (policy violation) instead of
// keeping a core busy answering; a ping now and then is answered.
func TestPingFloodCloses(t *testing.T) {
	s := startLimited(t, Limits{})
	for _, path := range []string{"/ws?token=ops-token", "/api/v1/cameras/cam-1/live?token=ops-token"} {
		t.Run(path, func(t *testing.T) {
			c, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			pongs := make(chan struct{}, 100000)
			c.SetPongHandler(func(string) error { pongs <- struct{}{}; return nil })
			closed := make(chan error, 1)
			go func() {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						closed <- err
						return
					}
				}
			}()
			c.WriteControl(websocket.PingMessage, []byte("1"), time.Now().Add(time.Second))
			select {
			case <-pongs:
			case <-time.After(5 * time.Second):
				t.Fatal("a single ping is not answered")
			}
			for i := 0; i < 10000; i++ {
				typ := websocket.PingMessage
				if i%2 == 1 {
					typ = websocket.PongMessage // unsolicited pongs count too
				}
				if c.WriteControl(typ, []byte(fmt.Sprint(i)), time.Now().Add(time.Second)) != nil {
					break
				}
			}
			select {
			case err := <-closed:
				if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) && !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
					t.Logf("closed with %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a ping flood keeps the connection open")
			}
			if n := len(pongs); n > 100 {
				t.Fatalf("%d pongs answered to a flood", n)
			}
		})
	}
}

// Camera events with a 60 KB detail: the history stays within its bytes
// (before: 10,000 of them held 658 MB); a resume older than what is kept
// gets a snapshot, a recent one its events.
func TestHistoryBoundedInBytes(t *testing.T) {
	s := startLimited(t, Limits{})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	detail := map[string]any{"image": strings.Repeat("A", 60000)}
	for i := 0; i < 5000; i++ {
		s.Publish(context.Background(), event.Event{Type: event.CameraEvent, Township: "zhaoren", Device: "cam-1",
			Data: event.CameraAnalytics{Camera: "cam-1", Kind: "motion", Detail: detail}})
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	const ceiling = 64 << 20
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew %.1f MiB (ceiling %d MiB)", float64(grew)/(1<<20), ceiling>>20)
	if grew > ceiling {
		t.Fatalf("heap grew %d MiB for 5,000 events of 60 KB; ceiling %d MiB", grew>>20, ceiling>>20)
	}
	s.hub.mu.Lock()
	held, n := s.hub.histBytes, s.hub.size
	s.hub.mu.Unlock()
	if held > DefaultLimits.HistoryBytes || n == 0 {
		t.Fatalf("history holds %d events, %d bytes", n, held)
	}
	old := dial(t, s, "ops-token", "&since=1")
	if m := read(t, old); m.Type != "snapshot" || !strings.Contains(string(m.Data), "history_expired") {
		t.Fatalf("a resume older than the history: %s %.80s", m.Type, m.Data)
	}
	recent := dial(t, s, "ops-token", fmt.Sprintf("&since=%d", s.hub.epoch+4998))
	if m := read(t, recent); m.Type != "resume" {
		t.Fatalf("a recent resume: %s", m.Type)
	}
	if m := read(t, recent); m.Seq != s.hub.epoch+4999 {
		t.Fatalf("first resumed event: %d", m.Seq)
	}
}
