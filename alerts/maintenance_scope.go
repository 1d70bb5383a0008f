package alerts

import (
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// maintenanceBounds applies maintenance.max and the alarm-sensor rule to a
// window p wants to set (docs/security.md, "Maintenance"): below the
// county a window is at most maintenance.max long (county: county_max); a
// township, technician or village cannot silence an alarm sensor (smoke,
// panic, gas), and its village windows leave them watched. Called with e.mu
// held.
func (e *Engine) maintenanceBounds(p auth.Principal, m *event.Maintenance) error {
	mc := e.top.Config.Maintenance
	limit := mc.Max.D
	if p.County() {
		limit = mc.CountyMax.D
	}
	if m.Until.Sub(m.From) > limit {
		return event.BadRequest("维护时长超过上限 " + spanText(limit) + " / a window is at most " + spanText(limit) + " (maintenance.max)")
	}
	if p.County() {
		return nil
	}
	if d, ok := e.top.Devices[m.Device]; ok && mc.IsAlarmKind(d.Kind) {
		return event.Forbidden("报警传感器（" + d.Kind + "）的维护须由县级设置 / only the county puts alarm sensors into maintenance")
	}
	if m.Village != "" {
		m.ExceptAlarms = true
	}
	return nil
}

func spanText(d time.Duration) string { return configs.Dur(d).String() }

// MaintenanceFor lists the windows in force at now or later that p may
// see: those of its township's (or village's) devices; the county and
// technicians see all.
func (e *Engine) MaintenanceFor(p auth.Principal, now time.Time) []event.Maintenance {
	all := e.Maintenance(now)
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []event.Maintenance{}
	for _, m := range all {
		s := auth.Scope{Village: m.Village}
		if m.Device != "" {
			d, ok := e.top.Devices[m.Device]
			if !ok && !p.County() && p.Role != auth.RoleTechnician {
				continue // a device no longer configured: no township's
			}
			s.Village = d.Village
		}
		s.Township = e.top.VillageTownship[s.Village]
		if auth.Allow(p, auth.View, s) == nil {
			out = append(out, m)
		}
	}
	return out
}

// windowSilences reports whether window m covers device d: a window that
// excepts alarms leaves alarm sensors watched.
func (e *Engine) windowSilences(m event.Maintenance, kind string) bool {
	return !(m.ExceptAlarms && e.top.Config.Maintenance.IsAlarmKind(kind))
}
