package prefecture

import (
	"maps"
	"slices"
	"sort"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

func (v *View) statusOf(r *remote) event.HubStatus {
	s := r.status
	s.Townships = slices.Clone(s.Townships)
	s.Cameras, s.Sensors = len(r.cameras), len(r.sensors)
	s.Incidents = 0
	for _, x := range r.incidents {
		if x.inc.State != "reviewed" {
			s.Incidents++
		}
	}
	return s
}

// Hubs lists the viewed hubs by id.
func (v *View) Hubs() []event.HubStatus {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]event.HubStatus, 0, len(v.hubs))
	for _, r := range v.hubs {
		out = append(out, v.statusOf(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Cameras lists the viewed hubs' cameras as their owners last said.
func (v *View) Cameras() []event.CameraStatus {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []event.CameraStatus
	for _, r := range v.hubs {
		for _, c := range r.cameras {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CameraOwner is the viewed hub that owns camera id by the shared
// configuration (its village's township, the list's owner of that), the
// list's address for its live video ("" if none), and whether it is
// reachable. The old form has no list: the owner is the viewed hub that
// says it owns the township (the first by id), else the first by id whose
// feed has the camera, and the address is its status's.
func (v *View) CameraOwner(id string) (hub, url string, reachable bool, ok bool) {
	t := v.checks()
	v.mu.Lock()
	defer v.mu.Unlock()
	ids := slices.Sorted(maps.Keys(v.hubs))
	if t != nil {
		d, known := t.topo.Devices[id]
		if !known || !d.Camera {
			return "", "", false, false
		}
		if t.cfg.Listed() {
			hub = t.cfg.TownshipHub(d.Township)
			if hub == "" || !t.cfg.HubViews(v.o.Self, hub) {
				return "", "", false, false
			}
			e, _ := t.cfg.HubEntryOf(hub)
			r := v.hubs[hub]
			return hub, e.URL, r != nil && r.status.State != event.HubUnreachable, true
		}
		for _, hid := range ids {
			if r := v.hubs[hid]; slices.Contains(r.status.Townships, d.Township) {
				return hid, r.url, r.status.State != event.HubUnreachable, true
			}
		}
	}
	for _, hid := range ids {
		r := v.hubs[hid]
		if _, found := r.cameras[id]; found {
			return hid, r.url, r.status.State != event.HubUnreachable, true
		}
	}
	return "", "", false, false
}

// Sensors lists the viewed hubs' sensors.
func (v *View) Sensors() []event.SensorStatus {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []event.SensorStatus
	for _, r := range v.hubs {
		for _, s := range r.sensors {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Incidents lists the viewed hubs' incidents p may see that match f
// (paging is the caller's, over the merged list).
func (v *View) Incidents(p auth.Principal, f event.IncidentFilter) []event.Incident {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []event.Incident
	for _, r := range v.hubs {
		for _, x := range r.incidents {
			if auth.Allow(p, auth.View, Scope(x.inc)) == nil && f.Match(&x.inc) {
				out = append(out, x.inc)
			}
		}
	}
	return out
}

// Get returns one viewed incident p may see; ok is false when no viewed
// hub has it.
func (v *View) Get(p auth.Principal, id string) (inc event.Incident, ok bool, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, r := range v.hubs {
		if x, found := r.incidents[id]; found {
			if err := auth.Allow(p, auth.View, Scope(x.inc)); err != nil {
				return event.Incident{}, true, event.NotFound("incident " + id)
			}
			return x.inc, true, nil
		}
	}
	return event.Incident{}, false, nil
}

// Owner is the viewed hub that holds incident id.
func (v *View) Owner(id string) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for hid, r := range v.hubs {
		if _, ok := r.incidents[id]; ok {
			return hid, true
		}
	}
	return "", false
}

// OwnerOfTownship is the viewed hub that owns township: by the list, or
// in the old form by its status (the first by id claiming it).
func (v *View) OwnerOfTownship(township string) (string, bool) {
	if t := v.checks(); t != nil && t.cfg.Listed() {
		hub := t.cfg.TownshipHub(township)
		return hub, hub != "" && t.cfg.HubViews(v.o.Self, hub)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(v.hubs)) {
		if slices.Contains(v.hubs[id].status.Townships, township) {
			return id, true
		}
	}
	return "", false
}
