package dashboard

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Cameras, sensors, uptime and maintenance windows, each as the caller may
// see them.

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
	from, to, err := parseTimes(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	if to.IsZero() {
		to = s.o.Now().UTC()
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	rep, err := s.o.Uptime.Uptime(r.Context(), p, from, to, q.Get("township"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if q.Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
		cfg := s.o.Config()
		zone := localZone(cfg)
		attachCSV(w, "在线率-"+periodName(from, to, zone)+".csv", "uptime-"+from.In(zone).Format("20060102")+"-"+to.Add(-time.Nanosecond).In(zone).Format("20060102")+".csv")
		_ = rep.WriteCSV(w, uptimePlaces(cfg, zone))
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

// uptimePlaces names the townships and villages of an uptime CSV and marks
// the key crossings' cameras, as the uptime page's own CSV does.
func uptimePlaces(cfg *configs.Config, zone *time.Location) event.UptimePlaces {
	pl := event.UptimePlaces{Township: map[string]string{}, Village: map[string]string{}, Key: map[string]bool{}, Zone: zone}
	for _, t := range cfg.Townships {
		pl.Township[t.ID] = t.Name
		for _, v := range t.Villages {
			pl.Village[v.ID] = v.Name
		}
	}
	for _, c := range cfg.Cameras {
		if c.Key {
			pl.Key[c.ID] = true
		}
	}
	return pl
}
