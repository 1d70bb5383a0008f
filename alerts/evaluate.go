package alerts

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"snowhub/configs"
	"snowhub/internal/event"
)

// pending is a condition that must hold for a while before it fires.
type pending struct {
	rule   *rule
	dev    configs.DeviceInfo
	since  time.Time
	due    time.Time
	value  float64
	active bool
}

// Evaluate evaluates one device event against the rules. It returns after
// any incident change is committed to the store; if the commit fails,
// nothing changed and the error says so (MQTT then does not acknowledge).
func (e *Engine) Evaluate(ctx context.Context, ev event.Event) error {
	e.m.events.Inc()
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.begin()
	switch d := ev.Data.(type) {
	case event.SensorReadingData:
		if dev, ok := e.top.Devices[d.Sensor]; ok {
			e.reading(t, dev, d.Value, ev.Time)
		}
	case event.SensorStatus:
		if dev, ok := e.top.Devices[d.ID]; ok {
			e.state(t, dev, d.State, ev.Time)
		}
	case event.CameraStatus:
		if dev, ok := e.top.Devices[d.ID]; ok && ev.Type == event.CameraState {
			e.state(t, dev, d.State, ev.Time)
		}
	case event.CameraAnalytics:
		if dev, ok := e.top.Devices[d.Camera]; ok {
			for _, r := range e.rules {
				if r.Type == "camera_event" && r.Event == d.Kind && r.applies("camera", dev.ID) && r.inWindow(ev.Time, e.cal.loc) {
					e.fire(t, r, dev, 1, ev.Time)
				}
			}
		}
	}
	return e.commit(t)
}

func fpKey(r *rule, dev string) string { return dev + "|" + r.Name }

// reading evaluates alarm, threshold and rate rules.
func (e *Engine) reading(t *tx, dev configs.DeviceInfo, v float64, at time.Time) {
	for _, r := range e.rules {
		if !r.applies(dev.Kind, dev.ID) {
			continue
		}
		key := fpKey(r, dev.ID)
		switch r.Type {
		case "alarm":
			if v >= 1 {
				e.fire(t, r, dev, v, at)
			} else {
				e.clearAlarm(t, r, dev, at)
			}
		case "threshold":
			if !r.violates(v) {
				delete(e.pendings, key)
				e.clearAlarm(t, r, dev, at)
				continue
			}
			if r.For <= 0 {
				e.fire(t, r, dev, v, at)
				continue
			}
			p := e.pendings[key]
			if p == nil {
				p = &pending{rule: r, dev: dev, since: at, due: at.Add(r.For), active: true}
				e.pendings[key] = p
				e.addTimer(p.due, timerPending, key)
			}
			p.value = v
			if p.active && !at.Before(p.due) {
				p.active = false
				e.fire(t, r, dev, v, at)
			}
		case "rate":
			if v < 1 {
				continue
			}
			ts := append(e.rates[key], at)
			cut := 0
			for cut < len(ts) && at.Sub(ts[cut]) > r.Within {
				cut++
			}
			ts = ts[cut:]
			e.rates[key] = ts
			if len(ts) >= r.Count {
				e.fire(t, r, dev, float64(len(ts)), at)
			}
		}
	}
}

// offlineLimit is how long a device must be offline before its offline rule
// fires (a key crossing's camera: one minute); 0 when no rule covers it.
func (e *Engine) offlineLimit(dev configs.DeviceInfo) time.Duration {
	for _, r := range e.rules {
		if r.Type == "offline" && r.applies(dev.Kind, dev.ID) {
			if dev.Camera && r.Name == "camera-offline" && dev.Key {
				return time.Minute
			}
			return r.For
		}
	}
	return 0
}

// state evaluates offline and degraded rules. A device that goes offline
// counts towards a village outage only once it has been offline as long
// as its offline rule asks (see group), so a blip does not group.
func (e *Engine) state(t *tx, dev configs.DeviceInfo, st string, at time.Time) {
	if st == event.StateOffline {
		if _, ok := e.offlineAt[dev.ID]; !ok {
			e.offlineAt[dev.ID] = at
		}
	} else if st != event.StateUnknown {
		delete(e.offlineAt, dev.ID)
		e.ungroup(t, dev, at)
		e.countyBack(t, dev, at)
	}
	for _, r := range e.rules {
		if (r.Type != "offline" && r.Type != "degraded") || !r.applies(dev.Kind, dev.ID) {
			continue
		}
		key := fpKey(r, dev.ID)
		want := map[string]string{"offline": event.StateOffline, "degraded": event.StateDegraded}[r.Type]
		if st != want {
			if p := e.pendings[key]; p != nil {
				p.active = false
				delete(e.pendings, key)
			}
			if st == event.StateOnline || (r.Type == "degraded" && st != event.StateDegraded) {
				e.clear(t, key, at)
			}
			continue
		}
		limit := r.For
		if r.Type == "offline" {
			limit = e.offlineLimit(dev)
		}
		if e.pendings[key] == nil {
			p := &pending{rule: r, dev: dev, since: at, due: at.Add(limit), active: true}
			e.pendings[key] = p
			e.addTimer(p.due, timerPending, key)
		}
	}
}

// group folds offline devices of one village into one "village outage"
// incident when enough of them have been offline past their offline rule's
// duration, having gone down within the group window of each other. It is
// asked when a device's offline rule comes due, and reports whether dev is
// now part of such an incident.
func (e *Engine) group(t *tx, dev configs.DeviceInfo, at time.Time) bool {
	fp := "village|" + dev.Village
	if r := t.peekFP(fp); r != nil {
		if !containsStr(r.Devices, dev.ID) {
			r = t.get(r.ID)
			r.Devices = append(r.Devices, dev.ID)
			if dev.Camera {
				r.Cameras = append(r.Cameras, dev.ID)
			}
			r.Count++
			r.LastSeen = at
			r.Cleared = false
			e.dropPending(dev.ID)
		}
		return true
	}
	cfg := e.cfg.Alerts
	since := e.offlineAt[dev.ID]
	var down []configs.DeviceInfo
	cams := 0
	for id, wentAt := range e.offlineAt {
		d := e.top.Devices[id]
		lim := e.offlineLimit(d)
		if d.Village != dev.Village || lim == 0 || e.inMaintenance(d, at) {
			continue
		}
		// Offline long enough, and gone down close to dev.
		if at.Sub(wentAt) < lim || wentAt.Sub(since).Abs() > cfg.GroupWindow {
			continue
		}
		down = append(down, d)
		if d.Camera {
			cams++
		}
	}
	half := cams >= 2 && cams*2 >= e.top.VillageCameras[dev.Village]
	if len(down) < cfg.GroupMin && !half {
		return false
	}
	sort.Slice(down, func(i, j int) bool { return down[i].ID < down[j].ID })
	r := &rule{Rule: configs.Rule{Name: "village-outage", Type: "village_outage", Severity: "major"}}
	rec := e.newRecord(t, r, configs.DeviceInfo{Village: dev.Village, Township: dev.Township}, at, 0)
	rec.Fingerprint = fp
	rec.Kind = "village_outage"
	rec.Title = fmt.Sprintf("%s %d 台设备离线", e.top.VillageName[dev.Village], len(down))
	for _, d := range down {
		rec.Devices = append(rec.Devices, d.ID)
		if d.Camera {
			rec.Cameras = append(rec.Cameras, d.ID)
		}
		e.dropPending(d.ID)
	}
	rec.Count = len(down)
	t.setFP(fp, rec)
	e.opened(t, rec, at, system, "")
	return true
}

// groupLater is when dev's village may have enough devices offline long
// enough to group, counting those that went down close to dev but have
// not been down as long as their rule asks yet; zero when it never will.
// dev's own incident waits until then, so the first camera of a village
// going dark does not get an incident of its own.
func (e *Engine) groupLater(dev configs.DeviceInfo, at time.Time) time.Time {
	cfg := e.cfg.Alerts
	since := e.offlineAt[dev.ID]
	var later time.Time
	n, cams := 0, 0
	for id, wentAt := range e.offlineAt {
		d := e.top.Devices[id]
		lim := e.offlineLimit(d)
		if d.Village != dev.Village || lim == 0 || e.inMaintenance(d, at) || wentAt.Sub(since).Abs() > cfg.GroupWindow {
			continue
		}
		n++
		if d.Camera {
			cams++
		}
		if due := wentAt.Add(lim); due.After(at) && due.After(later) {
			later = due
		}
	}
	half := cams >= 2 && cams*2 >= e.top.VillageCameras[dev.Village]
	if later.IsZero() || (n < cfg.GroupMin && !half) {
		return time.Time{}
	}
	return later
}

// ungroup marks a village outage cleared when every device in it is back.
func (e *Engine) ungroup(t *tx, dev configs.DeviceInfo, at time.Time) {
	cur := e.byFP["village|"+dev.Village]
	if cur == nil || !containsStr(cur.Devices, dev.ID) {
		return
	}
	for _, id := range cur.Devices {
		if _, down := e.offlineAt[id]; down {
			return
		}
	}
	e.markCleared(t, t.get(cur.ID), at)
}

func (e *Engine) dropPending(devID string) {
	for _, r := range e.rules {
		if r.Type == "offline" {
			if p := e.pendings[fpKey(r, devID)]; p != nil {
				p.active = false
				delete(e.pendings, fpKey(r, devID))
			}
		}
	}
}

// fire raises or updates the incident of (device, rule), or of the storm
// the device's alarm joins.
func (e *Engine) fire(t *tx, r *rule, dev configs.DeviceInfo, v float64, at time.Time) {
	if e.inMaintenance(dev, at) {
		return
	}
	fp := fpKey(r, dev.ID)
	sfp := e.stormKey(r, dev)
	for _, k := range []string{fp, sfp} {
		if rec := t.peekFP(k); k != "" && rec != nil && (rec.State == StateResolved || rec.State == StateEvaluated) {
			t.delFP(rec) // a person closed the matter: a new alarm is a new incident
		}
	}
	rec := t.peekFP(fp)
	if rec == nil && sfp != "" {
		// In an earlier storm that is still open: it counts there.
		if id, ok := e.stormOf[fp]; ok {
			if s := t.work[id]; s != nil {
				rec = s
			} else {
				rec = e.incidents[id]
			}
		}
	}
	if rec == nil && sfp != "" {
		if s := t.peekFP(sfp); s != nil {
			switch {
			case containsStr(s.Devices, dev.ID):
				rec = s
			case !at.After(s.OpenedAt.Add(e.cfg.Alerts.Storm.Window)):
				e.join(t, r, t.get(s.ID), dev, at)
				return
			}
		}
	}
	if rec != nil {
		rec = t.get(rec.ID)
		rec.Count++
		rec.LastSeen = at
		rec.Quiet = slices.DeleteFunc(rec.Quiet, func(d string) bool { return d == dev.ID })
		if rec.Cleared {
			rec.Cleared = false
			rec.Flaps = append(rec.Flaps, at)
			cut := 0
			for cut < len(rec.Flaps) && at.Sub(rec.Flaps[cut]) > e.cfg.Alerts.FlapWindow {
				cut++
			}
			rec.Flaps = rec.Flaps[cut:]
			if len(rec.Flaps) > e.cfg.Alerts.FlapCount && !rec.Flapping {
				rec.Flapping = true
				t.step(rec, event.Step{At: at, Action: "flapping", By: system,
					Note: fmt.Sprintf("报警反复 %d 次（%s 内） / alarm came back %d times within %s", len(rec.Flaps), e.cfg.Alerts.FlapWindow, len(rec.Flaps), e.cfg.Alerts.FlapWindow)})
			}
		}
		return
	}
	rec = e.newRecord(t, r, dev, at, v)
	rec.Fingerprint = fp
	if sfp != "" {
		// The first alarm of a possible storm: its own incident, which the
		// village's next alarms of the rule join until the window closes.
		rec.Fingerprint = sfp
		rec.Devices = []string{dev.ID}
		e.addTimer(at.Add(e.cfg.Alerts.Storm.Window), timerStorm, rec.ID)
	}
	t.setFP(rec.Fingerprint, rec)
	e.opened(t, rec, at, system, "")
}

// stormKey is the fingerprint of the storm an alarm of r from dev would
// join: one per village and rule. Empty for rules that are not alarms
// (offline and degraded devices group as a village outage), for kinds
// kept one incident per device (alerts.storm.per_device), and for devices
// without a village.
func (e *Engine) stormKey(r *rule, dev configs.DeviceInfo) string {
	if r.Type == "offline" || r.Type == "degraded" || dev.Village == "" {
		return ""
	}
	kind := dev.Kind
	if r.Type == "camera_event" {
		kind = r.Event
	}
	if slices.Contains(e.cfg.Alerts.Storm.PerDevice, kind) {
		return ""
	}
	return "storm|" + dev.Village + "|" + r.Name
}

// indexStorm keeps stormOf for a committed record: its devices point at it
// while it is open and not closed by a person. Called with e.mu held.
func (e *Engine) indexStorm(r *record) {
	if !strings.HasPrefix(r.Fingerprint, "storm|") {
		return
	}
	live := r.handling()
	for _, d := range r.Devices {
		k := d + "|" + r.Rule
		if live {
			e.stormOf[k] = r.ID
		} else if e.stormOf[k] == r.ID {
			delete(e.stormOf, k)
		}
	}
}

// join adds dev's alarm to the storm incident s: its device, its camera,
// the count and a title that says how many devices (N 台). It is an
// update, not a step: the desk is not rung again and the wall keeps one tile.
func (e *Engine) join(t *tx, r *rule, s *record, dev configs.DeviceInfo, at time.Time) {
	s.Devices = append(s.Devices, dev.ID)
	cam := dev.LooksAt
	if dev.Camera {
		cam = dev.ID
	}
	if cam != "" && !containsStr(s.Cameras, cam) {
		s.Cameras = append(s.Cameras, cam)
	}
	s.Count++
	s.LastSeen = at
	if s.Cleared {
		s.Cleared = false
		s.Flaps = append(s.Flaps, at)
	}
	s.Title = e.stormTitle(r, s)
}

// stormTitle is the rule's title with the number of devices in place of
// the device: "东街社区 200 台 烟雾报警".
func (e *Engine) stormTitle(r *rule, s *record) string {
	n := fmt.Sprintf("%d 台", len(s.Devices))
	return r.render(titleData{Device: n, DeviceName: n, Village: e.top.VillageName[s.Village],
		Township: e.top.TownshipName[s.Township], Kind: s.Kind, Rule: r.Name, Event: r.Event, Value: ""})
}

// stormClosed records, when a storm's window has closed with more than one
// device in it, one step saying how many devices alarmed: the one notice
// of the storm that gives its size ("N 台").
func (e *Engine) stormClosed(t *tx, r *record, at time.Time) {
	if !r.open() || len(r.Devices) < 2 || !strings.HasPrefix(r.Fingerprint, "storm|") {
		return
	}
	r = t.get(r.ID)
	w := e.cfg.Alerts.Storm.Window
	t.step(r, event.Step{At: at, Action: "storm", By: system, From: r.State, To: r.State, Owner: r.Owner,
		Note: fmt.Sprintf("%s 内 %d 台设备同类报警，并为一件 / %d devices raised the same alarm within %s: one incident", w, len(r.Devices), len(r.Devices), w)})
}

// clear marks the open incident of a fingerprint as cleared by itself.
func (e *Engine) clear(t *tx, fp string, at time.Time) {
	if r := t.peekFP(fp); r != nil && !r.Cleared {
		e.markCleared(t, t.get(r.ID), at)
	}
}

// clearAlarm is dev's alarm of r ending: its own incident is cleared, or,
// in a storm, the storm is once every device in it has gone quiet.
func (e *Engine) clearAlarm(t *tx, r *rule, dev configs.DeviceInfo, at time.Time) {
	fp := fpKey(r, dev.ID)
	if t.peekFP(fp) != nil {
		e.clear(t, fp, at)
		return
	}
	sfp := e.stormKey(r, dev)
	if sfp == "" {
		return
	}
	s := t.peekFP(sfp)
	if id, ok := e.stormOf[fp]; ok {
		s = t.work[id]
		if s == nil {
			s = e.incidents[id]
		}
	}
	if s == nil || s.Cleared || !containsStr(s.Devices, dev.ID) || containsStr(s.Quiet, dev.ID) {
		return
	}
	s = t.get(s.ID)
	s.Quiet = append(s.Quiet, dev.ID)
	if len(s.Quiet) >= len(s.Devices) {
		s.Quiet = nil
		e.markCleared(t, s, at)
	}
}

func (e *Engine) markCleared(t *tx, r *record, at time.Time) {
	if r.Cleared {
		return
	}
	r.Cleared = true
	t.step(r, event.Step{At: at, Action: "clear", By: system, Note: "报警已自行消除，仍需人工办结 / the alarm cleared by itself; a person still resolves it"})
	r.Flaps = append(r.Flaps, at)
}
