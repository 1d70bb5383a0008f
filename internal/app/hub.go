package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"snowhub/alerts"
	"snowhub/alerts/notify"
	"snowhub/camera"
	"snowhub/camera/gb28181"
	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/ingest"
	"snowhub/internal/accounts"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/login"
	"snowhub/internal/timeseries"
)

// Hub is one running snowhub: every component and the wiring between them.
type Hub struct {
	log *slog.Logger
	// logSecrets, when set, redacts the configuration's secrets from the
	// log; a reload adds the new configuration's.
	logSecrets *redactWriter
	reg        *prometheus.Registry
	cfg        atomic.Pointer[configs.Config]
	top        atomic.Pointer[topo]

	tokens atomic.Pointer[map[[32]byte]auth.Principal]
	// accounts are the users who log in with a password, by name
	// (tokens.go); login checks them and keeps their sessions.
	accounts atomic.Pointer[map[string]login.Account]
	login    *login.Service
	accts    *accounts.Store // the accounts the hub keeps (accounts.go)

	ts     *timeseries.Writer
	alerts *alerts.Engine
	dash   *dashboard.Server
	broker *ingest.Broker
	ingest *ingest.Ingest
	cams   *camera.Manager
	gb     *gb28181.Server // GB/T 28181 devices; nil without a gb28181 section
	gbCams gbCameras       // their placed channels, cameras among the others (gb28181.go)
	down   *downSince      // when each offline camera's outage began, across restarts

	camEvents chan event.Event // camera transitions and samples, published in order by one goroutine; never closed
	camStop   chan struct{}    // closed once the producers are cancelled: the publisher drains and ends
	ctx       context.Context
	cancel    context.CancelFunc
	// prodCtx is the camera producers' context: cancelled before the
	// publisher stops, so a late transition gives up instead of blocking.
	prodCtx         context.Context
	cancelProducers context.CancelFunc
	wg              sync.WaitGroup

	reloadMu  sync.Mutex
	reloadErr atomic.Pointer[string]
	closed    atomic.Bool // after Close: no Start, no Reload
	running   atomic.Bool // Start succeeded: Reload is accepted
	// started is the configuration file as the hub started on it, filed
	// as the last reload read it: a restart key that differs from started
	// waits for a restart; a live key that differs from filed was applied.
	started, filed *configs.Config

	cleanup   []func()        // LIFO: the reverse of start order
	closeErrs []error         // what the cleanups reported, for Close
	pref      prefectureParts // a prefecture's feed, view and action responder (prefecture.go)
	out       outboxConsumers // the outbox's relays (route.go)
	notify    *notify.Notifier
	metrics   hubMetrics
	// transitions is the closed loop's table the engine runs (nil: alerts.Transitions).
	transitions []alerts.Transition
}

type hubMetrics struct {
	reloads           *prometheus.CounterVec
	restartPending    prometheus.Gauge
	lastGood          prometheus.Gauge
	camSamplesDropped prometheus.Counter
	publishErrors     *prometheus.CounterVec
}

// New builds a hub for cfg; Start starts it.
func New(cfg *configs.Config, log *slog.Logger) (*Hub, error) { return newHub(cfg, log, nil) }

// newHub is New with another transition table (nil: alerts.Transitions).
func newHub(cfg *configs.Config, log *slog.Logger, table []alerts.Transition) (*Hub, error) {
	h := &Hub{log: log, reg: prometheus.NewRegistry(), camEvents: make(chan event.Event, 16384), transitions: table, down: newDownSince()}
	h.gbCams.wake = make(chan struct{}, 1)
	h.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h.metrics = hubMetrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_config_reloads_total",
			Help: "Configuration reloads by result (ok, invalid)."}, []string{"result"}),
		restartPending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "snowhub_config_restart_pending",
			Help: "Configuration keys changed in the file that take effect only after a restart (the running values are kept)."}),
		lastGood: prometheus.NewGauge(prometheus.GaugeOpts{Name: "snowhub_config_last_good",
			Help: "1 while the hub runs on the last good configuration of data_dir because its file did not load at start; 0 once a reload loads the file."}),
		camSamplesDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_camera_samples_dropped_total",
			Help: "Camera health samples dropped because the event queue was full (transitions are never dropped)."}),
		publishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_publish_errors_total",
			Help: "Events a sink could not accept, by sink."}, []string{"sink"}),
	}
	h.reg.MustRegister(h.metrics.reloads, h.metrics.restartPending, h.metrics.lastGood, h.metrics.camSamplesDropped, h.metrics.publishErrors)
	for _, r := range []string{"ok", "invalid"} {
		h.metrics.reloads.WithLabelValues(r) // exported at 0 from the start
	}
	for _, sink := range []string{"timeseries", "alerts"} {
		h.metrics.publishErrors.WithLabelValues(sink)
	}
	h.setConfig(cfg)
	asFiled := *cfg
	h.started, h.filed = &asFiled, &asFiled
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	if err := h.build(cfg); err != nil {
		_ = h.Close() // what was built: files, the broker's socket
		return nil, err
	}
	return h, nil
}

// build constructs every component in dependency order, starting none of
// them (no goroutine; files are opened and the embedded broker's socket is
// bound, so its address and the hub's credential are known to the clients
// built after it). Each component's Close goes on the cleanup stack as it
// is built, so Close stops them in reverse: sources first, along the data
// flow, whether or not Start ran.
func (h *Hub) build(cfg *configs.Config) (err error) {
	log := h.log
	h.buildView(cfg)
	if err := h.openAccounts(cfg); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if h.login, err = h.newLogin(); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	h.reg.MustRegister(h.login.Collectors()...)

	// 1. Pages and websocket hub (a sink of the event stream; never blocks).
	// Built first and closed last, so the final incident steps still reach
	// the walls before their close frame.
	h.dash, err = dashboard.New(dashboard.Options{
		Listen:         cfg.Listen,
		Config:         h.Config,
		Auth:           h.authenticate,
		Cameras:        cameraSource{h},
		Sensors:        sensorSource{h},
		Incidents:      incidentService{h},
		IncidentQuery:  incidentService{h},
		IncidentCreate: incidentService{h},
		Outbox:         incidentService{h},
		Stats:          incidentService{h},
		Backlog:        incidentService{h},
		Across:         incidentService{h},
		Maintenance:    maintenanceService{h},
		Uptime:         uptimeSource{h},
		Video:          videoSource{h},
		VideoStreams:   videoSource{h},
		LocalVideo:     videoSource{h},
		Hubs:           hubSource{h},
		Notify:         notifyStatus{h},
		GB28181:        gbSource{h},
		Ready:          h.readiness,
		AuthAudit:      incidentService{h},
		Login:          h.login,
		Accounts:       accountService{h},
		Keys:           accountService{h},
		Gatherer:       h.reg,
		Registry:       h.reg,
		Logger:         log.With("component", "dashboard"),
	})
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	h.deferClose("dashboard", h.dash.Close)

	// 2. Time series: the durable write spool.
	h.ts, err = timeseries.New(timeseries.Options{Config: cfg.Influx, Dir: filepath.Join(cfg.DataDir, "spool"), Hub: cfg.Hub.ID,
		Logger: log.With("component", "timeseries"), Registry: h.reg})
	if err != nil {
		return fmt.Errorf("time series: %w", err)
	}
	h.deferClose("time series", h.ts.Close)

	// 3. Incidents: rules, the store, deadlines.
	h.alerts, err = alerts.New(alerts.Options{Config: cfg.Owned(), DataDir: cfg.DataDir,
		Logger: log.With("component", "alerts"), Registry: h.reg, Transitions: h.transitions})
	if err != nil {
		return fmt.Errorf("incidents: %w", err)
	}
	h.deferClose("incidents", h.alerts.Close)
	h.out.emit = h.consumer("emit", h.emitStep)

	// 4. The embedded broker, when no external one is configured: bound
	// now, served at Start.
	if cfg.MQTT.Broker == "" {
		b, err := ingest.NewBroker(ingest.BrokerOptions{Listen: cfg.MQTT.EmbeddedListen,
			DataDir: filepath.Join(cfg.DataDir, "mqtt"), Config: cfg, Logger: log.With("component", "broker"),
			AuditLogin: h.alerts.AuditAuthRefused})
		if err != nil {
			return fmt.Errorf("embedded broker: %w", err)
		}
		h.deferClose("embedded broker", b.Close) // closes the session store even if Listen fails
		if err := b.Listen(); err != nil {
			return fmt.Errorf("embedded broker on %s: %w", cfg.MQTT.EmbeddedListen, err)
		}
		h.broker = b
		h.reg.MustRegister(b.Collectors()...)
		c := *cfg
		c.MQTT.Broker = h.broker.Addr()
		// The hub logs in to its own broker with a credential made for
		// this process: no device user can hold it.
		c.MQTT.Username, c.MQTT.Password = h.broker.HubCredential()
		cfg = &c
		h.setConfig(cfg)
	}

	// Notifications: a consumer of the incident outbox (notify.go).
	if err := h.buildNotify(cfg); err != nil {
		return err
	}

	// 5. Sources, last. Camera events go through one ordered publisher,
	// started by Start; it stops after the sources (cleanups run in
	// reverse), before notify.
	h.defer_(h.stopCameraPublisher)

	io := ingest.Options{Config: cfg.Owned(), Sink: event.SinkFunc(h.publishDevice),
		Logger: log.With("component", "mqtt"), Registry: h.reg, Hub: h.ingestHooks(cfg)}
	if h.broker != nil {
		io.TLS = h.broker.ClientTLS()
	}
	h.ingest, err = ingest.New(io)
	if err != nil {
		return fmt.Errorf("mqtt ingest: %w", err)
	}
	h.deferClose("mqtt ingest", h.ingest.Close)
	// The feed and the responder stop before the session closes (they
	// publish on it).
	if f := h.pref.feed; f != nil {
		h.defer_(f.Close)
		h.out.feed = h.consumer("feed", f.Deliver)
	}
	if a := h.pref.actions; a != nil {
		h.defer_(a.Close)
	}

	cd := cfg.Camera
	h.cams = camera.NewManager(camera.Options{
		Logger: log.With("component", "camera"), MaxConnecting: maxConnecting(cfg), MaxChecks: cd.MaxChecks,
		BackoffMin: cd.BackoffMin, BackoffMax: cd.BackoffMax, StallAfter: cd.StallAfter,
		OfflineAfter: cd.OfflineAfter, Settle: cd.Settle, ProbeInterval: cd.ProbeInterval,
		ProbeTimeout: cd.ProbeTimeout, ViewerLinger: cd.ViewerLinger, SampleEvery: cd.SampleEvery,
		MediaCheckInterval: cd.MediaCheckInterval, Grace: cd.Grace,
		OnTransition: h.onCameraTransition, OnSample: h.onCameraSample,
	})
	h.reg.MustRegister(h.cams.Collectors()...)
	h.deferClose("cameras", h.cams.Close)
	h.buildRelay(cfg) // the other hubs' cameras, for a view
	return h.buildGB28181(cfg)
}

// Addr is the address the pages and API listen on.
func (h *Hub) Addr() string { return h.dash.Addr() }

// Config is the configuration in force.
func (h *Hub) Config() *configs.Config { return h.cfg.Load() }

// Start starts the components New built against the data flow: time
// series, incidents, pages, broker, notify, then the sources (MQTT ingest
// and cameras). A component that fails to start rolls back the hub: every
// component is closed, started or not.
func (h *Hub) Start(ctx context.Context) (err error) {
	if h.closed.Load() || h.ctx != nil {
		return errors.New("hub: Start after Start or Close")
	}
	cfg := h.cfg.Load()
	h.ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	h.prodCtx, h.cancelProducers = context.WithCancel(h.ctx)
	defer func() {
		if err != nil {
			h.Close()
		}
	}()

	if err := h.ts.Start(h.ctx); err != nil {
		return fmt.Errorf("time series: %w", err)
	}
	h.alerts.Start(h.ctx)
	h.out.emit.Start(h.ctx)
	if err := h.dash.Start(h.ctx); err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	if h.broker != nil {
		if err := h.broker.Start(); err != nil {
			return fmt.Errorf("embedded broker on %s: %w", cfg.MQTT.EmbeddedListen, err)
		}
	}
	if err := h.notify.Start(h.ctx); err != nil {
		return fmt.Errorf("notify: %w", err)
	}

	// The channel is never closed: a camera worker may still be sending
	// when the hub stops (a send on a closed channel panics). Stopping
	// cancels the producers' context first, so their sends give up, then
	// the publisher drains what is queued and ends.
	h.camStop = make(chan struct{})
	h.wg.Add(1)
	go h.publishCameraEvents()
	h.wg.Add(1)
	go h.recoverDownSince(h.prodCtx, time.Now())

	if err := h.ingest.Start(h.ctx); err != nil {
		return fmt.Errorf("mqtt ingest: %w", err)
	}
	if f := h.pref.feed; f != nil {
		f.Start(h.ctx) // once the session exists
		h.out.feed.Start(h.ctx)
	}
	if err := h.cams.Start(h.ctx); err != nil {
		return fmt.Errorf("cameras: %w", err)
	}
	if r := h.pref.relay; r != nil {
		if err := r.Start(h.ctx); err != nil {
			return fmt.Errorf("video relay: %w", err)
		}
	}
	if h.gb != nil {
		if err := h.gb.Start(h.ctx); err != nil {
			return err // names gb28181 and the address
		}
	}
	h.applyMaintenance()
	h.updateCameras(cfg)
	if h.gb != nil {
		h.wg.Add(1)
		go h.syncGBCameras(h.prodCtx)
	}
	h.running.Store(true)
	return nil
}

// stopCameraPublisher cancels the camera producers, then lets the
// publisher drain what they queued and end. Nothing to do before Start.
func (h *Hub) stopCameraPublisher() {
	if h.camStop == nil {
		return
	}
	h.cancelProducers()
	close(h.camStop)
	h.wg.Wait()
}

// Close stops the hub along the data flow: sources first, then incidents
// drain, the time series flushes, and the pages close their websockets.
// It returns once every component's goroutines have ended, with the errors
// of those that failed to close, each named.
func (h *Hub) Close() error {
	h.reloadMu.Lock() // a reload in progress finishes first; none starts after
	defer h.reloadMu.Unlock()
	if h.closed.Swap(true) {
		return nil
	}
	h.closeErrs = nil
	for i := len(h.cleanup) - 1; i >= 0; i-- {
		h.cleanup[i]()
	}
	h.cleanup = nil
	if h.cancel != nil {
		h.cancel()
	}
	return errors.Join(h.closeErrs...)
}

func (h *Hub) defer_(f func()) { h.cleanup = append(h.cleanup, f) }

// deferClose adds a named component's Close to the cleanup stack: its
// error is logged and returned by Hub.Close.
func (h *Hub) deferClose(name string, c func() error) {
	h.defer_(func() {
		if err := c(); err != nil {
			h.log.Warn(name+" close", "err", err)
			h.closeErrs = append(h.closeErrs, fmt.Errorf("%s: %w", name, err))
		}
	})
}

// readiness answers /readyz: the broker, the time series, and whether the
// last configuration reload was refused.
func (h *Hub) readiness() map[string]error {
	r := map[string]error{}
	if h.ingest != nil {
		r["mqtt"] = h.ingest.Ready()
	} else {
		r["mqtt"] = errors.New("not started")
	}
	if h.broker != nil {
		r["broker"] = h.broker.Ready()
	}
	if h.ts != nil {
		r["influx"] = h.ts.Ready()
		// The disk under data_dir refusing writes (full, read-only): MQTT
		// messages wait unacknowledged at the broker until it takes them.
		r["spool"] = h.ts.SpoolReady()
		if q := h.ts.Quarantined(); len(q) > 0 {
			// Reported, not failing: the damaged bytes were moved aside and
			// everything else is served.
			r["quarantine"] = fmt.Errorf("已隔离损坏的缓存数据 (damaged spool data moved aside): %s", strings.Join(q, ", "))
		}
	} else {
		r["influx"] = errors.New("not started")
	}
	if h.cams != nil {
		// Checks running late: the hub is overloaded, not the cameras down.
		r["camera_checks"] = h.cams.Ready()
		// Each township's check lag, reported (a slow county link is not
		// the hub's failure): camera_lag.<township> is ok while its
		// checks start within a second of their time.
		for tw, d := range h.cams.CheckLag() {
			if tw == "" {
				continue
			}
			var err error
			if d >= time.Second {
				err = fmt.Errorf("巡检落后 %s (checks behind by %s)", d.Round(time.Second), d.Round(time.Second))
			}
			r["camera_lag."+tw] = err
		}
	}
	if h.notify != nil {
		r["notify"] = h.notify.Ready() // reported; the hub stays ready (notify.go)
	}
	if p := h.reloadErr.Load(); p != nil {
		r["config"] = errors.New(*p)
	} else {
		r["config"] = nil
	}
	return r
}

// setConfig puts cfg in force for every reader: lookups, tokens, pages.
func (h *Hub) setConfig(cfg *configs.Config) {
	h.top.Store(newTopo(cfg))
	h.setTokens(cfg)
	h.cfg.Store(cfg)
}

// maxConnecting is camera.max_connecting, or when the file gives none one
// slot per 40 of the cameras this hub watches (configs.DefaultMaxConnecting).
func maxConnecting(cfg *configs.Config) int {
	if n := cfg.Camera.MaxConnecting; n > 0 {
		return n
	}
	return configs.DefaultMaxConnecting(len(cfg.Owned().Cameras))
}

// Routes lists the HTTP routes the hub serves, for the security tests.
func (h *Hub) Routes() []string { return h.dash.Routes() }
