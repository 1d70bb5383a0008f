// Benchmarks of the incident engine: events through the default rules with
// 10,000 devices, and an alert storm of 2,000 cameras in 60 villages.
//
//	GOMAXPROCS=1 go test -run '^$' -bench . ./bench/alerts
package alerts_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"snowhub/alerts"
	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// county builds villages × per-village cameras and sensors.
func county(b *testing.B, villages, cams, sensors int) *configs.Config {
	b.Helper()
	var y strings.Builder
	y.WriteString("county: {id: c, name: C}\ntownships:\n")
	for t := 0; t < 6; t++ {
		fmt.Fprintf(&y, "  - id: t%d\n    name: T%d\n    villages:\n", t, t)
		for v := t; v < villages; v += 6 {
			fmt.Fprintf(&y, "      - {id: v%03d, name: V%d}\n", v, v)
		}
	}
	y.WriteString("cameras:\n")
	for v := 0; v < villages; v++ {
		for c := 0; c < cams; c++ {
			fmt.Fprintf(&y, "  - {id: cam-%03d-%03d, village: v%03d, url: \"rtsp://10.0.0.1/x\"}\n", v, c, v)
		}
	}
	y.WriteString("sensors:\n")
	kinds := []string{"smoke", "water_level", "door", "temperature", "panic"}
	for v := 0; v < villages; v++ {
		for s := 0; s < sensors; s++ {
			fmt.Fprintf(&y, "  - {id: s-%03d-%03d, kind: %s, village: v%03d}\n", v, s, kinds[s%len(kinds)], v)
		}
	}
	y.WriteString("users:\n  - {name: ops, role: operator, token: ops-token-0123456789}\n")
	cfg, err := configs.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

type counter struct {
	mu    sync.Mutex
	first time.Time
	last  time.Time
	n     int
}

func (c *counter) Publish(_ context.Context, ev event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.first.IsZero() {
		c.first = now
	}
	c.last = now
	c.n++
	return nil
}

// BenchmarkRuleEngine feeds normal readings and camera states of 10,000
// devices through the default rules (nothing fires: the steady state).
func BenchmarkRuleEngine(b *testing.B) {
	cfg := county(b, 100, 50, 50) // 5,000 cameras + 5,000 sensors
	e, err := alerts.New(alerts.Options{Config: cfg, DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	evs := make([]event.Event, 0, 10000)
	now := time.Now()
	for _, s := range cfg.Sensors {
		evs = append(evs, event.Event{Type: event.SensorReading, Time: now, Data: event.SensorReadingData{Sensor: s.ID, Value: 0.5}})
	}
	for _, c := range cfg.Cameras {
		evs = append(evs, event.Event{Type: event.CameraState, Time: now, Data: event.CameraStatus{ID: c.ID, State: "online"}})
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		e.Evaluate(ctx, evs[i%len(evs)])
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkAlarmToIncident measures an alarm's path to a stored incident:
// rule, incident, bbolt commit (fsync), emit.
func BenchmarkAlarmToIncident(b *testing.B) {
	cfg := county(b, 100, 1, 100)
	e, err := alerts.New(alerts.Options{Config: cfg, DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := cfg.Sensors[(i*5)%len(cfg.Sensors)].ID // smoke sensors
		t0 := time.Now()
		e.Evaluate(ctx, event.Event{Type: event.SensorReading, Time: t0, Data: event.SensorReadingData{Sensor: id, Value: 1}})
		lat = append(lat, time.Since(t0))
		e.Evaluate(ctx, event.Event{Type: event.SensorReading, Time: t0, Data: event.SensorReadingData{Sensor: id, Value: 0}})
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkAlertStorm: 2,000 cameras across 60 villages go offline within
// 10 s (event times spread over 10 s, fed as fast as they come).
func BenchmarkAlertStorm(b *testing.B) {
	cfg := county(b, 60, 34, 0) // 2,040 cameras
	for i := 0; i < b.N; i++ {
		c := &counter{}
		e, err := alerts.New(alerts.Options{Config: cfg, DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		e.Start(ctx)
		r := alerts.NewRelay(e.Outbox(), "emit", slog.New(slog.DiscardHandler), func(ctx context.Context, en alerts.Entry) error {
			return c.Publish(ctx, alerts.StepEvent(en))
		})
		r.Start(ctx) // the outbox relay delivers to the counter
		base := time.Now()
		start := time.Now()
		for j, cam := range cfg.Cameras[:2000] {
			at := base.Add(time.Duration(j) * 5 * time.Millisecond)
			e.Evaluate(ctx, event.Event{Type: event.CameraState, Time: at, Data: event.CameraStatus{ID: cam.ID, State: "offline"}})
		}
		e.Tick(ctx, base.Add(time.Hour)) // the offline rules come due: grouping
		for n := -1; ; {                 // until the relay has delivered every step
			time.Sleep(20 * time.Millisecond)
			c.mu.Lock()
			m := c.n
			c.mu.Unlock()
			if m == n {
				break
			}
			n = m
		}
		open := e.List(auth.Principal{Name: "ops", Role: auth.RoleOperator}, event.IncidentFilter{State: "open"})
		b.ReportMetric(float64(len(open)), "incidents")
		b.ReportMetric(float64(c.first.Sub(start).Microseconds())/1000, "first-ms")
		b.ReportMetric(float64(c.last.Sub(start).Microseconds())/1000, "last-step-ms")
		r.Close()
		e.Close()
	}
}
