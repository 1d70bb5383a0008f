package app

import (
	"context"
	"errors"
	"sort"
	"time"

	"snowhub/camera"
	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/timeseries"
)

// The adapters below let the dashboard see the other components through its
// own small interfaces, so that package depends on none of them.

type cameraSource struct{ h *Hub }

func (s cameraSource) Cameras() []event.CameraStatus {
	return append(s.local(), s.h.viewCameras()...)
}

// local are this hub's own cameras.
func (s cameraSource) local() []event.CameraStatus {
	if s.h.cams == nil {
		return nil
	}
	t := s.h.topo()
	st := s.h.cams.Statuses()
	out := make([]event.CameraStatus, 0, len(st))
	for _, c := range st {
		out = append(out, t.cameraStatus(c))
	}
	return out
}

type sensorSource struct{ h *Hub }

func (s sensorSource) Sensors() []event.SensorStatus {
	if s.h.ingest == nil {
		return s.h.viewSensors()
	}
	return append(s.h.ingest.Sensors(), s.h.viewSensors()...)
}

func (s sensorSource) Unknown() any {
	if s.h.ingest == nil {
		return []any{}
	}
	return s.h.ingest.Unknown()
}

type incidentService struct{ h *Hub }

func (s incidentService) List(p auth.Principal, f event.IncidentFilter) []event.Incident {
	return s.h.listIncidents(p, f)
}

func (s incidentService) Get(p auth.Principal, id string) (event.Incident, error) {
	inc, err := s.h.getIncident(p, id)
	if err != nil {
		return inc, err
	}
	return s.h.withNotices(inc), nil
}

func (s incidentService) Act(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error) {
	return s.h.actIncident(ctx, p, id, action, req)
}

func (s incidentService) Audit(p auth.Principal, since time.Time, limit int) ([]event.AuditEntry, error) {
	return s.h.alerts.Audit(p, since, limit)
}

func (s incidentService) Create(ctx context.Context, p auth.Principal, req event.CreateRequest) (event.Incident, error) {
	return s.h.createIncident(ctx, p, req)
}

func (s incidentService) Query(p auth.Principal, f event.IncidentFilter) ([]event.Incident, int, error) {
	return s.h.queryIncidents(p, f)
}

func (s incidentService) Stats(p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, error) {
	return s.h.alerts.Stats(p, from, to, group)
}

func (s incidentService) Backlog(p auth.Principal, from, to time.Time, group string) (event.Backlog, error) {
	return s.h.alerts.Backlog(p, from, to, group)
}

func (s incidentService) ReadOutbox(p auth.Principal, after uint64, limit int) ([]event.OutboxEntry, error) {
	return s.h.alerts.ReadOutbox(p, after, limit)
}

// maintenanceService keeps the incident engine (which owns the windows,
// durably) and the camera health model (which shows the state) in step.
type maintenanceService struct{ h *Hub }

func (s maintenanceService) Set(ctx context.Context, p auth.Principal, m event.Maintenance) (event.Maintenance, error) {
	m, err := s.h.alerts.SetMaintenance(ctx, p, m)
	if err != nil {
		return m, err
	}
	s.h.applyMaintenance()
	return m, nil
}

func (s maintenanceService) End(ctx context.Context, p auth.Principal, id string) error {
	if err := s.h.alerts.EndMaintenance(ctx, p, id); err != nil {
		return err
	}
	s.h.applyMaintenance()
	return nil
}

func (s maintenanceService) List(p auth.Principal, now time.Time) []event.Maintenance {
	return s.h.alerts.MaintenanceFor(p, now)
}

// applyMaintenance makes the cameras' states match the maintenance windows
// in force: a camera under a window shows "maintenance" until its end.
func (h *Hub) applyMaintenance() {
	if h.cams == nil || h.alerts == nil {
		return
	}
	cfg := h.cfg.Load()
	now := time.Now()
	until := map[string]event.Maintenance{}
	for _, m := range h.alerts.Maintenance(now) {
		if m.From.After(now) {
			continue
		}
		var ids []string
		if m.Device != "" {
			ids = []string{m.Device}
		} else {
			for _, c := range cfg.Cameras {
				if c.Village == m.Village {
					ids = append(ids, c.ID)
				}
			}
		}
		for _, id := range ids {
			if cur, ok := until[id]; !ok || m.Until.After(cur.Until) {
				until[id] = m
			}
		}
	}
	for _, c := range cfg.Cameras {
		if m, ok := until[c.ID]; ok {
			_ = h.cams.SetMaintenance(c.ID, m.Until, m.Note)
		} else if st, ok := h.cams.Status(c.ID); ok && st.State == event.StateMaintenance {
			_ = h.cams.ClearMaintenance(c.ID)
		}
	}
}

type uptimeSource struct{ h *Hub }

func (s uptimeSource) Uptime(ctx context.Context, p auth.Principal, from, to time.Time, township string) (*event.UptimeReport, error) {
	if township != "" {
		// The one decision: the figures of a township are for those who
		// may see its devices.
		if err := auth.Allow(p, auth.View, auth.Scope{Township: township}); err != nil || p.Role == auth.RoleVillage {
			if p.Role != auth.RoleVillage || township != p.Township {
				return nil, event.Forbidden("只能查看本辖区的在线率 / uptime of your own township only")
			}
		}
	}
	switch p.Role {
	case auth.RoleTownship, auth.RoleVillage:
		township = p.Township
	case auth.RoleDepartment:
		return nil, event.Forbidden("部门无在线率 / departments see no uptime")
	}
	t := s.h.topo()
	q := timeseries.UptimeQuery{From: from, To: to, Township: township}
	for _, c := range s.h.uptimeCameras(t.cfg) {
		tw := t.villageTownship[c.Village]
		if township != "" && tw != township {
			continue
		}
		if auth.Allow(p, auth.View, auth.Scope{Township: tw, Village: c.Village}) != nil {
			continue // a village user: its own village's cameras
		}
		q.Cameras = append(q.Cameras, timeseries.CameraInfo{ID: c.ID, Name: c.Name, Township: tw, Village: c.Village, TownshipName: t.townshipName[tw]})
	}
	return s.h.ts.Uptime(ctx, q)
}

// videoSource opens this hub's cameras, and on a view the viewed hubs'
// cameras through the relay.
type videoSource struct{ h *Hub }

// Local reports whether camera id is this hub's own (another hub may
// watch only those).
func (s videoSource) Local(id string) bool {
	if s.h.cams == nil {
		return false
	}
	_, ok := s.h.cams.Status(id)
	return ok
}

func (s videoSource) WatchStream(ctx context.Context, id, stream string) (dashboard.VideoViewer, error) {
	if s.h.cams == nil {
		return nil, errors.New("cameras not started")
	}
	if r := s.h.fed.relay; r != nil && !s.Local(id) && r.Has(id) {
		v, err := r.Watch(ctx, id, stream)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	v, err := s.h.cams.WatchStream(ctx, id, stream)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (s videoSource) Watch(ctx context.Context, id string) (dashboard.VideoViewer, error) {
	return s.WatchStream(ctx, id, camera.StreamGrid)
}

// cameraSpecs are the cameras of cfg as the camera manager wants them.
func cameraSpecs(cfg *configs.Config) []camera.Spec {
	cfg = cfg.Owned() // in a prefecture, only this hub's townships' cameras
	out := make([]camera.Spec, 0, len(cfg.Cameras))
	for _, c := range cfg.Cameras {
		sub := c.SubstreamURL
		if sub == configs.SubstreamAuto {
			sub, _ = configs.DeriveSubstream(c.URL) // validated: derivable
		}
		out = append(out, camera.Spec{ID: c.ID, Name: c.Name, URL: c.URL, Transport: c.Transport, Watch: c.Watch, FPS: c.FPS, SubstreamURL: sub})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// topo indexes where each device stands, rebuilt with each configuration so
// lookups on hot paths are map reads.
type topo struct {
	cfg *configs.Config
	*configs.Topology
	villageTownship map[string]string
	townshipName    map[string]string
}

// newTopo is the configuration's one index of the county tree, with the
// short names the assembly used before it.
func newTopo(cfg *configs.Config) *topo {
	t := configs.NewTopology(cfg)
	return &topo{cfg: cfg, Topology: t, villageTownship: t.VillageTownship, townshipName: t.TownshipName}
}

// cameraStatus joins a camera's live status with where it stands.
func (t *topo) cameraStatus(s camera.Status) event.CameraStatus {
	v := t.Devices[s.ID].Village
	return event.CameraStatus{
		ID: s.ID, Name: s.Name, Township: t.villageTownship[v], Village: v, State: s.State, Cause: s.Cause,
		Since: s.Since, Watch: s.Watch, FPS: s.FPS, BitrateKbps: s.BitrateKbps,
		LastFrameAgeMs: s.LastFrameAge.Milliseconds(), KeyframeMs: s.KeyframeInterval.Milliseconds(),
		Codec: s.Codec, Width: s.Width, Height: s.Height, PacketsLost: s.PacketsLost, LossRatio: s.LossRatio,
		Errors: s.Errors, Reconnects: s.Reconnects, LastError: s.LastError, Uptime24h: s.Uptime24h,
		MaintenanceEnd: s.MaintenanceUntil, MaintenanceNote: s.MaintenanceNote,
	}
}
