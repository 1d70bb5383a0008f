package app

import (
	"context"
	"errors"
	"math"
	"time"

	"snowhub/camera"
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
		cs := s.h.gbPlaced(t.cameraStatus(c))
		cs.DownSince = s.h.down.of(c.ID, c.State, c.Since)
		out = append(out, cs)
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
	for _, c := range s.h.uptimeCameras(t) {
		tw := t.villageTownship[c.Village]
		if township != "" && tw != township {
			continue
		}
		if auth.Allow(p, auth.View, auth.Scope{Township: tw, Village: c.Village}) != nil {
			continue // a village user: its own village's cameras
		}
		q.Cameras = append(q.Cameras, timeseries.CameraInfo{ID: c.ID, Name: c.Name, Township: tw, Village: c.Village, TownshipName: t.townshipName[tw]})
	}
	rep, err := s.h.ts.Uptime(ctx, q)
	if err != nil || s.h.cams == nil {
		return rep, err
	}
	s.liveFigures(rep)
	lag := s.h.cams.CheckLag()
	for i := range rep.Townships {
		if d, ok := lag[rep.Townships[i].ID]; ok {
			v := math.Round(d.Seconds()*10) / 10
			rep.Townships[i].CheckLagS = &v
		}
	}
	return rep, nil
}

// liveFigures adds to a report what the live states say: each offline
// camera's down_since, and per township the cameras giving good video now
// (完好率).
func (s uptimeSource) liveFigures(rep *event.UptimeReport) {
	live := map[string]event.CameraStatus{}
	for _, c := range cameraSource(s).Cameras() {
		live[c.ID] = c
	}
	intact := map[string]int{}
	for i := range rep.Cameras {
		c := live[rep.Cameras[i].ID]
		rep.Cameras[i].DownSince = c.DownSince
		if c.State == event.StateOnline {
			intact[rep.Cameras[i].Township]++
		}
	}
	for i := range rep.Townships {
		t := &rep.Townships[i]
		t.Intact = intact[t.ID]
		if t.Cameras > 0 {
			t.IntactRate = float64(t.Intact) / float64(t.Cameras)
		}
	}
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
	if r := s.h.pref.relay; r != nil && !s.Local(id) && r.Has(id) {
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
