package prefecture

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Act forwards p's step on a viewed incident to its owner and returns the
// owner's answer. An owner that is unreachable, or does not answer in
// time, gives 503 naming the hub: never a silent drop.
func (v *View) Act(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error) {
	hub, ok := v.Owner(id)
	if !ok {
		return event.Incident{}, event.NotFound("incident " + id)
	}
	if _, _, err := v.Get(p, id); err != nil {
		return event.Incident{}, err
	}
	return v.forward(ctx, hub, ActionRequest{User: p.Name, Incident: id, Action: action, Request: req, Remote: req.Remote})
}

// Create forwards p's hand-raised incident to the hub that owns its
// township and returns what the owner made of it.
func (v *View) Create(ctx context.Context, p auth.Principal, hub string, req event.CreateRequest) (event.Incident, error) {
	return v.forward(ctx, hub, ActionRequest{User: p.Name, Create: &req, Remote: req.Remote})
}

// forward sends one request to hub and waits for its answer.
func (v *View) forward(ctx context.Context, hub string, rq ActionRequest) (event.Incident, error) {
	v.mu.Lock()
	var st event.HubStatus
	if r := v.hubs[hub]; r != nil {
		st = r.status
	}
	v.mu.Unlock()
	if st.State == event.HubUnreachable {
		return event.Incident{}, event.Refuse(event.ErrNoService, "所属中心 %s 自 %s 不可达，操作未执行 / hub %s is unreachable since %s; nothing was done",
			hub, v.since(st.Since), hub, st.Since.UTC().Format(time.RFC3339))
	}
	c := v.o.Client()
	if c == nil || !v.o.Connected() {
		return event.Incident{}, event.Refuse(event.ErrNoService, "消息服务器未连接，无法转交 %s / the broker is not connected: cannot reach hub %s", hub, hub)
	}
	rq.ID = newID()
	ch := make(chan ActionReply, 1)
	v.mu.Lock()
	v.pending[rq.ID] = pendingReply{hub: hub, ch: ch}
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		delete(v.pending, rq.ID)
		v.mu.Unlock()
	}()
	b, _ := json.Marshal(rq)
	c.Publish(v.t.Actions(hub, v.o.Self), 1, false, b)
	t := time.NewTimer(v.o.ActionTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.Status/100 != 2 || r.Incident == nil {
			return event.Incident{}, dashboard.StatusRefusal(r.Status, r.Error)
		}
		return *r.Incident, nil
	case <-t.C:
		return event.Incident{}, event.Refuse(event.ErrNoService, "所属中心 %s 在 %s 内未答复；请稍后查看是否已执行 / hub %s did not answer within %s; check before repeating",
			hub, v.o.ActionTimeout, hub, v.o.ActionTimeout)
	case <-ctx.Done():
		return event.Incident{}, fmt.Errorf("forward to hub %s: %w", hub, ctx.Err())
	}
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
