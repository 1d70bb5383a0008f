package dashboard

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

func fuzzServer(t testing.TB) *Server {
	cfg := &configs.Config{Listen: "127.0.0.1:0", Dashboard: configs.DashboardConfig{History: 100, ClientQueue: 16}}
	s, err := New(Options{Config: func() *configs.Config { return cfg },
		Auth:      func(tok string) (auth.Principal, bool) { p, ok := principals[tok]; return p, ok },
		Cameras:   fakeCameras{},
		Incidents: &fakeIncidents{list: []event.Incident{{ID: "INC-1", Township: "zhaoren"}, {ID: "INC-2", Township: "xiangong"}}},
		Uptime:    fakeUptime{},
		Ready:     func() map[string]error { return map[string]error{"mqtt": nil} },
		// Refusals are not what is fuzzed here.
		Limits: Limits{RefusalBurst: 1 << 30},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzAPI sends the API any method, path, query, token and body: it never
// panics, never answers 5xx but 503 (a source not configured), never lets
// a request without a known token past 401, and never echoes a long id.
func FuzzAPI(f *testing.F) {
	for _, seed := range []struct{ method, path, token, body string }{
		{"GET", "/api/v1/cameras", "ops-token", ""},
		{"GET", "/api/v1/incidents?state=open&township=zhaoren", "zhaoren-token", ""},
		{"POST", "/api/v1/incidents/INC-1/accept", "zhaoren-token", `{"note":"收到"}`},
		{"POST", "/api/v1/incidents/INC-1/evaluate", "ops-token", `{"rating":"satisfied","score":101}`},
		{"POST", "/api/v1/incidents/%2e%2e/accept", "ops-token", `{`},
		{"POST", "/api/v1/maintenance", "tech-token", `{"device":"cam-1","until":"9999-12-31T00:00:00Z"}`},
		{"GET", "/api/v1/uptime?from=2026-11-24T00:00:00Z&to=x&township=${r}", "ops-token", ""},
		{"DELETE", "/api/v1/maintenance/" + strings.Repeat("A", 100), "ops-token", ""},
		{"GET", "/api/v1/audit?since=x&limit=-1", "ops-token", ""},
		{"PUT", "/api/v1/layouts/%00", "ops-token", `{"name":"\u0000"}`},
		{"GET", "/ws?since=18446744073709551616", "ops-token", ""},
		{"GET", "/api/v1/sensors?unknown=1", "", ""},
	} {
		f.Add(seed.method, seed.path, seed.token, seed.body)
	}
	s := fuzzServer(f)
	h := s.srv.Handler
	f.Fuzz(func(t *testing.T, method, path, token, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u, err := url.ParseRequestURI(path)
		if err != nil || method == "" || strings.ContainsAny(method, " \t\r\n()<>@,;:\\\"/[]?={}") {
			return
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(body))
		req.Method, req.URL, req.RequestURI = method, u, path
		// A header cannot carry control characters: the token sent is the
		// fuzzed one without them, and it is what "known" is judged on.
		token = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, token)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		code := rec.Code
		if code >= 500 && code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s: %d %s", method, path, code, rec.Body.String())
		}
		_, known := principals[strings.TrimSpace(token)]
		// A redirect to the cleaned path ("/api/." → "/api/") answers
		// nothing: the cleaned path asks for the token in turn.
		redirect := code/100 == 3 && rec.Header().Get("Location") != ""
		if strings.HasPrefix(u.Path, "/api/") && !known && code < 400 && !redirect {
			t.Fatalf("%s %s without a known token: %d", method, path, code)
		}
		if id := u.Path; len(id) > 200 && bytes.Contains(rec.Body.Bytes(), []byte(id[len(id)-100:])) && code != http.StatusNotFound {
			t.Fatalf("a long path is echoed: %.100s", rec.Body.String())
		}
	})
}

// FuzzWebsocketInput sends the wall's and the live video's websockets any
// message a client can: the server ignores it or closes with a reason, and
// never panics or holds more than its read limit.
func FuzzWebsocketInput(f *testing.F) {
	f.Add("/ws?token=ops-token", websocket.TextMessage, []byte(`{"type":"subscribe"}`))
	f.Add("/ws?token=zhaoren-token&since=3", websocket.BinaryMessage, bytes.Repeat([]byte{0xff}, 5000))
	f.Add("/api/v1/cameras/cam-1/live?token=ops-token", websocket.BinaryMessage, []byte("x"))
	f.Add("/ws?token=ops-token", websocket.PingMessage, []byte("ping"))
	f.Add("/ws?token=ops-token", websocket.CloseMessage, []byte{3, 232, 'b', 'y', 'e'})
	s := fuzzServer(f)
	s.o.Video = blockingVideo{}
	if err := s.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, path string, typ int, payload []byte) {
		if !strings.HasPrefix(path, "/ws?") && !strings.HasPrefix(path, "/api/v1/cameras/cam-1/live?") {
			return
		}
		c, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+path, nil)
		if err != nil {
			return // refused at the handshake (bad token, bad since)
		}
		defer c.Close()
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		switch typ {
		case websocket.TextMessage, websocket.BinaryMessage:
			c.WriteMessage(typ, payload)
		case websocket.PingMessage, websocket.PongMessage, websocket.CloseMessage:
			if len(payload) <= 125 {
				c.WriteControl(typ, payload, time.Now().Add(time.Second))
			}
		default:
			return
		}
		// The server answers with data, a close, or nothing; it stays up.
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		c.ReadMessage()
		res, err := http.Get("http://" + s.Addr() + "/healthz")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("the server is down after %q type %d: %v", path, typ, err)
		}
		res.Body.Close()
	})
}
