package prefecture

import (
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"snowhub/configs"
	"snowhub/ingest"
	"snowhub/internal/event"
)

// ViewOptions configure a view hub's side of the feeds.
type ViewOptions struct {
	Self      string
	Prefix    string
	View      []string // hub ids, or "all"
	Client    func() ingest.Client
	Connected func() bool
	// Emit hands a change on to the view's own walls (its websocket
	// sequence); it must not block.
	Emit   func(event.Event)
	Logger *slog.Logger
	// ActionTimeout bounds the wait for an owner's answer (5 s).
	ActionTimeout time.Duration
	Now           func() time.Time
	// Keep is how long a viewed incident stays listed once reviewed
	// (alerts.keep_in_memory); nil or 0: for ever (bound.go).
	Keep func() time.Duration
	// Config is the shared configuration every hub loads: what the other
	// hubs' messages are checked against (trust.go). Nil checks nothing,
	// for tests of ordering only.
	Config func() *configs.Config
	// Refused counts and logs what is refused (nil: a counter of its own).
	Refused *Refusals
	// MaxIncidents and MaxBytes bound what is kept of one hub's incidents
	// (DefaultMaxIncidents, DefaultMaxBytes).
	MaxIncidents, MaxBytes int
}

// since is when hub became unreachable, as the county's clock reads it (the
// calendar's zone, not the process's TZ) for the Chinese half of a refusal;
// the English half carries the UTC RFC 3339 time.
func (v *View) since(t time.Time) string {
	zone := "Asia/Shanghai"
	if v.o.Config != nil {
		if c := v.o.Config(); c != nil && c.Alerts.Calendar.TimeZone != "" {
			zone = c.Alerts.Calendar.TimeZone
		}
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("01-02 15:04:05")
}

// View holds what a view hub knows of the hubs it views, built from their
// retained state and their feeds: it is rebuilt from retained state after
// a restart, and a step seen twice is applied once (by its sequence).
type View struct {
	o   ViewOptions
	t   Topics
	log *slog.Logger

	trust   trustCache
	mu      sync.Mutex
	hubs    map[string]*remote
	pending map[string]pendingReply
	queries map[string]*gather // figures asked of owners, by correlation id (figures.go)
	evicted time.Time          // when reviewed incidents were last let go (bound.go)
}

// pendingReply waits for the answer of the hub a request went to.
type pendingReply struct {
	hub string
	ch  chan ActionReply
}

type remote struct {
	url       string // where its live video is pulled (the list, or in the old form its status)
	status    event.HubStatus
	statusAt  time.Time
	cameras   map[string]event.CameraStatus
	camAt     map[string]time.Time
	sensors   map[string]event.SensorStatus
	sensAt    map[string]time.Time
	incidents map[string]remoteIncident
	bytes     int // what its incidents take, as their feed messages measured
}

type remoteIncident struct {
	inc  event.Incident
	seq  uint64
	size int
}

// NewView builds a view; the session's OnConnect subscribes it.
func NewView(o ViewOptions) *View {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ActionTimeout <= 0 {
		o.ActionTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Emit == nil {
		o.Emit = func(event.Event) {}
	}
	if o.Refused == nil {
		o.Refused = NewRefusals(o.Logger)
	}
	if o.MaxIncidents <= 0 {
		o.MaxIncidents = DefaultMaxIncidents
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return &View{o: o, t: Topics{o.Prefix}, log: o.Logger, hubs: map[string]*remote{}, pending: map[string]pendingReply{}}
}

// checks is the index of the shared configuration, nil when there is none.
func (v *View) checks() *trust {
	if v.o.Config == nil {
		return nil
	}
	return v.trust.get(v.o.Config())
}

// views reports whether this view shows hub's feed: by the list when there
// is one, else by hub.view.
func (v *View) views(hub string) bool {
	if t := v.checks(); t != nil && t.cfg.Listed() {
		return t.cfg.HubViews(v.o.Self, hub)
	}
	return hub != v.o.Self && (slices.Contains(v.o.View, "all") || slices.Contains(v.o.View, hub))
}

// Refused is what the view and the responder sharing its counters refused.
func (v *View) Refused() *Refusals { return v.o.Refused }

// OnConnect subscribes (again) to the viewed feeds and to the owners'
// replies to this view. Each SUBSCRIBE also brings the retained state.
func (v *View) OnConnect(c ingest.Client) {
	ids := v.o.View
	if t := v.checks(); t != nil && t.cfg.Listed() {
		// By the list, each viewed hub by name (the ACL generated from the
		// list grants no wildcard level).
		ids = nil
		for _, h := range t.cfg.Hubs {
			if t.cfg.HubViews(v.o.Self, h.ID) {
				ids = append(ids, h.ID)
			}
		}
	} else if slices.Contains(ids, "all") {
		ids = []string{"+"}
	}
	// Each viewed hub's replies to this view by name: the broker's ACL
	// of a view of named hubs grants no wildcard over the others.
	filters := map[string]byte{}
	for _, id := range ids {
		for _, f := range []string{v.t.Status(id), v.t.Events(id), v.t.Incident(id, "+"), v.t.Camera(id, "+"), v.t.Sensor(id, "+"), v.t.Replies(id, v.o.Self)} {
			filters[f] = 1
		}
	}
	if err := c.Subscribe(filters, 30*time.Second); err != nil {
		v.log.Error("feed subscription failed; retried at the next connect", "err", err)
	}
}

// receive applies one message, in the session's order; still every apply
// is order-proof (incidents by sequence, devices and status by time),
// because retained state and the events topic overlap.
func (v *View) receive(msg ingest.Message) {
	defer msg.Ack()
	hub, what, id, ok := v.t.parse(msg.Topic())
	if !ok {
		return
	}
	if what == "replies" {
		if id != v.o.Self || v.gatherReply(hub, msg.Payload()) {
			return
		}
		var r ActionReply
		if json.Unmarshal(msg.Payload(), &r) == nil {
			v.mu.Lock()
			w, ok := v.pending[r.ID]
			if ok && w.hub != hub {
				// Another hub answering for the owner: its topic is its
				// own, so it cannot pass for the owner's answer.
				ok = false
				v.o.Refused.add(hub, RefusedWrongReply, "an answer from a hub the request did not go to")
			}
			if ok {
				delete(v.pending, r.ID)
			}
			v.mu.Unlock()
			if ok {
				w.ch <- r
			}
		}
		return
	}
	if !v.views(hub) {
		if t := v.checks(); t != nil && t.cfg.Listed() {
			v.o.Refused.add(hub, RefusedUnlisted, "a feed the hubs: list does not give this view")
		}
		return
	}
	if what == "status" {
		v.applyStatus(hub, msg.Payload())
		return
	}
	if len(msg.Payload()) == 0 {
		if what == "incidents" {
			v.cleared(hub, id)
		}
		return
	}
	var m Message
	if err := json.Unmarshal(msg.Payload(), &m); err != nil {
		v.log.Warn("feed message not readable", "topic", msg.Topic(), "err", err)
		return
	}
	m.Hub = hub // the topic, which the ACL binds to the hub, not the payload, says whose it is
	v.apply(m, len(msg.Payload()))
}

// hub is what the view keeps of hub id, nil when it keeps no more hubs
// (the old form's view of all, where any login's id can appear).
func (v *View) hub(id string) *remote {
	r := v.hubs[id]
	if r == nil {
		if len(v.hubs) >= maxHubs {
			return nil
		}
		r = &remote{status: event.HubStatus{ID: id, State: event.HubReachable, Townships: []string{}},
			cameras: map[string]event.CameraStatus{}, camAt: map[string]time.Time{},
			sensors: map[string]event.SensorStatus{}, sensAt: map[string]time.Time{}, incidents: map[string]remoteIncident{}}
		if t := v.checks(); t != nil && t.cfg.Listed() {
			e, _ := t.cfg.HubEntryOf(id)
			r.status.Townships, r.url = slices.Clone(e.Townships), e.URL
		}
		v.hubs[id] = r
	}
	return r
}

func (v *View) applyStatus(hub string, payload []byte) {
	var s Status
	if len(payload) == 0 || json.Unmarshal(payload, &s) != nil {
		return
	}
	now := v.o.Now().UTC()
	at := s.At
	if at.IsZero() {
		at = now // the last will carries no time: it is now
	}
	if at.After(now.Add(ClockSkew)) {
		v.o.Refused.add(hub, RefusedFuture, "a status dated in the future", "at", at)
		return
	}
	t := v.checks()
	listed := t != nil && t.cfg.Listed()
	v.mu.Lock()
	r := v.hub(hub)
	if r == nil || at.Before(r.statusAt) {
		v.mu.Unlock()
		return
	}
	r.statusAt = at
	state := event.HubReachable
	if s.State != "online" {
		state = event.HubUnreachable
	}
	// With a list, a hub's townships and video address are the list's
	// (hub() put them there), whatever its status claims: a claimed
	// township or address would draw the other hubs' matters, and the
	// view's credential, to it.
	if s.Townships != nil && !listed {
		r.status.Townships = s.Townships
	}
	if s.URL != "" && !listed {
		r.url = s.URL // the last will has none: the address stays known
	}
	changed := r.status.State != state || r.status.Since.IsZero()
	if changed {
		r.status.State, r.status.Since = state, at
	}
	st := v.statusOf(r)
	v.mu.Unlock()
	if changed {
		v.log.Info("hub "+state, "hub", hub, "since", at)
		v.o.Emit(event.Event{Type: event.HubState, Time: at, Data: st})
	}
}

// Apply applies one feed message (exported for tests of ordering).
func (v *View) Apply(m Message) {
	size := 0
	if b, err := json.Marshal(m); err == nil {
		size = len(b)
	}
	v.apply(m, size)
}

// apply applies one feed message of size bytes once it passed the checks
// against the shared configuration; what fails them is counted, logged
// once and dropped.
func (v *View) apply(m Message, size int) {
	if reason := v.check(&m); reason != "" {
		v.o.Refused.add(m.Hub, reason, "a feed message refused", "kind", m.Kind)
		return
	}
	v.mu.Lock()
	v.letGoLocked(v.o.Now())
	r := v.hub(m.Hub)
	if r == nil {
		v.mu.Unlock()
		return
	}
	var ev event.Event
	switch {
	case m.Kind == KindIncident && m.Incident != nil:
		cur, ok := r.incidents[m.Incident.ID]
		if ok && m.Seq <= cur.seq {
			v.mu.Unlock()
			return // a repeat, or older than what is shown
		}
		if (!ok && len(r.incidents) >= v.o.MaxIncidents) || r.bytes-cur.size+size > v.o.MaxBytes {
			v.mu.Unlock()
			v.o.Refused.add(m.Hub, RefusedFull, "more incidents of one hub than a view keeps", "incidents", len(r.incidents), "bytes", r.bytes)
			return
		}
		r.bytes += size - cur.size
		r.incidents[m.Incident.ID] = remoteIncident{inc: *m.Incident, seq: m.Seq, size: size}
		r.status.LastSeq = max(r.status.LastSeq, m.Seq)
		inc := *m.Incident
		ev = event.Event{Type: event.IncidentStep, Time: m.At, Township: inc.Township, Village: inc.Village, Device: inc.Device, Data: inc}
	case m.Kind == KindCamera && m.Camera != nil:
		// The owner publishes each change twice, as retained state and on
		// its events topic, with the same time: the second is a repeat,
		// not a change for the walls (it doubled every camera message).
		if at, ok := r.camAt[m.Camera.ID]; ok && !m.At.After(at) {
			v.mu.Unlock()
			return
		}
		r.cameras[m.Camera.ID], r.camAt[m.Camera.ID] = *m.Camera, m.At
		c := *m.Camera
		ev = event.Event{Type: event.CameraState, Time: m.At, Township: c.Township, Village: c.Village, Device: c.ID, Data: c}
	case m.Kind == KindSensor && m.Sensor != nil:
		if at, ok := r.sensAt[m.Sensor.ID]; ok && !m.At.After(at) {
			v.mu.Unlock()
			return
		}
		r.sensors[m.Sensor.ID], r.sensAt[m.Sensor.ID] = *m.Sensor, m.At
		s := *m.Sensor
		ev = event.Event{Type: event.SensorState, Time: m.At, Township: s.Township, Village: s.Village, Device: s.ID, Data: s}
	default:
		v.mu.Unlock()
		return
	}
	v.mu.Unlock()
	v.o.Emit(ev)
}

// cleared: the owner cleared an incident's retained state, so it was
// reviewed. An incident the view has as reviewed stays listed; one it
// still shows open (it missed the review step) is dropped from the list
// rather than shown open for ever.
func (v *View) cleared(hub, id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.hubs[hub]
	if r == nil {
		return
	}
	if cur, ok := r.incidents[id]; ok && cur.inc.State != "reviewed" {
		r.bytes -= cur.size
		delete(r.incidents, id)
	}
}
