package alerts

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// KindCountyOutage is the kind of the one incident an outage wider than a
// village opens: devices of more than alerts.county_outage.villages
// villages gone down within alerts.group_window of each other, or every
// device behind one upstream gone down together. The technicians hold it;
// the village incidents it covers wait until the common cause is back.
const KindCountyOutage = "county_outage"

// countyPrefix begins a county outage's fingerprint:
// county|UPSTREAM|start ("all" for one without a single upstream).
const countyPrefix = "county|"

// upstream is what several devices reach the hub through: a configured
// NVR, uplink or platform, or one RTSP host serving cameras of two
// villages or more.
type upstream struct {
	id, name, kind string
	devices        []string
}

// cause is how a note names the upstream: NVR「东街 NVR」.
func (u *upstream) cause() string {
	kind := map[string]string{"nvr": "NVR", "uplink": "上联链路", "platform": "平台", "rtsp": "RTSP 源"}[u.kind]
	return kind + "「" + u.name + "」"
}

// rtspHost is the host a camera's stream comes from ("" when unknown).
func rtspHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// buildUpstreams indexes the configured upstreams and the RTSP hosts that
// serve cameras of two villages or more (a host within one village is that
// village's own outage), each with its devices.
func buildUpstreams(cfg *configs.Config) ([]upstream, map[string][]int) {
	villageOf := map[string]string{}
	byVillage := map[string][]string{}
	byHost := map[string][]string{}
	var hosts []string
	for _, c := range cfg.Cameras {
		villageOf[c.ID] = c.Village
		byVillage[c.Village] = append(byVillage[c.Village], c.ID)
		if h := rtspHost(c.URL); h != "" {
			if byHost[h] == nil {
				hosts = append(hosts, h)
			}
			byHost[h] = append(byHost[h], c.ID)
		}
	}
	for _, s := range cfg.Sensors {
		byVillage[s.Village] = append(byVillage[s.Village], s.ID)
	}
	var ups []upstream
	named := map[string]bool{}
	for _, u := range cfg.Alerts.CountyOutage.Upstreams {
		devs := slices.Clone(u.Devices)
		for _, v := range u.Villages {
			devs = append(devs, byVillage[v]...)
		}
		for _, h := range u.Hosts {
			devs = append(devs, byHost[h]...)
			named[h] = true
		}
		slices.Sort(devs)
		ups = append(ups, upstream{id: u.ID, name: u.Name, kind: u.Kind, devices: slices.Compact(devs)})
	}
	for _, h := range hosts {
		vs := map[string]bool{}
		for _, c := range byHost[h] {
			vs[villageOf[c]] = true
		}
		if len(vs) < 2 || named[h] {
			continue
		}
		ups = append(ups, upstream{id: "rtsp:" + h, name: h, kind: "rtsp", devices: byHost[h]})
	}
	of := map[string][]int{}
	for i, u := range ups {
		for _, d := range u.devices {
			of[d] = append(of[d], i)
		}
	}
	return ups, of
}

func (e *Engine) upstreamByID(id string) *upstream {
	for i := range e.ups {
		if e.ups[i].id == id {
			return &e.ups[i]
		}
	}
	return nil
}

// countyOutages are the county outages still being handled, as this
// change sees them.
func (e *Engine) countyOutages(t *tx) []*record {
	var out []*record
	keep := e.countyFPs[:0]
	for _, fp := range e.countyFPs {
		if e.byFP[fp] == nil && t.fpSet[fp] == nil {
			continue // closed, or never committed
		}
		keep = append(keep, fp)
		if r := t.peekFP(fp); r != nil && r.handling() {
			out = append(out, r)
		}
	}
	e.countyFPs = keep
	return out
}

// holding reports whether o still holds dev's own incident back: dev is in
// it and its cause is not back.
func holding(o *record, dev string) bool {
	return o.CauseBack.IsZero() && containsStr(o.Devices, dev)
}

// countyJoin is asked when dev's offline rule comes due: it reports
// whether a county outage holds dev, adding dev when it went down with
// the outage (within the group window of its start, and behind its
// upstream if it has one).
func (e *Engine) countyJoin(t *tx, dev configs.DeviceInfo, at time.Time) bool {
	since, ok := e.offlineAt[dev.ID]
	if !ok {
		return false
	}
	for _, o := range e.countyOutages(t) {
		if holding(o, dev.ID) {
			e.dropPending(dev.ID)
			return true
		}
		if !o.CauseBack.IsZero() || since.Sub(o.OutageFrom).Abs() > e.cfg.Alerts.GroupWindow {
			continue
		}
		if u := e.upstreamByID(o.Upstream); o.Upstream != "" && (u == nil || !containsStr(u.devices, dev.ID)) {
			continue
		}
		o = t.get(o.ID)
		o.Devices = append(o.Devices, dev.ID)
		if dev.Camera {
			o.Cameras = append(o.Cameras, dev.ID)
		}
		o.Count++
		o.LastSeen = at
		o.Cleared = false
		o.Title = e.countyTitle(o)
		e.dropPending(dev.ID)
		return true
	}
	return false
}

// countyStart is asked when dev's offline rule comes due and no county
// outage holds it: it opens one when devices of more villages than
// alerts.county_outage.villages, or every device behind one of dev's
// upstreams, have been offline as long as their rule asks and went down
// within the group window of dev. Otherwise it says when that may be so,
// counting devices that went down close to dev but are not due yet (zero:
// it never will); dev's own incident waits until then.
func (e *Engine) countyStart(t *tx, dev configs.DeviceInfo, at time.Time) (bool, time.Time) {
	since, ok := e.offlineAt[dev.ID]
	if !ok {
		return false, time.Time{}
	}
	held := map[string]bool{}
	for _, o := range e.countyOutages(t) {
		for _, d := range o.Devices {
			if holding(o, d) {
				held[d] = true
			}
		}
	}
	w := e.cfg.Alerts.GroupWindow
	// due: when a device close to dev counts (zero: not close, or no rule).
	due := func(id string) time.Time {
		wentAt, off := e.offlineAt[id]
		d := e.top.Devices[id]
		lim := e.offlineLimit(d)
		if !off || lim == 0 || held[id] || e.inMaintenance(d, at) || wentAt.Sub(since).Abs() > w {
			return time.Time{}
		}
		return wentAt.Add(lim)
	}
	var ready []configs.DeviceInfo
	var later time.Time
	near := map[string]bool{}
	for id := range e.offlineAt {
		d := due(id)
		if d.IsZero() {
			continue
		}
		near[e.top.Devices[id].Village] = true
		if d.After(at) {
			later = maxTime(later, d)
			continue
		}
		ready = append(ready, e.top.Devices[id])
	}
	n := e.cfg.Alerts.CountyOutage.Villages
	if len(villagesOf(ready)) > n {
		e.openCounty(t, ready, nil, since, at)
		return true, time.Time{}
	}
	wait := time.Time{}
	if len(near) > n {
		wait = later
	}
	for _, i := range e.upOf[dev.ID] {
		u := &e.ups[i]
		var down []configs.DeviceInfo
		var upLater time.Time
		all := true
		for _, id := range u.devices {
			d := e.top.Devices[id]
			if e.offlineLimit(d) == 0 || e.inMaintenance(d, at) {
				continue // not watched for outages now: not part of "all"
			}
			du := due(id)
			if du.IsZero() {
				all = false
				break
			}
			upLater = maxTime(upLater, du)
			down = append(down, d)
		}
		if !all || len(down) < 2 {
			continue
		}
		if !upLater.After(at) {
			e.openCounty(t, down, u, since, at)
			return true, time.Time{}
		}
		wait = maxTime(wait, upLater)
	}
	return false, wait
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// villagesOf are the villages of devs, in the county's order of ids.
func villagesOf(devs []configs.DeviceInfo) []string {
	var out []string
	for _, d := range devs {
		if !slices.Contains(out, d.Village) {
			out = append(out, d.Village)
		}
	}
	slices.Sort(out)
	return out
}

func (e *Engine) deviceInfos(ids []string) []configs.DeviceInfo {
	out := make([]configs.DeviceInfo, 0, len(ids))
	for _, id := range ids {
		out = append(out, e.top.Devices[id])
	}
	return out
}

// openCounty opens the county outage of down, which went down within the
// group window of since: for the technicians, at county level.
func (e *Engine) openCounty(t *tx, down []configs.DeviceInfo, u *upstream, since, at time.Time) {
	slices.SortFunc(down, func(a, b configs.DeviceInfo) int { return strings.Compare(a.ID, b.ID) })
	r := &rule{Rule: configs.Rule{Name: "county-outage", Type: KindCountyOutage, Severity: e.cfg.Alerts.CountyOutage.Severity}}
	rec := e.newRecord(t, r, configs.DeviceInfo{}, at, 0)
	rec.Kind = KindCountyOutage
	rec.OutageFrom = since
	key := "all"
	if u != nil {
		rec.Upstream, key = u.id, u.id
	}
	rec.Fingerprint = fmt.Sprintf("%s%s|%d", countyPrefix, key, since.UnixNano())
	rec.Cameras = nil
	for _, d := range down {
		rec.Devices = append(rec.Devices, d.ID)
		if d.Camera {
			rec.Cameras = append(rec.Cameras, d.ID)
		}
		e.dropPending(d.ID)
	}
	rec.Count = len(down)
	rec.Title = e.countyTitle(rec)
	t.setFP(rec.Fingerprint, rec)
	e.countyFPs = append(e.countyFPs, rec.Fingerprint)
	names := e.villageNames(villagesOf(down))
	e.opened(t, rec, at, system, fmt.Sprintf("涉及 %d 个村：%s；疑为%s。共同原因恢复后仍离线的村另行立案 / %d villages down together; likely cause: %s; villages still down once it is back get their own incidents",
		len(names), strings.Join(names, "、"), e.countyCause(rec), len(names), e.countyCause(rec)))
}

func (e *Engine) villageNames(ids []string) []string {
	out := make([]string, len(ids))
	for i, v := range ids {
		out[i] = e.top.VillageName[v]
		if out[i] == "" {
			out[i] = v
		}
	}
	return out
}

// countyCause is the likely common cause of a county outage: its
// upstream; else an upstream behind which all its devices are, or the one
// RTSP host of all its cameras; else the county's shared infrastructure.
func (e *Engine) countyCause(r *record) string {
	if u := e.upstreamByID(r.Upstream); u != nil {
		return u.cause() + "故障"
	}
	for i := range e.ups {
		if u := &e.ups[i]; !slices.ContainsFunc(r.Devices, func(d string) bool { return !containsStr(u.devices, d) }) {
			return u.cause() + "故障"
		}
	}
	host := ""
	for _, c := range e.cfg.Cameras {
		if !containsStr(r.Devices, c.ID) {
			continue
		}
		switch h := rtspHost(c.URL); {
		case host == "":
			host = h
		case h != host:
			host = "-"
		}
	}
	if host != "" && host != "-" && len(r.Cameras) == len(r.Devices) {
		return "RTSP 源「" + host + "」故障"
	}
	return "共同的上游（供电、网络或平台）故障"
}

// countyTitle names the villages (the first three), how many devices and
// the likely cause: "东街社区、西街社区、北关村等 4 个村 12 台设备离线：疑为RTSP 源「10.0.0.5」故障".
func (e *Engine) countyTitle(r *record) string {
	vs := e.villageNames(villagesOf(e.deviceInfos(r.Devices)))
	head := strings.Join(vs[:min(len(vs), 3)], "、")
	if len(vs) > 3 {
		head += fmt.Sprintf("等 %d 个村", len(vs))
	}
	return fmt.Sprintf("%s %d 台设备离线：疑为%s", head, len(r.Devices), e.countyCause(r))
}

// countyBack is dev back online: a county outage it is in is cleared when
// all its devices are back; at the first one back, the outage's settle
// time starts, after which the villages still down get their incidents.
func (e *Engine) countyBack(t *tx, dev configs.DeviceInfo, at time.Time) {
	for _, o := range e.countyOutages(t) {
		if !containsStr(o.Devices, dev.ID) {
			continue
		}
		if !slices.ContainsFunc(o.Devices, func(d string) bool { _, down := e.offlineAt[d]; return down }) {
			o = t.get(o.ID)
			if o.CauseBack.IsZero() {
				o.CauseBack = at
			}
			e.markCleared(t, o, at)
			continue
		}
		if o.CauseBack.IsZero() && !e.settling[o.ID] {
			e.settling[o.ID] = true
			e.addTimer(at.Add(e.cfg.Alerts.CountyOutage.Settle), timerCounty, o.ID)
		}
	}
}

// countySettled is a county outage's settle time ending: when what is
// still down is no longer wider than alerts.county_outage.villages, the
// common cause is back, and the devices still down get their own
// incidents as their villages' (a village outage, or one per device).
// While it is still as wide, it holds them, and the next device back
// starts the settle time again.
func (e *Engine) countySettled(t *tx, id string, now time.Time) {
	delete(e.settling, id)
	o := e.incidents[id]
	if w := t.work[id]; w != nil {
		o = w
	}
	if o == nil || !o.handling() || !o.CauseBack.IsZero() {
		return
	}
	var down []configs.DeviceInfo
	for _, d := range o.Devices {
		if _, off := e.offlineAt[d]; off && !e.inMaintenance(e.top.Devices[d], now) {
			down = append(down, e.top.Devices[d])
		}
	}
	if len(villagesOf(down)) > e.cfg.Alerts.CountyOutage.Villages {
		return
	}
	e.countyRelease(t, t.get(id), now)
}

// countyRelease records that o's common cause is back (or that a person
// resolved o) and gives the devices o still holds, those still down, their
// own incidents as their villages' (a village outage, or one per device).
func (e *Engine) countyRelease(t *tx, o *record, now time.Time) {
	if !o.CauseBack.IsZero() {
		return
	}
	var down []configs.DeviceInfo
	for _, d := range o.Devices {
		if _, off := e.offlineAt[d]; off && !e.inMaintenance(e.top.Devices[d], now) {
			down = append(down, e.top.Devices[d])
		}
	}
	vs := villagesOf(down)
	o.CauseBack = now
	o.Released = nil
	for _, d := range down {
		o.Released = append(o.Released, d.ID)
	}
	head, en := "共同原因已恢复", "the common cause is back"
	if o.State == StateResolved {
		head, en = "县域离线已办结", "the county outage was resolved"
	}
	note := event.Bilingual(head, en)
	if len(vs) > 0 {
		names := e.villageNames(vs)
		note = event.Bilingual(fmt.Sprintf("%s；仍离线的 %d 个村另行立案：%s", head, len(vs), strings.Join(names, "、")),
			fmt.Sprintf("%s; %d villages still down get their own incidents", en, len(vs)))
	}
	t.step(o, event.Step{At: now, Action: "release", By: system, From: o.State, To: o.State, Owner: o.Owner, Note: note})
	for _, d := range down {
		if e.group(t, d, now) {
			continue
		}
		if r := e.offlineRule(d); r != nil {
			e.fire(t, r, d, 0, now)
		}
	}
}

// offlineRule is the offline rule that covers dev (nil: none).
func (e *Engine) offlineRule(dev configs.DeviceInfo) *rule {
	for _, r := range e.rules {
		if r.Type == "offline" && r.applies(dev.Kind, dev.ID) {
			return r
		}
	}
	return nil
}

// chargedTo is whose figures an incident counts in: a county outage the
// technicians hold is theirs, not a township's.
func chargedTo(r *record) (township, village string) {
	if r.Kind == KindCountyOutage && r.Township == "" {
		return auth.Technicians, auth.Technicians
	}
	return r.Township, r.Village
}
