package app

import (
	"context"
	"time"

	"snowhub/camera"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Maintenance windows: the engine owns them, the camera model shows them.

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
		} else if st, ok := h.cams.Status(c.ID); ok && st.State == camera.StateMaintenance {
			_ = h.cams.ClearMaintenance(c.ID)
		}
	}
}
