package alerts

import (
	"context"
	"fmt"
	"sort"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// SetMaintenance records a maintenance window: its device's (or village's)
// incidents are suppressed and its time is left out of uptime.
func (e *Engine) SetMaintenance(ctx context.Context, p auth.Principal, m event.Maintenance) (event.Maintenance, error) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	m.By = p.Name
	if m.From.IsZero() {
		m.From = now
	}
	var err error
	township := ""
	switch {
	case m.Device != "" && m.Village != "":
		err = event.BadRequest("a window is for a device or a village, not both")
	case m.Device != "":
		d, ok := e.top.Devices[m.Device]
		if !ok {
			err = event.NotFound("device " + m.Device)
		}
		township = d.Township
	case m.Village != "":
		if _, ok := e.top.VillageName[m.Village]; !ok {
			err = event.NotFound("village " + m.Village)
		}
		township = e.top.VillageTownship[m.Village]
	default:
		err = event.BadRequest("name a device or a village")
	}
	if err == nil && !m.Until.After(m.From) {
		err = event.BadRequest("until must be after from")
	}
	if err == nil {
		err = auth.Allow(p, auth.Maintenance, auth.Scope{Township: township, Village: m.Village})
		if err != nil && p.Role == auth.RoleTownship {
			err = event.Forbidden("镇只能为本镇设置维护 / a township desk sets maintenance for its own villages only")
		}
	}
	if err == nil {
		err = e.maintenanceBounds(p, &m)
	}
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	_ = e.store.audit(event.AuditEntry{At: now, User: p.Name, Role: p.Role, Action: "maintenance", Target: m.Device + m.Village, Result: result})
	if err != nil {
		return event.Maintenance{}, err
	}
	e.seq++
	m.ID = fmt.Sprintf("MW-%04d", e.seq)
	if err := e.store.saveMaintenance(m, e.seq); err != nil {
		return event.Maintenance{}, err
	}
	e.maint[m.ID] = m
	return m, nil
}

// EndMaintenance ends a window now.
func (e *Engine) EndMaintenance(ctx context.Context, p auth.Principal, id string) error {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.maint[id]
	if !ok {
		return event.NotFound("maintenance window " + id)
	}
	tw := e.top.Devices[m.Device].Township
	if m.Village != "" {
		tw = e.top.VillageTownship[m.Village]
	}
	if err := auth.Allow(p, auth.Maintenance, auth.Scope{Township: tw, Village: m.Village}); err != nil {
		return event.Forbidden("镇只能结束本镇的维护 / a township desk ends maintenance of its own villages only")
	}
	if m.From.After(now) {
		m.From = now
	}
	m.Until = now
	_ = e.store.audit(event.AuditEntry{At: now, User: p.Name, Role: p.Role, Action: "maintenance_end", Target: id, Result: "ok"})
	if err := e.store.saveMaintenance(m, e.seq); err != nil {
		return err
	}
	e.maint[id] = m
	return nil
}

// Maintenance lists windows in force at now or later.
func (e *Engine) Maintenance(now time.Time) []event.Maintenance {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []event.Maintenance{}
	for _, m := range e.maint {
		if m.Until.After(now) {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}

// InMaintenance reports whether a device is under a window at a time.
func (e *Engine) InMaintenance(dev string, at time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.top.Devices[dev]
	return ok && e.inMaintenance(d, at)
}

func (e *Engine) inMaintenance(d configs.DeviceInfo, at time.Time) bool {
	for _, m := range e.maint {
		if (m.Device == d.ID || (m.Village != "" && m.Village == d.Village)) && !at.Before(m.From) && at.Before(m.Until) &&
			e.windowSilences(m, d.Kind) {
			return true
		}
	}
	return false
}
