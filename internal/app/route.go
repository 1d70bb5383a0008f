package app

import (
	"context"
	"fmt"

	"snowhub/internal/event"
)

// Event routing between the components: devices → time series → rules →
// walls; committed incident steps come back out of the incident outbox
// (alerts.Relay, in order, at least once, resumed from its cursor after a
// restart) → time series → walls; and, by notify's own cursor, to the
// notifier (WeCom, DingTalk, SMS, webhooks, MQTT out; notify.go).

// publishDevice is the event stream for device events: the time series
// spool first (durable), then the rule engine (which commits any incident it
// opens), then the walls. It returns once the event is durable, so MQTT can
// acknowledge after it.
func (h *Hub) publishDevice(ctx context.Context, ev event.Event) error {
	if err := h.ts.Handle(ctx, ev); err != nil {
		h.metrics.publishErrors.WithLabelValues("timeseries").Inc()
		return fmt.Errorf("time series: %w", err)
	}
	if ev.Type != event.CameraSample {
		if err := h.alerts.Handle(ctx, ev); err != nil {
			h.metrics.publishErrors.WithLabelValues("alerts").Inc()
			return fmt.Errorf("incidents: %w", err)
		}
	}
	_ = h.dash.Handle(ctx, ev)
	h.feedDevice(ev)   // a prefecture hub's feed (federation.go)
	h.notifyDevice(ev) // MQTT out for devices (notify.go)
	return nil
}

// publishIncident carries incident steps from the rule engine to the time
// series and the walls.
func (h *Hub) publishIncident(ctx context.Context, ev event.Event) error {
	if err := h.ts.Handle(ctx, ev); err != nil {
		h.metrics.publishErrors.WithLabelValues("timeseries").Inc()
		h.log.Error("incident step not written to the time series spool", "err", err)
	}
	_ = h.dash.Handle(ctx, ev)
	return nil
}
