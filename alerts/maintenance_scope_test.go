package alerts

import (
	"context"
	"errors"
	"testing"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Maintenance windows are scoped like devices, bounded in length below the
// county, and alarm sensors are silenced by the county only. Before, every
// township read every other's windows, and a township silenced its own
// smoke sensor until 9999.
func TestMaintenanceScopedAndBounded(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	year9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

	tests := []struct {
		name string
		who  string
		m    event.Maintenance
		want error // nil, ErrBadRequest or ErrForbidden
	}{
		{"township, own camera, a day", "zhaoren", event.Maintenance{Device: "cam-1", Until: t0.Add(24 * time.Hour)}, nil},
		{"township, own camera, until 9999", "zhaoren", event.Maintenance{Device: "cam-1", Until: year9999}, event.ErrBadRequest},
		{"township, 8 days", "zhaoren", event.Maintenance{Device: "cam-1", Until: t0.Add(8 * 24 * time.Hour)}, event.ErrBadRequest},
		{"township, from long ago", "zhaoren", event.Maintenance{Device: "cam-1", From: t0.Add(-30 * 24 * time.Hour), Until: t0.Add(time.Hour)}, event.ErrBadRequest},
		{"township, own smoke sensor", "zhaoren", event.Maintenance{Device: "smoke-1", Until: t0.Add(time.Hour)}, event.ErrForbidden},
		{"technician, smoke sensor", "tech", event.Maintenance{Device: "smoke-1", Until: t0.Add(time.Hour)}, event.ErrForbidden},
		{"technician, 8 days", "tech", event.Maintenance{Device: "cam-1", Until: t0.Add(8 * 24 * time.Hour)}, event.ErrBadRequest},
		{"county, smoke sensor, 30 days", "ops", event.Maintenance{Device: "smoke-x", Until: t0.Add(30 * 24 * time.Hour)}, nil},
		{"county, until 9999", "ops", event.Maintenance{Device: "cam-1", Until: year9999}, event.ErrBadRequest},
		{"township, other township's camera", "xiang", event.Maintenance{Device: "cam-1", Until: t0.Add(time.Hour)}, event.ErrForbidden},
		{"township, own village (alarms stay watched)", "zhaoren", event.Maintenance{Village: "v-zr-01", Until: t0.Add(time.Hour)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := map[string]auth.Principal{"zhaoren": zhaoren, "xiang": xiang, "tech": tech, "ops": ops}[tt.who]
			_, err := e.SetMaintenance(ctx, pr, tt.m)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	// The village window silences the village's cameras, not its smoke sensor.
	at := t0.Add(time.Minute)
	if !e.InMaintenance("cam-key", at) || e.InMaintenance("smoke-1", at) {
		t.Fatalf("village window: cam-key %v, smoke-1 %v", e.InMaintenance("cam-key", at), e.InMaintenance("smoke-1", at))
	}
	// Each township sees its own windows only; the county and technicians all.
	for _, c := range []struct {
		p    auth.Principal
		want map[string]bool
	}{
		{zhaoren, map[string]bool{"cam-1": true, "v-zr-01": true}},
		{xiang, map[string]bool{"smoke-x": true}},
		{ops, map[string]bool{"cam-1": true, "v-zr-01": true, "smoke-x": true}},
		{tech, map[string]bool{"cam-1": true, "v-zr-01": true, "smoke-x": true}},
	} {
		got := map[string]bool{}
		for _, m := range e.MaintenanceFor(c.p, t0) {
			got[m.Device+m.Village] = true
		}
		if len(got) != len(c.want) {
			t.Errorf("%s sees %v, want %v", c.p.Name, got, c.want)
		}
		for k := range c.want {
			if !got[k] {
				t.Errorf("%s does not see %s (sees %v)", c.p.Name, k, got)
			}
		}
	}
}
