package prefecture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"snowhub/alerts"
	"snowhub/ingest"
	"snowhub/internal/event"
)

// FeedOptions configure an owner hub's feed.
type FeedOptions struct {
	Hub       string
	Prefix    string
	Townships []string
	URL       string               // hub.url, published in the status for views' live video
	Client    func() ingest.Client // the hub's broker session (ingest's); nil before it starts
	Connected func() bool
	// Outbox dates the republished incident states (its last id); its
	// steps reach Deliver through the hub's relay.
	Outbox *alerts.Outbox
	// Open lists the open incidents, to put their retained state back
	// after a (re)connect (a broker that lost its retained messages).
	Open func() []event.Incident
	// Devices lists every owned device's state, for the same reason.
	Devices func() ([]event.CameraStatus, []event.SensorStatus)
	Logger  *slog.Logger
	// PublishTimeout bounds the wait for the broker's PUBACK (10 s).
	PublishTimeout time.Duration
}

// Feed publishes an owner hub's feed: incident steps (Deliver, called by
// the hub's outbox relay "feed", by its own cursor, so a restart resumes
// where the broker last acknowledged and repeats keep their ids), device
// state changes, retained current state and the hub's status.
type Feed struct {
	o   FeedOptions
	t   Topics
	log *slog.Logger

	mu     sync.Mutex
	dirty  map[string]Message // retained topic → newest state not yet published
	wake   chan struct{}
	resync chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// NewFeed builds the feed; Start runs it.
func NewFeed(o FeedOptions) *Feed {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 10 * time.Second
	}
	f := &Feed{o: o, t: Topics{o.Prefix}, log: o.Logger, dirty: map[string]Message{},
		wake: make(chan struct{}, 1), resync: make(chan struct{}, 1)}
	return f
}

// Start runs the device publisher.
func (f *Feed) Start(ctx context.Context) {
	ctx, f.cancel = context.WithCancel(ctx)
	f.done = make(chan struct{})
	go f.runDevices(ctx)
}

// Close stops it (the outbox relay calling Deliver is stopped first), then
// says "offline" with the time: a clean stop sends no last will, and a
// view must not show a stopped hub as live.
func (f *Feed) Close() {
	if f.cancel == nil {
		return
	}
	f.cancel()
	<-f.done
	f.cancel = nil
	if f.o.Connected() {
		b, _ := json.Marshal(Status{Hub: f.o.Hub, State: "offline", At: time.Now().UTC(), Townships: f.o.Townships})
		if err := f.publishWait(f.t.Status(f.o.Hub), true, b, 2*time.Second); err != nil {
			f.log.Warn("offline status not published; the view learns it from the last will only if the session dies", "err", err)
		}
	}
}

// OnConnect runs on each (re)connect of the session: the hub says it is
// online and puts its current state back (retained), in case the broker
// lost it. It must not block paho.
func (f *Feed) OnConnect(c ingest.Client) {
	b, _ := json.Marshal(Status{Hub: f.o.Hub, State: "online", At: time.Now().UTC(), Townships: f.o.Townships, URL: f.o.URL})
	c.Publish(f.t.Status(f.o.Hub), 1, true, b)
	select {
	case f.resync <- struct{}{}:
	default:
	}
}

// Device takes a device state change; it never blocks (changes of one
// device coalesce: the newest state is what is published).
func (f *Feed) Device(ev event.Event) {
	var m Message
	switch d := ev.Data.(type) {
	case event.CameraStatus:
		if ev.Type != event.CameraState {
			return
		}
		m = Message{Hub: f.o.Hub, Kind: KindCamera, At: ev.Time.UTC(), Camera: &d}
		f.mark(f.t.Camera(f.o.Hub, d.ID), m)
	case event.SensorStatus:
		if ev.Type != event.SensorState {
			return
		}
		m = Message{Hub: f.o.Hub, Kind: KindSensor, At: ev.Time.UTC(), Sensor: &d}
		f.mark(f.t.Sensor(f.o.Hub, d.ID), m)
	}
}

func (f *Feed) mark(topic string, m Message) {
	f.mu.Lock()
	if cur, ok := f.dirty[topic]; !ok || !m.At.Before(cur.At) {
		f.dirty[topic] = m
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Deliver publishes one outbox entry: the step on .../events, then the
// incident's retained state (cleared once reviewed). An error makes the
// relay retry the same entry, with the same ids.
func (f *Feed) Deliver(ctx context.Context, en alerts.Entry) error {
	inc := en.Incident
	m := Message{Hub: f.o.Hub, Kind: KindIncident, Seq: en.ID, Step: en.Step, Action: en.Action, At: en.At.UTC(), Incident: &inc}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := f.publish(f.t.Events(f.o.Hub), false, b); err != nil {
		return err
	}
	if inc.State == alerts.StateReviewed {
		b = nil // an empty retained message clears the topic
	}
	return f.publish(f.t.Incident(f.o.Hub, inc.ID), true, b)
}

func (f *Feed) publish(topic string, retained bool, b []byte) error {
	return f.publishWait(topic, retained, b, f.o.PublishTimeout)
}

func (f *Feed) publishWait(topic string, retained bool, b []byte, timeout time.Duration) error {
	c := f.o.Client()
	if c == nil {
		return errors.New("no broker session yet")
	}
	p, ok := c.(ingest.AckPublisher)
	if !ok {
		return fmt.Errorf("publish %s: the session cannot confirm a publish", topic)
	}
	return p.PublishWait(topic, 1, retained, b, timeout)
}

// runDevices publishes device states as they change, and after each
// (re)connect every device and open incident again.
func (f *Feed) runDevices(ctx context.Context) {
	defer close(f.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.resync:
			f.fullState()
		case <-f.wake:
		}
		f.mu.Lock()
		batch := f.dirty
		f.dirty = map[string]Message{}
		f.mu.Unlock()
		var failed error
		for topic, m := range batch {
			if failed == nil {
				b, _ := json.Marshal(m)
				failed = f.publish(topic, true, b)
				if failed == nil {
					failed = f.publish(f.t.Events(f.o.Hub), false, b)
				}
				if failed == nil {
					continue
				}
				f.log.Warn("device state not published; retrying", "topic", topic, "err", failed)
			}
			f.mark(topic, m) // kept for the next round unless a newer state came meanwhile
		}
		if failed != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// fullState queues every device state and republishes the open incidents'
// retained state, stamped with the outbox position read before them: a
// later step has a higher sequence and wins at the view.
func (f *Feed) fullState() {
	if f.o.Devices != nil {
		cams, sensors := f.o.Devices()
		now := time.Now().UTC()
		for i := range cams {
			c := cams[i]
			f.mark(f.t.Camera(f.o.Hub, c.ID), Message{Hub: f.o.Hub, Kind: KindCamera, At: stateAt(c.Since, now), Camera: &c})
		}
		for i := range sensors {
			s := sensors[i]
			f.mark(f.t.Sensor(f.o.Hub, s.ID), Message{Hub: f.o.Hub, Kind: KindSensor, At: stateAt(s.Since, now), Sensor: &s})
		}
	}
	if f.o.Open != nil {
		seq := f.o.Outbox.Last()
		for _, inc := range f.o.Open() {
			b, _ := json.Marshal(Message{Hub: f.o.Hub, Kind: KindIncident, Seq: seq, At: time.Now().UTC(), Incident: &inc})
			if err := f.publish(f.t.Incident(f.o.Hub, inc.ID), true, b); err != nil {
				f.log.Warn("incident state not republished", "incident", inc.ID, "err", err)
				return
			}
		}
	}
}

// stateAt dates a state for "newest wins": its since, never the zero time.
func stateAt(since, now time.Time) time.Time {
	if since.IsZero() {
		return now
	}
	return since.UTC()
}
