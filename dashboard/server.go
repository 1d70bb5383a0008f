// Package dashboard serves the people: the HTTP API, the websocket stream
// of events, live video for the wall, and the pages (the wall, the
// township desk, the uptime page). It sees the rest of the hub only
// through the small interfaces below.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"snowhub/internal/accounts"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

//go:embed web
var webFS embed.FS

// CameraSource lists cameras.
type CameraSource interface{ Cameras() []event.CameraStatus }

// SensorSource lists sensors, and devices that publish unconfigured.
type SensorSource interface {
	Sensors() []event.SensorStatus
	Unknown() any
}

// IncidentService lists incidents and takes steps.
type IncidentService interface {
	List(p auth.Principal, f event.IncidentFilter) []event.Incident
	Get(p auth.Principal, id string) (event.Incident, error)
	Act(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error)
	Audit(p auth.Principal, since time.Time, limit int) ([]event.AuditEntry, error)
	// Actions are the steps p may take on inc now: every incident the
	// pages and the API hand to p carries them (withActions), so the pages
	// draw their buttons from the hub's one decision.
	Actions(p auth.Principal, inc event.Incident) []string
}

// MaintenanceService keeps maintenance windows.
type MaintenanceService interface {
	Set(ctx context.Context, p auth.Principal, m event.Maintenance) (event.Maintenance, error)
	End(ctx context.Context, p auth.Principal, id string) error
	// List is the windows p may see, in force at now or later.
	List(p auth.Principal, now time.Time) []event.Maintenance
}

// UptimeSource reports uptime from the time series.
type UptimeSource interface {
	Uptime(ctx context.Context, p auth.Principal, from, to time.Time, township string) (*event.UptimeReport, error)
}

// VideoViewer is one viewer of a camera's live fragmented MP4.
type VideoViewer interface {
	Init(ctx context.Context) ([]byte, error)
	Codec() string
	Next(ctx context.Context) ([]byte, error)
	Close()
}

// VideoStreams is a video source that can open a camera's main stream
// ("main", for a focused or single tile) or its grid stream ("": the
// sub-stream when the camera has one).
type VideoStreams interface {
	WatchStream(ctx context.Context, cameraID, stream string) (VideoViewer, error)
}

// LocalVideo is a video source that tells this hub's own cameras from
// those it relays from other hubs: another hub may watch only the former.
type LocalVideo interface {
	Local(cameraID string) bool
}

// VideoSource opens live video.
type VideoSource interface {
	Watch(ctx context.Context, cameraID string) (VideoViewer, error)
}

// Options configure the server. A nil source answers 503 with a reason.
// Each capability is its own typed field, so an assembly that means to
// give one and lacks a method does not compile.
type Options struct {
	Listen    string
	Config    func() *configs.Config
	Auth      func(token string) (auth.Principal, bool)
	Cameras   CameraSource
	Sensors   SensorSource
	Incidents IncidentService
	// IncidentQuery pages the list and reaches the archive (X-Total-Count,
	// CSV); nil: Incidents.List, unpaged.
	IncidentQuery IncidentQuerier
	// IncidentCreate raises incidents by hand (POST /api/v1/incidents); nil: 503.
	IncidentCreate IncidentCreator
	// Outbox is the committed steps for GET /api/v1/outbox; nil: 503.
	Outbox OutboxSource
	// Stats and Backlog are the figures (GET /api/v1/stats, /stats/backlog); nil: 503.
	Stats   StatsSource
	Backlog BacklogSource
	// Across, on a hub that views others, is the figures over every viewed
	// hub with the missing ones named; nil: Stats and Backlog alone.
	Across      AcrossSource
	Maintenance MaintenanceService
	Uptime      UptimeSource
	Video       VideoSource
	// VideoStreams opens a camera's main stream for ?stream=main; nil: the
	// grid stream (Video.Watch) always.
	VideoStreams VideoStreams
	// LocalVideo tells this hub's own cameras from relayed ones, for
	// another hub's relay (role hub); nil: such a hub sees no camera.
	LocalVideo LocalVideo
	Hubs       HubSource    // a view hub's other hubs (api_hubs.go); nil: none
	Notify     NotifySource // notification channels' health (api_notify.go); nil: none
	// GB28181 lists the GB/T 28181 devices (api_gb28181.go); nil: none
	// (no gb28181 section).
	GB28181 GB28181Source
	Ready   func() map[string]error
	// AuthAudit records refused bearer tokens in the audit trail with the
	// peer's address; nil: counted and logged only (authfail.go).
	AuthAudit AuthAuditor
	// Login checks people's logins and keeps their sessions (api_login.go);
	// nil: the login routes answer 503 and no session cookie is accepted.
	Login LoginService
	// Accounts manages the accounts the hub keeps (api_accounts.go); nil:
	// those routes answer 503.
	Accounts AccountService
	// Keys keeps the API keys and displays (api_keys.go); nil: those
	// routes answer 503.
	Keys     KeyService
	Gatherer prometheus.Gatherer
	Registry prometheus.Registerer
	Logger   *slog.Logger
	Now      func() time.Time
	Limits   Limits // zero fields: DefaultLimits
}

// Server is the hub's HTTP face.
type Server struct {
	o        Options
	log      *slog.Logger
	hub      *hub
	srv      *http.Server
	ln       net.Listener
	up       websocket.Upgrader
	shutdown chan struct{}
	layouts  *layoutStore
	refused  *refusals
	// loginFails limits failed logins by address (api_login.go).
	loginFails *refusals
	authFail   *authFailures
	redact     redactor
	patterns   []string // every route, for the security tests (routetable.go)
	mLive      *prometheus.GaugeVec
	assets     assets // the pages and scripts, compressed and tagged (static.go)
}

// New builds the server; Start listens.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Config == nil || o.Auth == nil {
		return nil, errors.New("dashboard: Config and Auth are required")
	}
	cfg := o.Config()
	hist, queue := cfg.Dashboard.History, cfg.Dashboard.ClientQueue
	if hist <= 0 {
		hist = 10000
	}
	if queue <= 0 {
		queue = 256
	}
	s := &Server{o: o, log: o.Logger, hub: newHub(hist, queue, o.Incidents), shutdown: make(chan struct{}), layouts: newLayoutStore(cfg.DataDir),
		mLive: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "snowhub_live_viewers",
			Help: "Live video streams served now, by who watches: a person, or another hub relaying for its viewers."}, []string{"by"})}
	s.mLive.WithLabelValues("person") // both series from the start, at 0
	s.mLive.WithLabelValues("hub")
	s.authFail = newAuthFailures(o)
	if o.Registry != nil {
		for _, c := range append([]prometheus.Collector{s.hub.mClients, s.hub.mEvents, s.hub.mDropped, s.mLive}, s.authFail.collectors()...) {
			if err := o.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	static, _ := fs.Sub(webFS, "web")
	var err error
	if s.assets, err = loadAssets(static); err != nil {
		return nil, fmt.Errorf("dashboard: pages: %w", err)
	}
	// The write buffer is lent from a pool only while a message is being
	// written: a wall's connection is idle between messages, so 500 walls
	// share a few warm buffers instead of holding 16 KiB each.
	s.up = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 16 << 10, WriteBufferPool: &sync.Pool{}, CheckOrigin: s.checkOrigin}
	s.o.Limits = o.Limits.withDefaults()
	s.hub.limits = s.o.Limits
	s.refused = newRefusals(s.o.Limits.RefusalEvery, s.o.Limits.RefusalBurst)
	s.loginFails = newRefusals(loginFailEvery, loginFailBurst)
	s.srv = s.o.Limits.httpServer(s.routes())
	return s, nil
}

// Publish is the event stream's sink for the walls: it never blocks.
func (s *Server) Publish(_ context.Context, ev event.Event) error {
	s.hub.publish(ev)
	return nil
}

// Start listens; it returns once the listener is bound.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.o.Config().Listen)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	return nil
}

// Addr is the bound address.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.o.Config().Listen
	}
	return s.ln.Addr().String()
}

// Close sends websocket clients a close frame and shuts the server down.
func (s *Server) Close() error {
	select {
	case <-s.shutdown:
		return nil
	default:
	}
	close(s.shutdown)
	s.hub.closeAll()
	if s.ln == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.Contains(s.o.Config().Dashboard.AllowedOrigins, origin)
}

func (s *Server) routes() http.Handler {
	mux := &routeMux{ServeMux: http.NewServeMux()}
	defer func() { s.patterns = mux.patterns }()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.o.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{}))
	}
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request, p auth.Principal)) {
		mux.HandleFunc(pattern, s.authed(h))
	}
	mux.HandleFunc("POST /api/v1/login", s.login)
	api("POST /api/v1/logout", s.logout)
	api("GET /api/v1/me", s.whoami)
	s.accountRoutes(api)
	s.keyRoutes(api)
	api("GET /api/v1/topology", s.topology)
	api("GET /api/v1/cameras", s.cameras)
	api("GET /api/v1/cameras/{id}/live", s.live)
	api("GET /api/v1/sensors", s.sensors)
	s.incidentRoutes(api)
	s.statsRoutes(api)
	api("GET /api/v1/uptime", s.uptime)
	api("GET /api/v1/maintenance", s.maintenanceList)
	api("POST /api/v1/maintenance", s.maintenanceSet)
	api("DELETE /api/v1/maintenance/{id}", s.maintenanceEnd)
	api("GET /api/v1/audit", s.audit)
	api("GET /api/v1/hubs", s.hubs)
	api("GET /api/v1/notify/channels", s.notifyChannels)
	api("GET /api/v1/gb28181/devices", s.gb28181Devices)
	api("GET /api/v1/gb28181/unplaced", s.gb28181Unplaced)
	api("GET /ws", s.ws)
	s.layoutRoutes(api)

	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { s.assets.serve(w, r, name) }
	}
	mux.HandleFunc("GET /{$}", page("wall.html"))
	mux.HandleFunc("GET /township/{id}", page("township.html"))
	mux.HandleFunc("GET /uptime", page("uptime.html"))
	mux.HandleFunc("GET /county", page("county.html"))
	mux.HandleFunc("GET /stats", page("stats.html"))
	mux.HandleFunc("GET /department", page("department.html"))
	mux.HandleFunc("GET /login", page("login.html"))
	mux.HandleFunc("GET /admin", page("admin.html"))
	mux.HandleFunc("GET /favicon.ico", serveFavicon)
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		s.assets.serve(w, r, strings.TrimPrefix(r.URL.Path, "/static/"))
	})
	return securityHeaders(mux)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; style-src 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// authed checks the bearer token (header, or ?token= for websockets and
// pages' downloads), or else the session cookie of a login (api_login.go).
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, p auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := ""
		if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			tok = strings.TrimSpace(a[7:])
		} else {
			tok = r.URL.Query().Get("token")
			// A key made in the admin pages goes in the header only, where
			// no browser history or proxy log keeps it; a websocket, which
			// a browser opens without headers, is the exception.
			if strings.HasPrefix(tok, accounts.KeyPrefix) && !websocket.IsWebSocketUpgrade(r) {
				s.authFail.refused(r, "query")
				writeError(w, http.StatusUnauthorized, "API 密钥只能放在 Authorization 请求头中 / an API key goes in the Authorization header, not the address")
				return
			}
		}
		if tok == "" {
			if _, err := r.Cookie(SessionCookie); err == nil && s.o.Login != nil {
				r, p, ok := s.cookieAuth(w, r)
				if ok {
					s.refused.guard(w, r, p, h)
				}
				return
			}
		}
		p, ok := s.o.Auth(tok)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="snowhub"`)
			msg, why := "missing bearer token", "missing"
			if tok != "" {
				msg, why = "unknown token", "unknown"
			}
			s.authFail.refused(r, why)
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok))
		s.refused.guard(w, r, p, h)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeErr(w http.ResponseWriter, err error) {
	writeError(w, HTTPStatus(err), err.Error())
}

func unavailable(w http.ResponseWriter, what string) {
	writeError(w, http.StatusServiceUnavailable, what+" not available")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	out := map[string]string{}
	status := http.StatusOK
	if s.o.Ready != nil {
		for k, err := range s.o.Ready() {
			if err == nil {
				out[k] = "ok"
				continue
			}
			// Needs no token: whatever a component says, no secret of the
			// configuration leaves (configuration problems are named by key
			// only, see configs.WhereOnly).
			out[k] = s.redact.of(s.o.Config()).String(err.Error())
			// A refused reload leaves the hub serving its old
			// configuration, and quarantined spool data was moved aside
			// with everything else served: reported, but still ready. So is
			// a failing notify channel: its notices stay queued. A
			// township's camera check lag is told, not failed on
			// (camera_checks fails when the hub itself is behind).
			if k != "config" && k != "quarantine" && k != "notify" && !strings.HasPrefix(k, "camera_lag.") {
				status = http.StatusServiceUnavailable
			}
		}
	}
	writeJSON(w, status, out)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Incidents == nil {
		unavailable(w, "audit")
		return
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
		since = since.UTC()
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	out, err := s.o.Incidents.Audit(p, since, limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		// The auditor's export: oldest first, as the chain runs.
		slices.Reverse(out)
		name := "审计记录-" + time.Now().In(localZone(s.o.Config())).Format("2006-01-02") + ".csv"
		attachCSV(w, name, "audit-"+time.Now().UTC().Format("2006-01-02")+".csv")
		_ = event.WriteAuditCSV(w, out)
		return
	}
	writeJSON(w, 200, out)
}
