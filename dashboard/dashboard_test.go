package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

var principals = map[string]auth.Principal{
	"ops-token":     {Name: "ops", Role: auth.RoleOperator},
	"zhaoren-token": {Name: "zr", Role: auth.RoleTownship, Township: "zhaoren"},
	"xiang-token":   {Name: "xg", Role: auth.RoleTownship, Township: "xiangong"},
	"tech-token":    {Name: "tech", Role: auth.RoleTechnician},
}

type fakeIncidents struct{ list []event.Incident }

func (f *fakeIncidents) List(p auth.Principal, _ event.IncidentFilter) []event.Incident {
	out := []event.Incident{}
	for _, i := range f.list {
		if p.CanSee(i.Township) {
			out = append(out, i)
		}
	}
	return out
}
func (f *fakeIncidents) Get(p auth.Principal, id string) (event.Incident, error) {
	return event.Incident{}, event.NotFound(id)
}
func (f *fakeIncidents) Act(_ context.Context, p auth.Principal, id, action string, _ event.ActionRequest) (event.Incident, error) {
	if p.Role == auth.RoleTechnician {
		return event.Incident{}, event.Forbidden("technicians have no incident actions")
	}
	return event.Incident{ID: id, State: "accepted"}, nil
}
func (f *fakeIncidents) Audit(auth.Principal, time.Time, int) ([]event.AuditEntry, error) {
	return nil, nil
}

// Actions stands for the engine's decision: the county may dispatch what
// is opened, a township desk its own incidents' accept, others nothing.
func (f *fakeIncidents) Actions(p auth.Principal, inc event.Incident) []string {
	switch {
	case p.Role == auth.RoleOperator && inc.State == "opened":
		return []string{"dispatch", "acknowledge"}
	case p.Role == auth.RoleTownship && p.Township == inc.Township:
		return []string{"accept"}
	}
	return []string{}
}

type fakeCameras struct{}

func (fakeCameras) Cameras() []event.CameraStatus {
	return []event.CameraStatus{{ID: "cam-1", Township: "zhaoren", State: "online"}, {ID: "cam-2", Township: "xiangong", State: "offline"}}
}

type fakeUptime struct{}

func (fakeUptime) Uptime(_ context.Context, p auth.Principal, from, to time.Time, township string) (*event.UptimeReport, error) {
	return &event.UptimeReport{From: from, To: to, Cameras: []event.CameraUptime{{ID: "cam-1", Name: "路口", Uptime: 0.5, State: "online"}}}, nil
}

func startServer(t *testing.T, history, queue int) *Server {
	t.Helper()
	cfg := &configs.Config{Listen: "127.0.0.1:0", Dashboard: configs.DashboardConfig{History: history, ClientQueue: queue}}
	s, err := New(Options{Config: func() *configs.Config { return cfg },
		Auth:      func(tok string) (auth.Principal, bool) { p, ok := principals[tok]; return p, ok },
		Cameras:   fakeCameras{},
		Incidents: &fakeIncidents{list: []event.Incident{{ID: "INC-1", Township: "zhaoren"}, {ID: "INC-2", Township: "xiangong"}}},
		Uptime:    fakeUptime{},
		Ready:     func() map[string]error { return map[string]error{"mqtt": nil} },
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

type msg struct {
	Seq  uint64          `json:"seq"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func dial(t *testing.T, s *Server, token, query string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/ws?token="+token+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *websocket.Conn) msg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m msg
	if err := c.ReadJSON(&m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

func incident(n int, township string) event.Event {
	return event.Event{Type: event.IncidentStep, Township: township, Data: event.Incident{ID: fmt.Sprintf("INC-%d", n), Township: township}}
}

func TestSnapshotThenEvents(t *testing.T) {
	s := startServer(t, 100, 16)
	c := dial(t, s, "ops-token", "")
	snap := read(t, c)
	if snap.Type != "snapshot" || !strings.Contains(string(snap.Data), "cam-2") || !strings.Contains(string(snap.Data), "INC-2") {
		t.Fatalf("snapshot = %s", snap.Data)
	}
	s.Publish(context.Background(), incident(7, "zhaoren"))
	m := read(t, c)
	if m.Type != "incident" || m.Seq != snap.Seq+1 || !strings.Contains(string(m.Data), "INC-7") {
		t.Fatalf("event = %+v %s", m, m.Data)
	}
}

// A client disconnected in the middle of a burst resumes with ?since= and
// gets every event it may see exactly once, in order.
func TestResumeAcrossDisconnectDuringBurst(t *testing.T) {
	s := startServer(t, 10000, 4096)
	c := dial(t, s, "zhaoren-token", "")
	read(t, c) // snapshot
	const total = 2000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= total; i++ {
			tw := "zhaoren"
			if i%3 == 0 {
				tw = "xiangong"
			}
			s.Publish(context.Background(), incident(i, tw))
		}
	}()
	var got []int
	var last uint64
	for len(got) < 100 {
		m := read(t, c)
		var inc event.Incident
		json.Unmarshal(m.Data, &inc)
		var n int
		fmt.Sscanf(inc.ID, "INC-%d", &n)
		got = append(got, n)
		last = m.Seq
	}
	c.Close() // forced disconnect mid-burst
	<-done
	c2 := dial(t, s, "zhaoren-token", fmt.Sprintf("&since=%d", last))
	if m := read(t, c2); m.Type != "resume" {
		t.Fatalf("first message after resume = %s", m.Type)
	}
	want := 0
	for i := 1; i <= total; i++ {
		if i%3 != 0 {
			want++
		}
	}
	for len(got) < want {
		m := read(t, c2)
		var inc event.Incident
		json.Unmarshal(m.Data, &inc)
		var n int
		fmt.Sscanf(inc.ID, "INC-%d", &n)
		got = append(got, n)
	}
	prev := 0
	for _, n := range got {
		if n%3 == 0 {
			t.Fatalf("township client got another township's incident %d", n)
		}
		if n <= prev {
			t.Fatalf("out of order or duplicated: %d after %d", n, prev)
		}
		prev = n
	}
}

func TestHistoryExpiredGivesMarkedSnapshot(t *testing.T) {
	s := startServer(t, 10, 16)
	for i := 0; i < 50; i++ {
		s.Publish(context.Background(), incident(i, "zhaoren"))
	}
	c := dial(t, s, "ops-token", "&since=3")
	m := read(t, c)
	if m.Type != "snapshot" || !strings.Contains(string(m.Data), `"reason":"history_expired"`) {
		t.Fatalf("got %s %s", m.Type, m.Data)
	}
}

// A client that never reads is dropped when its queue fills, while another
// keeps receiving everything; the producer is never blocked.
func TestStalledClientIsDropped(t *testing.T) {
	s := startServer(t, 1000, 1024)
	// A raw client: the handshake, then it reads nothing.
	raw, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fmt.Fprintf(raw, "GET /ws?token=ops-token HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", s.Addr())
	fast := dial(t, s, "ops-token", "")
	read(t, fast)
	var wg sync.WaitGroup
	wg.Add(1)
	received := 0
	go func() {
		defer wg.Done()
		for received < 5000 {
			fast.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, _, err := fast.ReadMessage(); err != nil {
				return
			}
			received++
		}
	}()
	start := time.Now()
	for i := 0; i < 5000; i++ {
		s.Publish(context.Background(), event.Event{Type: event.CameraSample, Township: "zhaoren",
			Data: event.CameraStatus{ID: "cam-1", LastError: strings.Repeat("x", 2000)}})
		if i%50 == 0 {
			time.Sleep(10 * time.Millisecond) // let the reading client keep up, even on a loaded machine
		}
	}
	publishTime := time.Since(start)
	wg.Wait()
	if received != 5000 {
		t.Fatalf("the reading client got %d of 5000", received)
	}
	if n := s.hub.dropped(); n != 1 {
		t.Fatalf("dropped clients = %d, want the stalled one", n)
	}
	t.Logf("5000 events published in %s with a stalled client", publishTime)
}

// A township client never receives another township's event, of any type.
func TestTownshipScopeForEveryType(t *testing.T) {
	s := startServer(t, 100, 64)
	c := dial(t, s, "xiang-token", "")
	snap := read(t, c)
	if strings.Contains(string(snap.Data), "cam-1") || strings.Contains(string(snap.Data), "INC-1\"") {
		t.Fatalf("snapshot leaks zhaoren: %s", snap.Data)
	}
	for _, typ := range []event.Type{event.CameraState, event.CameraSample, event.CameraEvent, event.SensorReading, event.SensorState, event.IncidentStep} {
		var data any
		switch typ {
		case event.CameraState, event.CameraSample:
			data = event.CameraStatus{ID: "secret-" + string(typ)}
		case event.CameraEvent:
			data = event.CameraAnalytics{Camera: "secret-" + string(typ)}
		case event.SensorReading:
			data = event.SensorReadingData{Sensor: "secret-" + string(typ)}
		case event.SensorState:
			data = event.SensorStatus{ID: "secret-" + string(typ)}
		case event.IncidentStep:
			data = event.Incident{ID: "secret-" + string(typ)}
		}
		s.Publish(context.Background(), event.Event{Type: typ, Township: "zhaoren", Data: data})
	}
	s.Publish(context.Background(), incident(99, "xiangong"))
	m := read(t, c)
	if !strings.Contains(string(m.Data), "INC-99") {
		t.Fatalf("first message after the zhaoren events = %s", m.Data)
	}
}

func get(t *testing.T, s *Server, token, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.Addr()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAPI(t *testing.T) {
	s := startServer(t, 100, 16)
	tests := []struct {
		token, path string
		status      int
		contains    string
		absent      string
	}{
		{"", "/api/v1/cameras", 401, `"error":"missing bearer token"`, ""},
		{"nope", "/api/v1/cameras", 401, "unknown token", ""},
		{"ops-token", "/api/v1/cameras", 200, "cam-2", ""},
		{"zhaoren-token", "/api/v1/cameras", 200, "cam-1", "cam-2"},
		{"zhaoren-token", "/api/v1/incidents?state=open", 200, "INC-1", "INC-2"},
		{"zhaoren-token", "/api/v1/sensors?unknown=1", 503, "not available", ""},
		{"ops-token", "/api/v1/incidents/INC-9", 404, "not found", ""},
		{"ops-token", "/healthz", 200, "ok", ""},
		{"", "/readyz", 200, `"mqtt":"ok"`, ""},
		{"ops-token", "/api/v1/uptime?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z", 200, `"uptime":0.5`, ""},
		{"ops-token", "/api/v1/uptime?from=yesterday", 400, "RFC3339", ""},
		{"", "/", 200, "<title>", ""},
		{"", "/static/js/wall.js", 200, "connect(onMessage, onState)", ""},
	}
	for _, tt := range tests {
		resp, body := get(t, s, tt.token, tt.path)
		if resp.StatusCode != tt.status || !strings.Contains(body, tt.contains) || (tt.absent != "" && strings.Contains(body, tt.absent)) {
			t.Errorf("%s %s: %d %s", tt.token, tt.path, resp.StatusCode, body)
		}
	}
	resp, body := get(t, s, "ops-token", "/api/v1/uptime", "Accept", "text/csv")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(body, "\ufeff摄像机编号 camera,摄像机 name,乡镇编号 township") {
		t.Errorf("CSV: %s %s", resp.Header.Get("Content-Type"), body)
	}
	// Actions map refusals onto 403 with the reason.
	req, _ := http.NewRequest("POST", "http://"+s.Addr()+"/api/v1/incidents/INC-1/accept", strings.NewReader(`{"note":"x"}`))
	req.Header.Set("Authorization", "Bearer tech-token")
	r2, _ := http.DefaultClient.Do(req)
	b, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 403 || !strings.Contains(string(b), "technicians have no incident actions") {
		t.Errorf("technician accept: %d %s", r2.StatusCode, b)
	}
}

func TestOriginCheck(t *testing.T) {
	s := startServer(t, 100, 16)
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/ws?token=ops-token", http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin accepted: %v", err)
	}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/ws?token=ops-token", http.Header{"Origin": {"http://" + s.Addr()}})
	if err != nil {
		t.Fatalf("same origin refused: %v", err)
	}
	c.Close()
}

func TestCloseSendsCloseFrameAndLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := &configs.Config{Listen: "127.0.0.1:0"}
	s, _ := New(Options{Config: func() *configs.Config { return cfg }, Auth: func(tok string) (auth.Principal, bool) { p, ok := principals[tok]; return p, ok }})
	s.Start(context.Background())
	c, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/ws?token=ops-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	read(t, c)
	s.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after Close: %v, want a going-away close frame", err)
	}
	c.Close()
	http.DefaultClient.CloseIdleConnections()
}
