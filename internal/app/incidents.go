package app

import (
	"context"
	"errors"
	"sort"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// The incidents the pages and the API see: this hub's own (the engine's),
// and on a view of a prefecture the viewed hubs' beside them, queried,
// fetched, acted on and raised where each one lives.

// incidentService is the dashboard's Incidents: the engine, the view and
// notify's history of notices put together.
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

// Actions are this hub's one decision for its own incidents and for the
// viewed hubs' alike: a prefecture's hubs run the same table.
func (s incidentService) Actions(p auth.Principal, inc event.Incident) []string {
	return s.h.alerts.Actions(p, inc)
}

func (s incidentService) Audit(p auth.Principal, since time.Time, limit int) ([]event.AuditEntry, error) {
	return s.h.alerts.Audit(p, since, limit)
}

// AuditAuthRefused records a refused authentication (dashboard.AuthAuditor).
func (s incidentService) AuditAuthRefused(at time.Time, remote, why string) error {
	if s.h.alerts == nil {
		return errors.New("incident store not built")
	}
	return s.h.alerts.AuditAuthRefused(at, remote, why)
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

// listIncidents merges this hub's incidents with the viewed hubs'.
func (h *Hub) listIncidents(p auth.Principal, f event.IncidentFilter) []event.Incident {
	out, _, _ := h.queryIncidents(p, f)
	return out
}

// queryIncidents is the engine's Query over this hub's and the viewed
// hubs' incidents, sorted and paged as the engine does it.
func (h *Hub) queryIncidents(p auth.Principal, f event.IncidentFilter) ([]event.Incident, int, error) {
	if h.pref.view == nil {
		return h.alerts.Query(p, f)
	}
	all := f
	all.Offset, all.Limit = 0, 0
	out, _, err := h.alerts.Query(p, all)
	out = append(out, h.pref.view.Incidents(p, all)...)
	sort.Slice(out, func(i, j int) bool { return event.NewestFirst(&out[i], &out[j]) })
	out, total := event.Page(out, f)
	if out == nil {
		out = []event.Incident{}
	}
	return out, total, err
}

func (h *Hub) getIncident(p auth.Principal, id string) (event.Incident, error) {
	if h.pref.view != nil {
		if inc, ok, err := h.pref.view.Get(p, id); ok {
			return inc, err
		}
	}
	return h.alerts.Get(p, id)
}

func (h *Hub) actIncident(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error) {
	if h.pref.view != nil {
		if _, ok := h.pref.view.Owner(id); ok {
			return h.pref.view.Act(ctx, p, id, action, req)
		}
	}
	return h.alerts.Act(ctx, p, id, action, req)
}

// createIncident raises an incident by hand: here when this hub owns the
// village's township, else at the viewed hub that does.
func (h *Hub) createIncident(ctx context.Context, p auth.Principal, req event.CreateRequest) (event.Incident, error) {
	if v := h.pref.view; v != nil {
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
