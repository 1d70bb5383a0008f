package app

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/configs"
	"snowhub/ingest"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/prefecture"
)

// fedParts are a prefecture hub's parts (internal/prefecture): the feed it
// publishes as an owner, the view of other hubs, and the answering of
// actions views forward. All nil on a single county hub.
type fedParts struct {
	feed    *prefecture.Feed
	view    *prefecture.View
	actions *prefecture.Actions
	relay   *prefecture.Relay   // a view's pulls of the other hubs' live video
	foreign *prefecture.Foreign // other hubs' devices, on the hub that reports unknown ones
}

// buildRelay builds a view's relay of the viewed hubs' live video: it logs
// in at the owners as this hub's user of role "hub".
func (h *Hub) buildRelay(cfg *configs.Config) {
	var r *prefecture.Relay
	if h.fed.view != nil {
		r = prefecture.NewRelay(prefecture.RelayOptions{Owner: h.fed.view.CameraOwner,
			Token: func() string {
				u, _ := h.Config().HubUser()
				return u.Token
			},
			Linger: cfg.Camera.ViewerLinger, Logger: h.log.With("component", "video-relay")})
		h.fed.relay = r
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
	if !cfg.Federated() {
		return
	}
	client := h.ingestClient
	if len(cfg.Hub.View) > 0 {
		h.fed.view = prefecture.NewView(prefecture.ViewOptions{Self: cfg.Hub.ID, Prefix: cfg.MQTT.TopicPrefix, View: cfg.Hub.View,
			Client: client, Connected: h.ingestConnected, Logger: h.log.With("component", "view"),
			Emit: func(ev event.Event) { _ = h.dash.Handle(h.ctx, ev) },
			Keep: func() time.Duration { return keepInMemory(h.Config()) }})
	}
	if len(cfg.Hub.Townships) > 0 {
		h.fed.actions = prefecture.NewActions(prefecture.ActionsOptions{Self: cfg.Hub.ID, Prefix: cfg.MQTT.TopicPrefix,
			Config: h.Config, Logger: h.log.With("component", "hub-actions"),
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
		h.fed.feed = prefecture.NewFeed(prefecture.FeedOptions{Hub: cfg.Hub.ID, Prefix: cfg.MQTT.TopicPrefix, URL: cfg.Hub.URL,
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
		h.fed.foreign = prefecture.NewForeign(cfg)
	}
	f := h.fed
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

// feedDevice hands a device state change to the feed.
func (h *Hub) feedDevice(ev event.Event) {
	if h.fed.feed != nil && (ev.Type == event.CameraState || ev.Type == event.SensorState) {
		h.fed.feed.Device(ev)
	}
}

// The view's part of the pages' lists: the other hubs' devices and
// incidents beside this hub's own.

func (h *Hub) viewCameras() []event.CameraStatus {
	if h.fed.view == nil {
		return nil
	}
	return h.fed.view.Cameras()
}

func (h *Hub) viewSensors() []event.SensorStatus {
	if h.fed.view == nil {
		return nil
	}
	return h.fed.view.Sensors()
}

// listIncidents merges this hub's incidents with the viewed hubs'.
func (h *Hub) listIncidents(p auth.Principal, f event.IncidentFilter) []event.Incident {
	out, _, _ := h.queryIncidents(p, f)
	return out
}

// queryIncidents is the engine's Query over this hub's and the viewed
// hubs' incidents, sorted and paged as the engine does it.
func (h *Hub) queryIncidents(p auth.Principal, f event.IncidentFilter) ([]event.Incident, int, error) {
	if h.fed.view == nil {
		return h.alerts.Query(p, f)
	}
	all := f
	all.Offset, all.Limit = 0, 0
	out, _, err := h.alerts.Query(p, all)
	out = append(out, h.fed.view.Incidents(p, all)...)
	sort.Slice(out, func(i, j int) bool {
		if !out[i].OpenedAt.Equal(out[j].OpenedAt) {
			return out[i].OpenedAt.After(out[j].OpenedAt)
		}
		return out[i].ID > out[j].ID
	})
	total := len(out)
	if f.Offset > 0 {
		out = out[min(f.Offset, len(out)):]
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	if out == nil {
		out = []event.Incident{}
	}
	return out, total, err
}

func (h *Hub) getIncident(p auth.Principal, id string) (event.Incident, error) {
	if h.fed.view != nil {
		if inc, ok, err := h.fed.view.Get(p, id); ok {
			return inc, err
		}
	}
	return h.alerts.Get(p, id)
}

func (h *Hub) actIncident(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error) {
	if h.fed.view != nil {
		if _, ok := h.fed.view.Owner(id); ok {
			return h.fed.view.Act(ctx, p, id, action, req)
		}
	}
	return h.alerts.Act(ctx, p, id, action, req)
}

// hubSource lists the viewed hubs for GET /api/v1/hubs.
type hubSource struct{ h *Hub }

func (s hubSource) Hubs() []event.HubStatus {
	if s.h.fed.view == nil {
		return []event.HubStatus{}
	}
	return s.h.fed.view.Hubs()
}

// uptimeCameras are the cameras a hub reports uptime for (every hub writes
// its transitions to the shared InfluxDB): all of them on a county hub or a
// view of all hubs; its own townships' on an owner; on a view of some hubs,
// its own and those of the townships the viewed hubs say they own (as its
// wall shows them), not the unviewed hubs'.
func (h *Hub) uptimeCameras(cfg *configs.Config) []configs.Camera {
	switch {
	case !cfg.Federated() || slices.Contains(cfg.Hub.View, "all"):
		return cfg.Cameras
	case len(cfg.Hub.View) == 0 || h.fed.view == nil:
		return cfg.Owned().Cameras
	}
	tw := map[string]string{}
	for _, t := range cfg.Townships {
		for _, v := range t.Villages {
			tw[v.ID] = t.ID
		}
	}
	var out []configs.Camera
	for _, c := range cfg.Cameras {
		t := tw[c.Village]
		if cfg.OwnsTownship(t) {
			out = append(out, c)
		} else if hub, ok := h.fed.view.OwnerOfTownship(t); ok && cfg.Views(hub) {
			out = append(out, c)
		}
	}
	return out
}

// createIncident raises an incident by hand: here when this hub owns the
// village's township, else at the viewed hub that does.
func (h *Hub) createIncident(ctx context.Context, p auth.Principal, req event.CreateRequest) (event.Incident, error) {
	if v := h.fed.view; v != nil {
		cfg := h.cfg.Load()
		tw := h.topo().villageTownship[req.Village]
		if tw != "" && !cfg.OwnsTownship(tw) {
			if hub, ok := v.OwnerOfTownship(tw); ok {
				return v.Create(ctx, p, hub, req)
			}
			return event.Incident{}, event.Refuse(event.ErrNoService, "%s 的所属中心尚未上线 / no hub owning township %s has been seen yet", tw, tw)
		}
	}
	return h.alerts.Create(ctx, p, req)
}
