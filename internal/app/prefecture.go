package app

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/configs"
	"snowhub/ingest"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/prefecture"
)

// What only a hub of a prefecture does (several hubs over one broker): the
// owner's feed and action responder, the view of other hubs, its relay of
// their live video, and the figures across them.

// prefectureParts are a prefecture hub's parts (internal/prefecture): the
// feed it publishes as an owner, the view of other hubs, and the answering
// of actions views forward. All nil on a single county hub.
type prefectureParts struct {
	feed    *prefecture.Feed
	view    *prefecture.View
	actions *prefecture.Actions
	relay   *prefecture.VideoRelay // a view's pulls of the other hubs' live video
	foreign *prefecture.Foreign    // other hubs' devices, on the hub that reports unknown ones
}

// buildRelay builds a view's relay of the viewed hubs' live video: it logs
// in at the owners as this hub's user of role "hub".
func (h *Hub) buildRelay(cfg *configs.Config) {
	var r *prefecture.VideoRelay
	if h.pref.view != nil {
		r = prefecture.NewVideoRelay(prefecture.VideoRelayOptions{Owner: h.pref.view.CameraOwner,
			Token: func() string {
				u, _ := h.Config().HubUser()
				return u.Token
			},
			Linger: cfg.Camera.ViewerLinger, Logger: h.log.With("component", "video-relay")})
		h.pref.relay = r
		h.deferClose("video relay", r.Close)
	}
	// Exported on every hub (0 where nothing is relayed), so a dashboard
	// built for a prefecture works on any of its hubs.
	h.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "snowhub_relay_upstreams",
		Help: "Camera streams a view pulls from the other hubs now (one per camera and stream, however many watch)."},
		func() float64 {
			if r == nil {
				return 0
			}
			return float64(r.Upstreams())
		}))
}

// buildView builds the view and the action responder before the pages, so
// the pages never see them change.
func (h *Hub) buildView(cfg *configs.Config) {
	// The refusal counters exist on every hub (zero on a single county hub),
	// so a dashboard or an alert rule over them works before a hub joins a
	// prefecture and the documented metric is always exported.
	refused := h.prefectureTrust(cfg)
	if !cfg.Federated() {
		return
	}
	client := h.ingestClient
	if len(cfg.Hub.View) > 0 {
		h.pref.view = prefecture.NewView(prefecture.ViewOptions{Self: cfg.Hub.ID, Prefix: cfg.MQTT.TopicPrefix, View: cfg.Hub.View,
			Client: client, Connected: h.ingestConnected, Logger: h.log.With("component", "view"),
			Config: h.Config, Refused: refused,
			Emit: func(ev event.Event) { _ = h.dash.Publish(h.ctx, ev) },
			Keep: func() time.Duration { return keepInMemory(h.Config()) }})
	}
	if len(cfg.Hub.Townships) > 0 {
		h.pref.actions = prefecture.NewActions(prefecture.ActionsOptions{Self: cfg.Hub.ID, Prefix: cfg.MQTT.TopicPrefix,
			Config: h.Config, Logger: h.log.With("component", "hub-actions"), Refused: refused,
			Act: func(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error) {
				return h.alerts.Act(ctx, p, id, action, req)
			},
			Create: func(ctx context.Context, p auth.Principal, req event.CreateRequest) (event.Incident, error) {
				return h.alerts.Create(ctx, p, req)
			},
			Stats: func(p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, error) {
				return h.alerts.Stats(p, from, to, group)
			},
			Backlog: func(p auth.Principal, from, to time.Time, group string) (event.Backlog, error) {
				return h.alerts.Backlog(p, from, to, group)
			}})
	}
}

// ingestHooks builds the owner's feed (the incident engine is up) and what
// the broker session must do for the prefecture.
func (h *Hub) ingestHooks(cfg *configs.Config) ingest.HubHooks {
	if !cfg.Federated() {
		return ingest.HubHooks{}
	}
	if len(cfg.Hub.Townships) > 0 {
		h.pref.feed = prefecture.NewFeed(prefecture.FeedOptions{Hub: cfg.Hub.ID, Prefix: cfg.MQTT.TopicPrefix, URL: cfg.Hub.URL,
			Townships: cfg.Hub.Townships, Client: h.ingestClient, Connected: h.ingestConnected, Outbox: h.alerts.Outbox(),
			Open: func() []event.Incident {
				return h.alerts.List(auth.Principal{Name: "feed", Role: auth.RoleOperator}, event.IncidentFilter{State: "open"})
			},
			Devices: func() ([]event.CameraStatus, []event.SensorStatus) {
				var sensors []event.SensorStatus
				if h.ingest != nil {
					sensors = h.ingest.Sensors()
				}
				return cameraSource{h}.local(), sensors
			},
			Logger: h.log.With("component", "feed")})
	}
	if cfg.Hub.ReportUnknown {
		h.pref.foreign = prefecture.NewForeign(cfg)
	}
	f := h.pref
	return prefecture.IngestHooks(cfg, f.foreign, func(c ingest.Client) {
		if f.feed != nil {
			f.feed.OnConnect(c)
		}
		if f.view != nil {
			f.view.OnConnect(c)
		}
		if f.actions != nil {
			f.actions.OnConnect(c)
		}
	}, prefecture.Router(cfg.MQTT.TopicPrefix, h.ingestClient, f.view, f.actions))
}

func (h *Hub) ingestClient() ingest.Client {
	if h.ingest == nil {
		return nil
	}
	return h.ingest.Client()
}

func (h *Hub) ingestConnected() bool { return h.ingest != nil && h.ingest.Connected() }

// The view's part of the pages' lists: the other hubs' devices and
// incidents beside this hub's own.

func (h *Hub) viewCameras() []event.CameraStatus {
	if h.pref.view == nil {
		return nil
	}
	return h.pref.view.Cameras()
}

func (h *Hub) viewSensors() []event.SensorStatus {
	if h.pref.view == nil {
		return nil
	}
	return h.pref.view.Sensors()
}

// hubSource lists the viewed hubs for GET /api/v1/hubs.
type hubSource struct{ h *Hub }

func (s hubSource) Hubs() []event.HubStatus {
	if s.h.pref.view == nil {
		return []event.HubStatus{}
	}
	return s.h.pref.view.Hubs()
}

// uptimeCameras are the cameras a hub reports uptime for (every hub writes
// its transitions to the shared InfluxDB): all of them on a county hub or a
// view of all hubs; its own townships' on an owner; on a view of some hubs,
// its own and those of the townships the viewed hubs say they own (as its
// wall shows them), not the unviewed hubs'.
func (h *Hub) uptimeCameras(t *topo) []configs.Camera {
	cfg := t.cfg
	switch {
	case !cfg.Federated() || slices.Contains(cfg.Hub.View, "all"):
		return cfg.Cameras
	case len(cfg.Hub.View) == 0 || h.pref.view == nil:
		return cfg.Owned().Cameras
	}
	tw := t.VillageTownship
	var out []configs.Camera
	for _, c := range cfg.Cameras {
		township := tw[c.Village]
		if cfg.OwnsTownship(township) {
			out = append(out, c)
		} else if hub, ok := h.pref.view.OwnerOfTownship(township); ok && cfg.Views(hub) {
			out = append(out, c)
		}
	}
	return out
}

// The figures (GET /api/v1/stats and /stats/backlog) of a view hub cover
// every viewed hub, as if local: this hub's own engine's rows, and each
// owner's, asked over the broker (internal/prefecture/figures.go) and
// added up exactly (event.MergeStats, MergeBacklog). What an owner could
// not give is named in the answer, never left out silently. A hub that
// views nothing answers from its engine alone, as it always has.

// StatsAcross is the figures of p over this hub and the hubs it views.
func (s incidentService) StatsAcross(ctx context.Context, p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, []event.Unavailable, error) {
	own, err := s.h.alerts.Stats(p, from, to, group) // validates and authorises first: nobody is asked for a refused query
	v := s.h.pref.view
	if err != nil || v == nil {
		return own, nil, err
	}
	answers, missing := v.Figures(ctx, p, prefecture.Query{Kind: prefecture.QueryStats, From: from, To: to, Group: group}, s.h.remoteTownships(p))
	all := [][]event.StatsRow{own}
	for _, a := range answers {
		all = append(all, a.Rows)
	}
	return event.MergeStats(all...), missing, nil
}

// BacklogAcross is the backlog series of p over this hub and the hubs it
// views, at this hub's points (an owner at other points, with another
// calendar, is named as missing rather than added up wrongly).
func (s incidentService) BacklogAcross(ctx context.Context, p auth.Principal, from, to time.Time, group string) (event.Backlog, []event.Unavailable, error) {
	own, err := s.h.alerts.Backlog(p, from, to, group)
	v := s.h.pref.view
	if err != nil || v == nil {
		return own, nil, err
	}
	answers, missing := v.Figures(ctx, p, prefecture.Query{Kind: prefecture.QueryBacklog, From: from, To: to, Group: group}, s.h.remoteTownships(p))
	all := []event.Backlog{own}
	for _, a := range answers {
		if _, err := event.MergeBacklog(own, *a.Backlog); err != nil {
			missing = append(missing, event.Unavailable{Hub: a.Hub, Townships: a.Townships,
				Reason: "所属中心 " + a.Hub + " 的日期点与本中心不同（日历时区？），其数据未计入 / hub " + a.Hub + ": " + err.Error()})
			continue
		}
		all = append(all, *a.Backlog)
	}
	b, err := event.MergeBacklog(all...)
	return b, missing, err
}

// remoteTownships are the townships p's figures cover that this hub does
// not own: every other for the county, a township or village user's own.
func (h *Hub) remoteTownships(p auth.Principal) []string {
	cfg := h.cfg.Load()
	var out []string
	if p.County() {
		for _, t := range cfg.Townships {
			if !cfg.OwnsTownship(t.ID) {
				out = append(out, t.ID)
			}
		}
		return out
	}
	if p.Township != "" && !cfg.OwnsTownship(p.Township) {
		out = append(out, p.Township)
	}
	return out
}

// keepInMemory is alerts.keep_in_memory as a duration (working days
// counted as days, as the engine does): how long a view lists another
// hub's reviewed incident.
func keepInMemory(cfg *configs.Config) time.Duration {
	k := cfg.Alerts.KeepInMemory
	return k.D + time.Duration(k.WD)*24*time.Hour
}
