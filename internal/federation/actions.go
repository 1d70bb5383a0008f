package federation

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"snowhub/configs"
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
	Logger *slog.Logger
}

// Actions answers the action requests views send this hub. The acting
// user is named by the view and looked up in this hub's own users: the
// owner decides with its own idea of the person's role and township, so a
// view cannot lend anyone more rights than the owner gives them.
type Actions struct {
	o   ActionsOptions
	t   Topics
	log *slog.Logger

	mu      sync.Mutex
	answers map[string][]byte // correlation id → reply, for redelivered requests
	order   []string
	sem     chan struct{}
	wg      sync.WaitGroup
	closed  bool
}

const rememberAnswers = 4096

// NewActions builds the responder; the session's OnConnect subscribes it.
func NewActions(o ActionsOptions) *Actions {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Actions{o: o, t: Topics{o.Prefix}, log: o.Logger, answers: map[string][]byte{}, sem: make(chan struct{}, 8)}
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
		a.sem <- struct{}{} // at most a few steps at once
		defer func() { <-a.sem }()
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
	a.mu.Lock()
	b, seen := a.answers[req.ID]
	a.mu.Unlock()
	if !seen {
		b = a.answer(view, req)
		a.mu.Lock()
		a.answers[req.ID] = b
		a.order = append(a.order, req.ID)
		if len(a.order) > rememberAnswers {
			delete(a.answers, a.order[0])
			a.order = a.order[1:]
		}
		a.mu.Unlock()
	}
	if p, ok := c.(ingest.AckPublisher); ok {
		if err := p.PublishWait(a.t.Replies(a.o.Self, view), 1, false, b, 10*time.Second); err != nil {
			a.log.Warn("action reply not published; the request comes again", "view", view, "err", err)
			return // not acknowledged: redelivered, answered from memory
		}
	} else {
		c.Publish(a.t.Replies(a.o.Self, view), 1, false, b)
	}
	msg.Ack()
}

func (a *Actions) answer(view string, req ActionRequest) []byte {
	reply := ActionReply{ID: req.ID, Status: http.StatusOK}
	p, ok := Principal(a.o.Config(), req.User)
	if !ok {
		reply.Status, reply.Error = http.StatusForbidden, "用户 "+req.User+" 在所属中心 "+a.o.Self+" 未配置 / user "+req.User+" is not configured at hub "+a.o.Self
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
			reply.Status, reply.Error = event.HTTPStatus(err), err.Error()
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
		p := auth.Principal{Name: u.Name, Role: u.Role, Township: u.Township, Village: u.Village, Department: u.Department}
		if p.Role == auth.RoleVillage {
			p.Township = configs.NewTopology(cfg).VillageTownship[u.Village]
		}
		return p, true
	}
	return auth.Principal{}, false
}
