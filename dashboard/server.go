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
	"strconv"
	"strings"
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

// VideoStreams is a VideoSource that can open a camera's main stream
// ("main", for a focused or single tile) or its grid stream ("": the
// sub-stream when the camera has one).
type VideoStreams interface {
	WatchStream(ctx context.Context, cameraID, stream string) (VideoViewer, error)
}

// VideoSource opens live video.
type VideoSource interface {
	Watch(ctx context.Context, cameraID string) (VideoViewer, error)
}

// Options configure the server. A nil source answers 503 with a reason.
type Options struct {
	Listen      string
	Config      func() *configs.Config
	Auth        func(token string) (auth.Principal, bool)
	Cameras     CameraSource
	Sensors     SensorSource
	Incidents   IncidentService
	Maintenance MaintenanceService
	Uptime      UptimeSource
	Video       VideoSource
	Hubs        HubSource    // a view hub's other hubs (api_hubs.go); nil: none
	Notify      NotifySource // notification channels' health (api_notify.go); nil: none
	Ready       func() map[string]error
	Gatherer    prometheus.Gatherer
	Registry    prometheus.Registerer
	Logger      *slog.Logger
	Now         func() time.Time
	Limits      Limits // zero fields: DefaultLimits
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
	redact   redactor
	patterns []string // every route, for the security tests (routetable.go)
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
	s := &Server{o: o, log: o.Logger, hub: newHub(hist, queue), shutdown: make(chan struct{}), layouts: newLayoutStore(cfg.DataDir)}
	if o.Registry != nil {
		for _, c := range []prometheus.Collector{s.hub.mClients, s.hub.mEvents, s.hub.mDropped} {
			if err := o.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	s.up = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 16 << 10, CheckOrigin: s.checkOrigin}
	s.o.Limits = o.Limits.withDefaults()
	s.hub.limits = s.o.Limits
	s.refused = newRefusals(s.o.Limits.RefusalEvery, s.o.Limits.RefusalBurst)
	s.srv = s.o.Limits.httpServer(s.routes())
	return s, nil
}

// Handle is the event stream's sink for the walls: it never blocks.
func (s *Server) Handle(_ context.Context, ev event.Event) error {
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
	api("GET /api/v1/me", func(w http.ResponseWriter, r *http.Request, p auth.Principal) { writeJSON(w, 200, p) })
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
	api("GET /ws", s.ws)
	s.layoutRoutes(api)

	static, _ := fs.Sub(webFS, "web")
	files := http.FileServer(http.FS(static))
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := fs.ReadFile(static, name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(b)
		}
	}
	mux.HandleFunc("GET /{$}", page("wall.html"))
	mux.HandleFunc("GET /township/{id}", page("township.html"))
	mux.HandleFunc("GET /uptime", page("uptime.html"))
	mux.HandleFunc("GET /county", page("county.html"))
	mux.HandleFunc("GET /stats", page("stats.html"))
	mux.Handle("GET /static/", http.StripPrefix("/static/", files))
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
// pages' downloads).
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, p auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := ""
		if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			tok = strings.TrimSpace(a[7:])
		} else {
			tok = r.URL.Query().Get("token")
		}
		p, ok := s.o.Auth(tok)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="snowhub"`)
			msg := "missing bearer token"
			if tok != "" {
				msg = "unknown token"
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
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
	writeError(w, event.HTTPStatus(err), err.Error())
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
			// a failing notify channel: its notices stay queued.
			if k != "config" && k != "quarantine" && k != "notify" {
				status = http.StatusServiceUnavailable
			}
		}
	}
	writeJSON(w, status, out)
}

type topoVillage struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Cameras []string `json:"cameras"`
	Sensors []string `json:"sensors"`
	// KeyCameras are the village's key crossings (cameras[].key), which
	// the pages mark and list first.
	KeyCameras []string `json:"key_cameras"`
}

type topoTownship struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Villages []topoVillage `json:"villages"`
}

func (s *Server) topology(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cfg := s.o.Config()
	cams, sens, keys := map[string][]string{}, map[string][]string{}, map[string][]string{}
	for _, c := range cfg.Cameras {
		cams[c.Village] = append(cams[c.Village], c.ID)
		if c.Key {
			keys[c.Village] = append(keys[c.Village], c.ID)
		}
	}
	for _, x := range cfg.Sensors {
		sens[x.Village] = append(sens[x.Village], x.ID)
	}
	out := struct {
		County      configs.Area   `json:"county"`
		Townships   []topoTownship `json:"townships"`
		People      []topoPerson   `json:"people"`      // whom the caller's desks can assign (派人)
		Departments []topoDept     `json:"departments"` // whom they can summon (吹哨)
		NoteLimit   int            `json:"note_limit"`  // characters a note may have
	}{County: cfg.County, Townships: []topoTownship{}, People: s.people(cfg, p), Departments: []topoDept{}, NoteLimit: cfg.Alerts.NoteLimit}
	for _, d := range cfg.Departments {
		out.Departments = append(out.Departments, topoDept{ID: d.ID, Name: d.Name, Kinds: nonNil(d.Kinds)})
	}
	for _, t := range cfg.Townships {
		if !p.CanSee(t.ID) {
			continue
		}
		tt := topoTownship{ID: t.ID, Name: t.Name, Villages: []topoVillage{}}
		for _, v := range t.Villages {
			tt.Villages = append(tt.Villages, topoVillage{ID: v.ID, Name: v.Name, Cameras: nonNil(cams[v.ID]), Sensors: nonNil(sens[v.ID]), KeyCameras: nonNil(keys[v.ID])})
		}
		out.Townships = append(out.Townships, tt)
	}
	writeJSON(w, 200, out)
}

type topoPerson struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Township string `json:"township"`
	Village  string `json:"village,omitempty"`
	Grid     string `json:"grid,omitempty"`
	Phone    string `json:"phone,omitempty"`
}

type topoDept struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Kinds []string `json:"kinds"`
}

// people lists the roster of the townships p may see.
func (s *Server) people(cfg *configs.Config, p auth.Principal) []topoPerson {
	township := map[string]string{}
	for _, t := range cfg.Townships {
		for _, v := range t.Villages {
			township[v.ID] = t.ID
		}
	}
	out := []topoPerson{}
	for _, x := range cfg.People {
		t := x.Township
		if x.Village != "" {
			t = township[x.Village]
		}
		if !p.CanSee(t) {
			continue
		}
		out = append(out, topoPerson{ID: x.ID, Name: x.Name, Role: x.Role, Township: t, Village: x.Village, Grid: x.Grid, Phone: x.Phone})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// visible keeps the rows of townships p may see.
func visible[T any](p auth.Principal, rows []T, township func(T) string) []T {
	out := []T{}
	for _, r := range rows {
		if p.CanSee(township(r)) {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) visibleCameras(p auth.Principal) []event.CameraStatus {
	if s.o.Cameras == nil {
		return []event.CameraStatus{}
	}
	return visible(p, s.o.Cameras.Cameras(), func(c event.CameraStatus) string { return c.Township })
}

func (s *Server) visibleSensors(p auth.Principal) []event.SensorStatus {
	if s.o.Sensors == nil {
		return []event.SensorStatus{}
	}
	return visible(p, s.o.Sensors.Sensors(), func(x event.SensorStatus) string { return x.Township })
}

func (s *Server) cameras(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Cameras == nil {
		unavailable(w, "cameras")
		return
	}
	writeJSON(w, 200, s.visibleCameras(p))
}

func (s *Server) sensors(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Sensors == nil {
		unavailable(w, "sensors")
		return
	}
	if r.URL.Query().Get("unknown") != "" {
		// Unknown devices belong to no township yet: the county's and the
		// technicians' to sort out.
		if !p.County() && p.Role != auth.RoleTechnician {
			writeError(w, http.StatusForbidden, "未配置的设备仅限县级与技术员 / unknown devices are for technicians and the county")
			return
		}
		writeJSON(w, 200, s.o.Sensors.Unknown())
		return
	}
	writeJSON(w, 200, s.visibleSensors(p))
}

func (s *Server) uptime(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Uptime == nil {
		unavailable(w, "uptime")
		return
	}
	q := r.URL.Query()
	to := s.o.Now()
	from := to.Add(-24 * time.Hour)
	var err error
	if v := q.Get("from"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			writeError(w, 400, "from: not RFC3339")
			return
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			writeError(w, 400, "to: not RFC3339")
			return
		}
	}
	rep, err := s.o.Uptime.Uptime(r.Context(), p, from, to, q.Get("township"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if q.Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="uptime-%s.csv"`, to.Format("20060102")))
		// A byte-order mark, or Excel on Chinese Windows reads UTF-8 as GBK.
		io.WriteString(w, "\ufeff")
		rep.WriteCSV(w)
		return
	}
	writeJSON(w, 200, rep)
}

func (s *Server) maintenanceList(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Maintenance == nil {
		unavailable(w, "maintenance")
		return
	}
	writeJSON(w, 200, s.o.Maintenance.List(p, s.o.Now()))
}

func (s *Server) maintenanceSet(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Maintenance == nil {
		unavailable(w, "maintenance")
		return
	}
	var m event.Maintenance
	if !s.decodeBody(w, r, &m, false) {
		return
	}
	if !checkBodyIDs(w, map[string]string{"device": m.Device, "village": m.Village}) {
		return
	}
	if len(m.Note) > maxMaintenanceNote {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("备注超过 %d 字节 / note over %d bytes", maxMaintenanceNote, maxMaintenanceNote))
		return
	}
	out, err := s.o.Maintenance.Set(r.Context(), p, m)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, out)
}

func (s *Server) maintenanceEnd(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Maintenance == nil {
		unavailable(w, "maintenance")
		return
	}
	if err := s.o.Maintenance.End(r.Context(), p, r.PathValue("id")); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, map[string]string{"ended": r.PathValue("id")})
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Incidents == nil {
		unavailable(w, "audit")
		return
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	out, err := s.o.Incidents.Audit(p, since, limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, out)
}

// snapshot is what a client may see now.
func (s *Server) snapshot(p auth.Principal) func(seq uint64, reason string) []byte {
	return func(seq uint64, reason string) []byte {
		var incs []event.Incident
		if s.o.Incidents != nil {
			incs = s.o.Incidents.List(p, event.IncidentFilter{State: "open"})
		}
		if incs == nil {
			incs = []event.Incident{}
		}
		return encode(s.hub.epoch, seq, "snapshot", map[string]any{"cameras": s.visibleCameras(p), "sensors": s.visibleSensors(p),
			"incidents": incs, "resumed": false, "reason": reason, "hubs": s.visibleHubs(p)})
	}
}

func (s *Server) ws(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var since uint64
	resume := false
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, 400, "since: not a sequence number")
			return
		}
		since, resume = n, true
	}
	// ?epoch= is the epoch of the messages the client saw: another
	// process's gets a snapshot whatever its since.
	var epoch uint64
	if v := r.URL.Query().Get("epoch"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, 400, "epoch: not a number")
			return
		}
		epoch = n
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := s.hub.subscribe(p, since, epoch, resume, s.snapshot(p))
	s.hub.serve(conn, c, s.shutdown)
}

// live streams a camera's fragmented MP4: a JSON init message with the
// codec, the init segment, then media segments, all as binary messages.
func (s *Server) live(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id := r.PathValue("id")
	visible := false
	for _, c := range s.visibleCameras(p) {
		if c.ID == id {
			visible = true
		}
	}
	if !visible {
		writeError(w, http.StatusNotFound, "camera "+id+" not found")
		return
	}
	if s.o.Video == nil {
		unavailable(w, "live video")
		return
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() { // the reader: a closed tab ends the stream; it sends nothing else
		s.o.Limits.wsReader(conn, 1, 0)
		cancel()
	}()
	closeWith := func(code int, reason string) {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	}
	var v VideoViewer
	if vs, ok := s.o.Video.(VideoStreams); ok && r.URL.Query().Get("stream") == "main" {
		v, err = vs.WatchStream(ctx, id, "main")
	} else {
		v, err = s.o.Video.Watch(ctx, id)
	}
	if err != nil {
		closeWith(4004, err.Error())
		return
	}
	defer v.Close()
	initSeg, err := v.Init(ctx)
	if err != nil {
		closeWith(4004, err.Error())
		return
	}
	conn.SetWriteDeadline(time.Now().Add(writeWait))
	b, _ := json.Marshal(map[string]string{"type": "init", "codec": v.Codec()})
	if conn.WriteMessage(websocket.TextMessage, b) != nil || conn.WriteMessage(websocket.BinaryMessage, initSeg) != nil {
		return
	}
	for {
		seg, err := v.Next(ctx)
		if err != nil {
			closeWith(websocket.CloseGoingAway, "camera stream ended")
			return
		}
		conn.SetWriteDeadline(time.Now().Add(writeWait))
		if len(seg) >= 8 && string(seg[4:8]) == "ftyp" {
			// The camera's parameters changed (another resolution): a
			// new init segment, announced like the first, resets the player.
			b, _ := json.Marshal(map[string]string{"type": "init", "codec": v.Codec()})
			if conn.WriteMessage(websocket.TextMessage, b) != nil {
				return
			}
		}
		if err := conn.WriteMessage(websocket.BinaryMessage, seg); err != nil {
			return
		}
	}
}
