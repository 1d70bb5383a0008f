package app

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"snowhub/alerts"
	"snowhub/alerts/notify"
	"snowhub/configs"
	"snowhub/ingest"
	"snowhub/internal/event"
)

// The notifier reads the incident outbox by its own cursor (kept in
// notify.db with the queues it fills, and mirrored into the outbox's
// cursors so pruning waits for it): the one path out of the engine.

// buildNotify builds the notifier (Start starts it); it is closed before
// the incident engine (cleanups run in reverse).
func (h *Hub) buildNotify(cfg *configs.Config) error {
	names := &notifyNames{h: h}
	mo := notify.MQTTOptions{Broker: cfg.MQTT.Broker, ClientID: cfg.MQTT.ClientID, Username: cfg.MQTT.Username,
		Password: cfg.MQTT.Password, TopicPrefix: cfg.MQTT.TopicPrefix}
	if h.broker != nil {
		mo.TLS = h.broker.ClientTLS()
	} else if tc, err := ingest.TLSConfig(cfg.MQTT); err == nil {
		mo.TLS = tc // used for ssl://, tls://, mqtts:// brokers
	}
	n, err := notify.New(notify.Options{Config: cfg.Notify, DataDir: cfg.DataDir,
		Source: &outboxSteps{box: h.alerts.Outbox(), names: names}, Names: names, People: names.person, Working: names.working,
		MQTT: mo, Logger: h.log.With("component", "notify"), Registry: h.reg})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	h.notify = n
	h.deferClose("notify", n.Close)
	return nil
}

// reloadNotify puts a reloaded notify section in force (queues are kept).
func (h *Hub) reloadNotify(next *configs.Config) {
	if h.notify == nil {
		return
	}
	if err := h.notify.Update(next.Notify); err != nil {
		h.log.Error("notify configuration not applied", "err", err)
	}
}

// withNotices adds the notices sent for an incident to its history, as
// "notify" steps in time order (钉钉 昭仁街道群 已送达 08:14:03).
func (h *Hub) withNotices(inc event.Incident) event.Incident {
	if h.notify == nil {
		return inc
	}
	recs, err := h.notify.History(inc.ID)
	if err != nil || len(recs) == 0 {
		return inc
	}
	hist := append([]event.Step(nil), inc.History...)
	for _, r := range recs {
		hist = append(hist, event.Step{At: r.At, Action: "notify", By: "system", Note: r.Line(nil)})
	}
	sort.SliceStable(hist, func(i, j int) bool { return hist[i].At.Before(hist[j].At) })
	inc.History = hist
	return inc
}

// notifyStatus is the channels' health for the county workbench
// (GET /api/v1/notify/channels).
type notifyStatus struct{ h *Hub }

func (s notifyStatus) NotifyChannels() any {
	if s.h.notify == nil {
		return []notify.ChannelStatus{}
	}
	return s.h.notify.Status()
}

// outboxSteps is the incident outbox as notify's step source.
type outboxSteps struct {
	box   *alerts.Outbox
	names *notifyNames
}

func (o *outboxSteps) Wake() <-chan struct{} { return o.box.Changed() }

func (o *outboxSteps) Ack(cursor uint64) error { return o.box.SetCursor("notify", cursor) }

func (o *outboxSteps) After(_ context.Context, cursor uint64, max int) ([]notify.Step, error) {
	entries, err := o.box.Read(cursor, max)
	if err != nil {
		return nil, err
	}
	t := o.names.top()
	out := make([]notify.Step, len(entries))
	for i, en := range entries {
		out[i] = stepOf(en, t)
	}
	return out, nil
}

// stepOf flattens an outbox entry: the step's own fields from the
// incident's history, the incident's as they stood after it.
func stepOf(en event.OutboxEntry, t *configs.Topology) notify.Step {
	inc := en.Incident
	s := notify.Step{Seq: en.ID, ID: strconv.FormatUint(en.ID, 10), Incident: inc.ID, Action: en.Action, At: en.At,
		State: inc.State, Severity: inc.Severity, Kind: inc.Kind, Title: inc.Title, Township: inc.Township,
		Village: inc.Village, Source: inc.Source, Deadline: inc.Deadline, Tier: inc.SupervisionTier}
	for i := len(inc.History) - 1; i >= 0 && en.Step != 0; i-- {
		if st := inc.History[i]; st.ID == en.Step {
			s.By, s.Note, s.Rating = st.By, st.Note, st.Rating
			if st.Tier > 0 {
				s.Tier = st.Tier
			}
			if !st.Deadline.IsZero() {
				s.Deadline = st.Deadline
			}
			break
		}
	}
	if a := inc.Assignee; a != nil {
		s.Assignee = a.Name
		if t != nil {
			s.AssigneePhone = t.People[a.ID].Phone
		}
	}
	inc.History = nil // receivers get every step on its own
	s.Data = inc
	return s
}

// notifyNames resolves names and people from the configuration in force.
type notifyNames struct {
	h   *Hub
	mu  sync.Mutex
	cfg *configs.Config
	t   *configs.Topology
	cal *alerts.Calendar
}

func (n *notifyNames) top() *configs.Topology {
	cfg := n.h.cfg.Load()
	n.mu.Lock()
	defer n.mu.Unlock()
	if cfg != n.cfg {
		n.cfg, n.t, n.cal = cfg, configs.NewTopology(cfg), alerts.NewCalendar(cfg.Alerts.Calendar)
	}
	return n.t
}

// working is the county's calendar (alerts.calendar): holidays and 调休 included.
func (n *notifyNames) working(t time.Time) bool {
	n.top()
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cal.Working(t)
}

func (n *notifyNames) Township(id string) string { return n.top().TownshipName[id] }
func (n *notifyNames) Village(id string) string  { return n.top().VillageName[id] }

func (n *notifyNames) person(id string) (notify.Person, bool) {
	p, ok := n.top().People[id]
	return notify.Person{ID: p.ID, Name: p.Name, Phone: p.Phone}, ok
}
