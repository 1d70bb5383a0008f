package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"snowhub/alerts"
	"snowhub/camera"
	"snowhub/internal/event"
)

// Every road between the components is in this file:
//
//   - devices: MQTT ingest and the cameras → publishDevice: the time series
//     spool (durable) → the rule engine → the walls → a prefecture owner's
//     feed → notify's MQTT out for devices;
//   - camera events: the camera workers → one ordered queue
//     (onCameraTransition, onCameraSample) → publishCameraEvents →
//     publishDevice;
//   - incidents: the engine commits each step to its outbox; the outbox's
//     consumers read it, each by its own cursor, in order, at least once,
//     resumed after a restart:
//   - "emit": an alerts.Relay → publishIncident: the time series and the walls;
//   - "feed": an alerts.Relay → the prefecture feed's Deliver (an owner hub);
//   - "notify": the notifier's router, whose cursor is kept in notify.db in
//     the same transaction as the notices it queues (so a restart queues
//     none twice) and mirrored into the outbox's cursors (notify.go).
//
// A view's incidents and devices from the other hubs reach the walls
// through the view's Emit (prefecture.go).

// outboxConsumers are the outbox's relays the hub runs (notify reads it
// through its own router).
type outboxConsumers struct {
	emit *alerts.Relay
	feed *alerts.Relay // nil but on an owner hub of a prefecture
}

// consumer builds the relay of the outbox to the consumer name; it is
// closed before what it delivers to (cleanups run in reverse).
func (h *Hub) consumer(name string, deliver func(context.Context, alerts.Entry) error) *alerts.Relay {
	r := alerts.NewRelay(h.alerts.Outbox(), name, h.log.With("component", "outbox"), deliver)
	h.defer_(r.Close)
	return r
}

// emitStep carries a committed step to the time series and the walls.
func (h *Hub) emitStep(ctx context.Context, en alerts.Entry) error {
	return h.publishIncident(ctx, alerts.StepEvent(en))
}

// publishDevice is the event stream for device events: the time series
// spool first (durable), then the rule engine (which commits any incident it
// opens), then the walls. It returns once the event is durable, so MQTT can
// acknowledge after it.
func (h *Hub) publishDevice(ctx context.Context, ev event.Event) error {
	if err := h.ts.Record(ctx, ev); err != nil {
		h.metrics.publishErrors.WithLabelValues("timeseries").Inc()
		return fmt.Errorf("time series: %w", err)
	}
	if ev.Type != event.CameraSample {
		if err := h.alerts.Evaluate(ctx, ev); err != nil {
			h.metrics.publishErrors.WithLabelValues("alerts").Inc()
			return fmt.Errorf("incidents: %w", err)
		}
	}
	_ = h.dash.Publish(ctx, ev)
	h.feedDevice(ev)   // a prefecture hub's feed (prefecture.go)
	h.notifyDevice(ev) // MQTT out for devices (notify.go)
	return nil
}

// publishIncident carries incident steps from the outbox to the time
// series and the walls.
func (h *Hub) publishIncident(ctx context.Context, ev event.Event) error {
	if err := h.ts.Record(ctx, ev); err != nil {
		h.metrics.publishErrors.WithLabelValues("timeseries").Inc()
		h.log.Error("incident step not written to the time series spool", "err", err)
	}
	_ = h.dash.Publish(ctx, ev)
	return nil
}

func (h *Hub) onCameraTransition(t camera.Transition) {
	h.down.transition(t.ID, t.To, t.At)
	ev := h.cameraEvent(event.CameraState, t.Status, t.At)
	st := ev.Data.(event.CameraStatus)
	st.Prev, st.Cause = deviceState(t.From), t.Cause
	ev.Data = st
	// A transition is never dropped: wait for room (back-pressure on that
	// camera's worker) unless the hub is stopping.
	select {
	case h.camEvents <- ev:
	case <-h.prodCtx.Done():
	}
}

func (h *Hub) onCameraSample(s camera.Status) {
	if h.prodCtx.Err() != nil {
		return
	}
	select {
	case h.camEvents <- h.cameraEvent(event.CameraSample, s, time.Now()):
	default:
		h.metrics.camSamplesDropped.Inc()
	}
}

func (h *Hub) publishCameraEvents() {
	defer h.wg.Done()
	publish := func(ev event.Event) {
		if err := h.publishDevice(h.ctx, ev); err != nil && !errors.Is(err, context.Canceled) {
			h.log.Error("camera event not recorded", "camera", ev.Device, "type", ev.Type, "err", err)
		}
	}
	for {
		select {
		case ev := <-h.camEvents:
			publish(ev)
		case <-h.camStop:
			for { // what the producers queued before they were cancelled
				select {
				case ev := <-h.camEvents:
					publish(ev)
				default:
					return
				}
			}
		}
	}
}

func (h *Hub) cameraEvent(typ event.Type, s camera.Status, at time.Time) event.Event {
	st := h.gbPlaced(h.topo().cameraStatus(s))
	st.DownSince = h.down.of(s.ID, s.State, s.Since)
	return event.Event{Type: typ, Time: at, Township: st.Township, Village: st.Village, Device: s.ID, Data: st}
}

// feedDevice hands a device state change to the feed.
func (h *Hub) feedDevice(ev event.Event) {
	if h.pref.feed != nil && (ev.Type == event.CameraState || ev.Type == event.SensorState) {
		h.pref.feed.Device(ev)
	}
}

// notifyDevice sends camera and sensor state changes to MQTT out.
func (h *Hub) notifyDevice(ev event.Event) {
	if h.notify == nil || (ev.Type != event.CameraState && ev.Type != event.SensorState) {
		return
	}
	body, err := json.Marshal(ev.Data)
	if err != nil {
		return
	}
	h.notify.PublishDevice(h.ctx, ev.Device, body)
}
