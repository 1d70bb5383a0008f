package prefecture

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/ingest"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// ActionsOptions configure an owner's answering of forwarded actions.
type ActionsOptions struct {
	Self   string
	Prefix string
	Config func() *configs.Config
	// Act is the owner's own incident step (alerts.Engine.Act): it
	// authorises, audits and commits as for a person at this hub.
	Act func(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error)
	// Create raises an incident by hand (alerts.Engine.Create).
	Create func(ctx context.Context, p auth.Principal, req event.CreateRequest) (event.Incident, error)
	// Stats and Backlog are the owner's figures (alerts.Engine.Stats and
	// Backlog), asked by a view's Query (figures.go). Nil: refused (501).
	Stats   func(p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, error)
	Backlog func(p auth.Principal, from, to time.Time, group string) (event.Backlog, error)
	Logger  *slog.Logger
	// Refused counts and logs the requests refused (nil: its own).
	Refused *Refusals
}

// Actions answers the action requests views send this hub. With a hubs:
// list it answers only the hubs the list makes views of this one, and
// only for the persons such a view serves (admit, trust.go). The acting
// user is named by the view and looked up in this hub's own users: the
// owner decides with its own idea of the person's role and township, so a
// view cannot lend anyone more rights than the owner gives them.
type Actions struct {
	o   ActionsOptions
	t   Topics
	log *slog.Logger

	mu      sync.Mutex
	answers memo // correlation id → reply, for redelivered requests
	figures memo // the same for queries, whose replies are larger
	sem     chan struct{}
	qsem    chan struct{} // queries: read-only and quick, never queued behind steps
	// inflight are the ids being answered: a redelivery waits for the
	// answer rather than computing (or stepping) again.
	inflight map[string]chan struct{}
	wg       sync.WaitGroup
	closed   bool
}

const rememberAnswers = 4096

// memo remembers the newest replies by correlation id, at most n of them
// and (when bytes > 0) at most bytes of them.
type memo struct {
	n, bytes int
	m        map[string][][]byte
	order    []string
	size     int
}

func (m *memo) get(id string) ([][]byte, bool) {
	b, ok := m.m[id]
	return b, ok
}

func (m *memo) put(id string, parts [][]byte) {
	if m.m == nil {
		m.m = map[string][][]byte{}
	}
	if _, ok := m.m[id]; ok {
		return
	}
	m.m[id] = parts
	m.order = append(m.order, id)
	m.size += partsSize(parts)
	for len(m.order) > 1 && (len(m.order) > m.n || (m.bytes > 0 && m.size > m.bytes)) {
		m.size -= partsSize(m.m[m.order[0]])
		delete(m.m, m.order[0])
		m.order = m.order[1:]
	}
}

func partsSize(parts [][]byte) int {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return n
}

// NewActions builds the responder; the session's OnConnect subscribes it.
func NewActions(o ActionsOptions) *Actions {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Refused == nil {
		o.Refused = NewRefusals(o.Logger)
	}
	return &Actions{o: o, t: Topics{o.Prefix}, log: o.Logger, answers: memo{n: rememberAnswers},
		figures: memo{n: rememberFigures, bytes: rememberFigureBytes},
		sem:     make(chan struct{}, 8), qsem: make(chan struct{}, queryWorkers)}
}

// OnConnect subscribes to this hub's action requests.
func (a *Actions) OnConnect(c ingest.Client) {
	if err := c.Subscribe(map[string]byte{a.t.Actions(a.o.Self, "+"): 1}, 30*time.Second); err != nil {
		a.log.Error("action subscription failed; retried at the next connect", "err", err)
	}
}

// Close waits for the requests being answered.
func (a *Actions) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.wg.Wait()
}

// receive takes a request off the session's ordered delivery at once and
// answers it on a goroutine of its own (a step commits to disk).
func (a *Actions) receive(c ingest.Client, msg ingest.Message) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return // not acknowledged: the broker keeps it for the next session
	}
	a.wg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		a.handle(c, msg)
	}()
}

func (a *Actions) handle(c ingest.Client, msg ingest.Message) {
	hub, what, view, ok := a.t.parse(msg.Topic())
	if !ok || hub != a.o.Self || what != "actions" {
		msg.Ack()
		return
	}
	var req ActionRequest
	if err := json.Unmarshal(msg.Payload(), &req); err != nil || req.ID == "" {
		a.log.Warn("action request not readable", "from", view, "err", err)
		msg.Ack()
		return
	}
	// At most a few steps at once (each commits to disk), and apart from
	// them a few queries (read from memory): a page's figures never wait
	// behind a queue of steps, nor steps behind figures.
	sem, mem, answer := a.sem, &a.answers, func() [][]byte { return [][]byte{a.answer(view, req)} }
	if req.Query != nil {
		sem, mem, answer = a.qsem, &a.figures, func() [][]byte { return a.answerQuery(view, req) }
	}
	parts := a.once(req.ID, sem, mem, answer)
	for _, b := range parts {
		if p, ok := c.(ingest.AckPublisher); ok {
			if err := p.PublishWait(a.t.Replies(a.o.Self, view), 1, false, b, 10*time.Second); err != nil {
				a.log.Warn("action reply not published; the request comes again", "view", view, "err", err)
				return // not acknowledged: redelivered, answered from memory
			}
		} else {
			c.Publish(a.t.Replies(a.o.Self, view), 1, false, b)
		}
	}
	msg.Ack()
}

// once answers a correlation id once: from memory when it was answered,
// after the answer under way when a redelivery overtakes it (a step is
// never taken twice), else by answer, holding a place of sem.
func (a *Actions) once(id string, sem chan struct{}, mem *memo, answer func() [][]byte) [][]byte {
	a.mu.Lock()
	for {
		if parts, seen := mem.get(id); seen {
			a.mu.Unlock()
			return parts
		}
		wait, busy := a.inflight[id]
		if !busy {
			break
		}
		a.mu.Unlock()
		<-wait
		a.mu.Lock()
	}
	done := make(chan struct{})
	if a.inflight == nil {
		a.inflight = map[string]chan struct{}{}
	}
	a.inflight[id] = done
	a.mu.Unlock()
	sem <- struct{}{}
	parts := answer()
	<-sem
	a.mu.Lock()
	mem.put(id, parts)
	delete(a.inflight, id)
	a.mu.Unlock()
	close(done)
	return parts
}

func (a *Actions) answer(view string, req ActionRequest) []byte {
	reply := ActionReply{ID: req.ID, Status: http.StatusOK}
	p, refused, why := admit(a.o.Config(), a.o.Self, view, req.User)
	if refused != nil {
		reply.Status, reply.Error = refused.Status, refused.Error
		a.o.Refused.add(view, why, "a request refused", "user", req.User, "incident", req.Incident, "action", req.Action)
	} else {
		var inc event.Incident
		var err error
		if req.Create != nil {
			c := *req.Create
			c.Remote = "hub " + view + " " + req.Remote
			inc, err = a.o.Create(context.Background(), p, c)
		} else {
			r := req.Request
			r.Remote = "hub " + view + " " + req.Remote
			inc, err = a.o.Act(context.Background(), p, req.Incident, req.Action, r)
		}
		if err != nil {
			reply.Status, reply.Error = dashboard.HTTPStatus(err), err.Error()
		} else {
			reply.Incident = &inc
		}
	}
	a.log.Info("action from a view", "view", view, "user", req.User, "incident", req.Incident, "action", req.Action, "status", reply.Status)
	b, _ := json.Marshal(reply)
	return b
}

// Principal is the user name as this hub's configuration knows it.
func Principal(cfg *configs.Config, name string) (auth.Principal, bool) {
	for _, u := range cfg.Users {
		if u.Name != name {
			continue
		}
		return auth.UserPrincipal(u, configs.NewTopology(cfg)), true
	}
	return auth.Principal{}, false
}
