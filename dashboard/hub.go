package dashboard

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// message is one websocket message, encoded once for every client; an
// incident's is encoded without its actions, which are spliced in once per
// distinct list of steps (withActions), not once per client.
type message struct {
	seq      uint64
	township string
	scope    *auth.Scope // an incident's: who may see it is auth.Allow's decision
	incident bool        // bytes are an incident's, without actions
	bytes    []byte
}

// maysee: an incident by the one decision (its current owner, the
// townships that held it, summoned departments, its village); a device
// event by its township.
func (m *message) maysee(p auth.Principal) bool {
	if m.scope != nil {
		return auth.Allow(p, auth.View, *m.scope) == nil
	}
	return p.CanSee(m.township)
}

// actionsOf are the steps p may take on inc now: the incident service's
// one decision, or none without a service.
type actionsOf func(p auth.Principal, inc event.Incident) []string

// withActions is an incident message's bytes with "actions" as the last
// field of its data. encode writes data last, so the message ends "}}"
// and the list goes before those two braces.
func withActions(base []byte, actions []string) []byte {
	list, _ := json.Marshal(actions)
	out := make([]byte, 0, len(base)+len(list)+12)
	out = append(out, base[:len(base)-2]...)
	out = append(out, `,"actions":`...)
	out = append(out, list...)
	return append(out, '}', '}')
}

// hub sequences events, keeps a bounded history for ?since= resumes, and
// fans out to clients, each with its own bounded queue: a client that
// falls behind is disconnected (it resumes by itself), never slowing the
// others or the producers.
type hub struct {
	mu      sync.Mutex
	epoch   uint64 // this process's; sent in every message, checked on ?epoch=
	seq     uint64
	history []message // ring
	start   int       // index of the oldest
	size    int
	clients map[*client]struct{}
	queue   int
	actions actionsOf
	limits  Limits // what a client may send (limits.go)
	// histBytes is what the history holds; it is kept under
	// limits.HistoryBytes by forgetting the oldest (trimHistory).
	histBytes int

	droppedN int

	mClients prometheus.GaugeFunc
	mEvents  prometheus.Counter
	mDropped prometheus.Counter
}

type client struct {
	p      auth.Principal
	send   chan []byte // nil: a wake-up, look at the flags
	closed chan struct{}
	reason string
	once   sync.Once
	// What ends the writer, set before a nil wakes it: the writer parks on
	// send alone (as the chat pattern's does), not on a select over every
	// way a connection ends, which costs each message a wake-up of them all.
	kicked, shut, gone atomic.Bool
}

// wake makes the writer look at its flags; a full queue needs no wake-up
// (the writer looks after every message).
func (c *client) wake() {
	select {
	case c.send <- nil:
	default:
	}
}

func (c *client) kick(reason string) {
	c.once.Do(func() { c.reason = reason; close(c.closed); c.kicked.Store(true); c.wake() })
}

func newHub(history, queue int, incidents IncidentService) *hub {
	// The epoch is this process's start in microseconds, and the sequence
	// starts there: every number of this process is above every number an
	// earlier process handed out (it would have needed more than one event
	// a microsecond to catch up), so a wall resuming with a since from
	// before a restart always gets a snapshot, never a partial replay that
	// happens to line up with the new numbers.
	epoch := uint64(time.Now().UnixMicro())
	h := &hub{history: make([]message, history), clients: map[*client]struct{}{}, queue: queue, epoch: epoch, seq: epoch,
		actions: func(auth.Principal, event.Incident) []string { return []string{} }}
	if incidents != nil {
		h.actions = incidents.Actions
	}
	h.mClients = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "snowhub_ws_clients", Help: "Websocket clients connected."},
		func() float64 { h.mu.Lock(); defer h.mu.Unlock(); return float64(len(h.clients)) })
	h.mEvents = prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_ws_events_total", Help: "Events sequenced for websocket clients."})
	h.mDropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_ws_clients_dropped_total",
		Help: "Clients disconnected because they fell behind (they resume with ?since=)."})
	return h
}

// wsType maps internal event types onto the public message types.
func wsType(t event.Type) string {
	switch t {
	case event.CameraState, event.CameraSample:
		return "camera"
	case event.SensorState, event.SensorReading:
		return "sensor"
	case event.IncidentStep:
		return "incident"
	case event.CameraEvent:
		return "camera_event"
	case event.HubState:
		return "hub"
	}
	return ""
}

// sensorReading is how a reading reaches the pages: the sensor's id and
// its latest value, the shape of a sensors row.
type sensorReading struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Township  string    `json:"township"`
	Village   string    `json:"village"`
	LastValue float64   `json:"last_value"`
	Battery   *float64  `json:"battery,omitempty"`
	LastSeen  time.Time `json:"last_seen"`
}

func encode(epoch, seq uint64, typ string, data any) []byte {
	b, _ := json.Marshal(struct {
		Seq   uint64 `json:"seq"`
		Epoch uint64 `json:"epoch"`
		Type  string `json:"type"`
		Data  any    `json:"data"`
	}{seq, epoch, typ, data})
	return b
}

// publish sequences an event and offers it to every client that may see it.
func (h *hub) publish(ev event.Event) {
	typ := wsType(ev.Type)
	if typ == "" {
		return
	}
	data := ev.Data
	if r, ok := data.(event.SensorReadingData); ok {
		data = sensorReading{ID: r.Sensor, Kind: r.Kind, Township: ev.Township, Village: ev.Village, LastValue: r.Value, Battery: r.Battery, LastSeen: ev.Time}
	}
	inc, isIncident := data.(event.Incident)
	if isIncident {
		inc.Actions = nil // each client's own are spliced in below
		data = inc
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	m := message{seq: h.seq, township: ev.Township, bytes: encode(h.epoch, h.seq, typ, data)}
	if isIncident {
		sc := auth.IncidentScope(&inc)
		m.scope, m.incident = &sc, true
	}
	idx := (h.start + h.size) % len(h.history)
	if h.size == len(h.history) {
		h.histBytes -= len(h.history[h.start].bytes)
		h.start = (h.start + 1) % len(h.history)
	} else {
		h.size++
	}
	h.history[idx] = m
	h.histBytes += len(m.bytes)
	h.trimHistory()
	h.mEvents.Inc()
	// One encoding per distinct list of steps: the walls of a county share
	// a handful (the county's, each desk's, none), whatever their number.
	// An incident's visibility and steps are decided once per principal,
	// not per client: the walls and tabs of one account share the answer.
	var byActions map[string][]byte
	var byPrincipal map[auth.Principal][]byte // nil value: may not see it
	for c := range h.clients {
		b := m.bytes
		if m.incident {
			var seen bool
			if b, seen = byPrincipal[c.p]; !seen {
				b = nil
				if m.maysee(c.p) {
					acts := h.actions(c.p, inc)
					key := strings.Join(acts, ",")
					if b = byActions[key]; b == nil {
						b = withActions(m.bytes, acts)
						if byActions == nil {
							byActions = map[string][]byte{}
						}
						byActions[key] = b
					}
				}
				if byPrincipal == nil {
					byPrincipal = map[auth.Principal][]byte{}
				}
				byPrincipal[c.p] = b
			}
			if b == nil {
				continue
			}
		} else if !m.maysee(c.p) {
			continue
		}
		select {
		case c.send <- b:
		default:
			h.mDropped.Inc()
			h.droppedN++
			delete(h.clients, c)
			c.kick("too slow: resume with ?since=")
		}
	}
}

// subscribe registers a client under the hub's lock, so nothing falls
// between what it is first sent and the live events that follow. With
// since > 0 and the history still holding it, the first messages are the
// events after since; otherwise snapshot() builds a fresh one. A since
// from another process (epoch given and not ours, or a number below this
// process's first) gets a snapshot.
func (h *hub) subscribe(p auth.Principal, since, epoch uint64, resume bool, snapshot func(seq uint64, reason string) []byte) *client {
	h.mu.Lock()
	defer h.mu.Unlock()
	oldest := h.seq + 1
	if h.size > 0 {
		oldest = h.history[h.start].seq
	}
	var first [][]byte
	otherProcess := epoch != 0 && epoch != h.epoch
	if resume && !otherProcess && since+1 >= oldest && since <= h.seq {
		first = append(first, encode(h.epoch, h.seq, "resume", map[string]any{"from": since}))
		for i := 0; i < h.size; i++ {
			m := h.history[(h.start+i)%len(h.history)]
			if m.seq > since && m.maysee(p) {
				first = append(first, h.forResume(m, p))
			}
		}
	} else {
		reason := ""
		switch {
		case otherProcess:
			reason = "epoch_changed"
		case resume:
			reason = "history_expired"
		}
		first = append(first, snapshot(h.seq, reason))
	}
	c := &client{p: p, send: make(chan []byte, h.queue+len(first)), closed: make(chan struct{})}
	for _, b := range first {
		c.send <- b
	}
	h.clients[c] = struct{}{}
	return c
}

// forResume is a message of the history as p is sent it. The history keeps
// an incident's bytes only (its memory is bounded by them), so the
// incident is read back from them for p's actions: resumes are rare,
// live fan-out is not.
func (h *hub) forResume(m message, p auth.Principal) []byte {
	if !m.incident {
		return m.bytes
	}
	var env struct {
		Data event.Incident `json:"data"`
	}
	if err := json.Unmarshal(m.bytes, &env); err != nil {
		return withActions(m.bytes, []string{})
	}
	return withActions(m.bytes, h.actions(p, env.Data))
}

func (h *hub) unsubscribe(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// closeAll sends every client a close frame.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		c.kick("server shutting down")
		delete(h.clients, c)
	}
}

const (
	writeWait  = 10 * time.Second
	pingPeriod = 30 * time.Second
	pongWait   = 60 * time.Second
)

// serve runs one client: a writer with deadlines and pings, and a reader
// that only watches for close and pongs.
func (h *hub) serve(conn *websocket.Conn, c *client, shutdown <-chan struct{}) {
	defer conn.Close()
	defer h.unsubscribe(c)
	go func() {
		defer c.wake()
		defer c.gone.Store(true)
		h.limits.wsReader(conn, h.limits.WSReadLimit, pongWait)
	}()
	// Pings and the server's shutdown on a goroutine of their own, which
	// wakes every 30 s, not at every message (WriteControl may be called
	// beside the writer).
	writerDone := make(chan struct{})
	defer close(writerDone)
	go func() {
		ping := time.NewTicker(pingPeriod)
		defer ping.Stop()
		for {
			select {
			case <-ping.C:
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
					conn.Close() // the reader ends, and wakes the writer
					return
				}
			case <-shutdown:
				c.shut.Store(true)
				c.wake()
				return
			case <-writerDone:
				return
			}
		}
	}()
	closeWith := func(code int, reason string) {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	}
	var deadlineSet time.Time
	for b := range c.send {
		switch {
		case c.kicked.Load():
			code := websocket.CloseGoingAway
			switch c.reason {
			case "server shutting down":
			case sessionEndedReason:
				code = SessionEndedCode // the page asks for a login
			default:
				code = 4000 // too slow: the client resumes
			}
			closeWith(code, c.reason)
			return
		case c.shut.Load():
			closeWith(websocket.CloseGoingAway, "server shutting down")
			return
		case c.gone.Load():
			return
		}
		if b == nil {
			continue
		}
		// The deadline is moved on once a second, not at every message: a
		// write still has between writeWait-1s and writeWait to finish, and
		// a busy wall saves a timer update per message.
		if now := time.Now(); now.Sub(deadlineSet) >= time.Second {
			conn.SetWriteDeadline(now.Add(writeWait))
			deadlineSet = now
		}
		if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
			return
		}
	}
}

// dropped counts clients disconnected for falling behind.
func (h *hub) dropped() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.droppedN
}
