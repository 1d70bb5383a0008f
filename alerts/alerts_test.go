package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type emitted struct {
	mu  sync.Mutex
	evs []event.Incident
}

func (e *emitted) Publish(_ context.Context, ev event.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev.Data.(event.Incident))
	return nil
}

func (e *emitted) count() int { e.mu.Lock(); defer e.mu.Unlock(); return len(e.evs) }

func ptr[T any](v T) *T { return &v }

func testConfig(t *testing.T, extra string) *configs.Config {
	t.Helper()
	y := `county: {id: c, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: 东街社区, grids: [{id: g-zr-01-1, name: 东街一网格}]}
      - {id: v-zr-02, name: 西街社区}
  - id: xiangong
    name: 相公镇
    villages:
      - {id: v-xg-01, name: 相公村}
cameras:
  - {id: cam-key, village: v-zr-01, url: "rtsp://10.0.0.1/a", key: true}
  - {id: cam-1, village: v-zr-01, url: "rtsp://10.0.0.2/a"}
`
	for i := 0; i < 30; i++ {
		y += fmt.Sprintf("  - {id: cam-v2-%02d, village: v-zr-02, url: \"rtsp://10.0.1.%d/a\"}\n", i, i+1)
	}
	y += `sensors:
  - {id: smoke-1, name: 超市烟感, kind: smoke, village: v-zr-01, camera: cam-1}
  - {id: smoke-x, kind: smoke, village: v-xg-01}
  - {id: water-1, kind: water_level, village: v-zr-01}
  - {id: door-1, kind: door, village: v-zr-01}
people:
  - {id: p-wang, name: 王网格员, role: grid_worker, village: v-zr-01, grid: g-zr-01-1, phone: "13800000000"}
  - {id: p-li, name: 李干部, role: cadre, township: zhaoren}
  - {id: p-xg, name: 相公网格员, role: grid_worker, village: v-xg-01}
departments:
  - {id: power, name: 供电所, kinds: [power]}
  - {id: water, name: 水利站}
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
` + extra
	c, err := configs.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newEngine(t *testing.T, cfg *configs.Config, dir string, clk *clock) (*Engine, *emitted) {
	t.Helper()
	em := &emitted{}
	e, err := New(Options{Config: cfg, DataDir: dir, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, em
}

var (
	ops     = auth.Principal{Name: "ops", Role: auth.RoleOperator}
	zhaoren = auth.Principal{Name: "zr-desk", Role: auth.RoleTownship, Township: "zhaoren"}
	xiang   = auth.Principal{Name: "xg-desk", Role: auth.RoleTownship, Township: "xiangong"}
	tech    = auth.Principal{Name: "tech", Role: auth.RoleTechnician}
)

func reading(id string, v float64, at time.Time) event.Event {
	return event.Event{Type: event.SensorReading, Time: at, Device: id, Data: event.SensorReadingData{Sensor: id, Value: v}}
}

func camState(id, state string, at time.Time) event.Event {
	return event.Event{Type: event.CameraState, Time: at, Device: id, Data: event.CameraStatus{ID: id, State: state}}
}

func open(e *Engine) []event.Incident { return e.List(ops, event.IncidentFilter{State: "open"}) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSmokeAlarmLifecycle(t *testing.T) {
	clk := &clock{t: t0}
	e, em := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	e.Start(ctx)
	r := NewRelay(e.Outbox(), "emit", slog.New(slog.DiscardHandler), func(ctx context.Context, en Entry) error {
		return em.Publish(ctx, StepEvent(en))
	})
	r.Start(ctx)
	defer r.Close()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	inc := open(e)
	if len(inc) != 1 {
		t.Fatalf("incidents = %d", len(inc))
	}
	i := inc[0]
	if i.Severity != "critical" || i.State != StateDispatched || i.Owner != "zhaoren" || i.Level != LevelTownship ||
		!i.Deadline.Equal(t0.Add(5*time.Minute)) || i.Title != "东街社区 超市烟感 烟雾报警" || len(i.Cameras) != 1 || i.Cameras[0] != "cam-1" {
		t.Fatalf("incident = %+v", i)
	}
	// The same alarm again updates it; clearing marks it, and it stays open.
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0.Add(time.Second))))
	must(t, e.Evaluate(ctx, reading("smoke-1", 0, t0.Add(2*time.Second))))
	if inc = open(e); len(inc) != 1 || inc[0].Count != 2 || !inc[0].Cleared {
		t.Fatalf("after repeat and clear: %+v", inc)
	}
	steps := []struct {
		who    auth.Principal
		action string
		req    event.ActionRequest
		state  string
	}{
		{zhaoren, "accept", event.ActionRequest{Note: "on my way"}, StateAccepted},
		{zhaoren, "resolve", event.ActionRequest{Note: "burnt toast, no fire", NoVisitReason: "电话核实，无需到场"}, StateResolved},
		{ops, "evaluate", event.ActionRequest{Rating: "satisfied"}, StateEvaluated},
		{ops, "review", event.ActionRequest{Note: "closed in time", Score: ptr(95)}, StateReviewed},
	}
	for _, s := range steps {
		clk.add(time.Minute)
		got, err := e.Act(ctx, s.who, i.ID, s.action, s.req)
		if err != nil || got.State != s.state {
			t.Fatalf("%s: %+v %v", s.action, got.State, err)
		}
	}
	got, _ := e.Get(ops, i.ID)
	var actions []string
	for _, s := range got.History {
		actions = append(actions, s.Action)
	}
	if fmt.Sprint(actions) != "[open dispatch clear accept resolve evaluate review]" || got.Rating != "satisfied" {
		t.Fatalf("history = %v", actions)
	}
	if len(open(e)) != 0 {
		t.Fatal("reviewed incident still open")
	}
	// Every committed step reaches the sink through the outbox, in order.
	deadline := time.Now().Add(5 * time.Second)
	for em.count() < 8 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := em.count(); n != 8 { // open, dispatch, the repeat (update), clear, accept, resolve, evaluate, review
		t.Fatalf("emitted %d steps, want 8", n)
	}
	// A new alarm after the matter was closed is a new incident.
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, clk.now())))
	if inc := open(e); len(inc) != 1 || inc[0].ID == i.ID {
		t.Fatalf("new alarm after review: %+v", inc)
	}
}

func TestRules(t *testing.T) {
	extra := `alerts:
  rules:
    - {name: door-night, type: rate, kinds: [door], count: 3, within: 1m, severity: minor}
    - {name: low-water, type: threshold, kinds: [water_level], below: 0.2, severity: minor}
`
	tests := []struct {
		name   string
		events func(at func(time.Duration) time.Time) []event.Event
		tick   time.Duration // Tick at t0 + tick, if set
		want   string        // rule of the one open incident, "" for none
	}{
		{"threshold holds for 30 s, fires at the time without another reading",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{reading("water-1", 3.5, at(0))}
			}, 30 * time.Second, "water-high"},
		{"threshold not held long enough",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{reading("water-1", 3.5, at(0)), reading("water-1", 2.0, at(10*time.Second))}
			}, time.Minute, ""},
		{"threshold below, immediate",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{reading("water-1", 0.1, at(0))}
			}, 0, "low-water"},
		{"rate: 3 door events within a minute",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{reading("door-1", 1, at(0)), reading("door-1", 1, at(20*time.Second)), reading("door-1", 1, at(50*time.Second))}
			}, 0, "door-night"},
		{"rate: spread out",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{reading("door-1", 1, at(0)), reading("door-1", 1, at(40*time.Second)), reading("door-1", 1, at(90*time.Second))}
			}, 0, ""},
		{"camera offline for 2 min",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{camState("cam-1", "offline", at(0))}
			}, 2 * time.Minute, "camera-offline"},
		{"camera back within 2 min",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{camState("cam-1", "offline", at(0)), camState("cam-1", "online", at(time.Minute))}
			}, 3 * time.Minute, ""},
		{"key crossing: offline 1 min is enough",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{camState("cam-key", "offline", at(0))}
			}, time.Minute, "camera-offline"},
		{"camera tamper event",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{{Type: event.CameraEvent, Time: at(0), Data: event.CameraAnalytics{Camera: "cam-1", Kind: "tamper"}}}
			}, 0, "camera-tamper"},
		{"camera degraded 10 min",
			func(at func(time.Duration) time.Time) []event.Event {
				return []event.Event{camState("cam-1", "degraded", at(0))}
			}, 10 * time.Minute, "camera-degraded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: t0}
			e, _ := newEngine(t, testConfig(t, extra), t.TempDir(), clk)
			ctx := context.Background()
			for _, ev := range tt.events(func(d time.Duration) time.Time { return t0.Add(d) }) {
				must(t, e.Evaluate(ctx, ev))
			}
			if tt.tick > 0 {
				e.Tick(ctx, t0.Add(tt.tick-time.Nanosecond))
				if tt.want != "" && len(open(e)) != 0 {
					t.Fatalf("fired before its time: %+v", open(e))
				}
				e.Tick(ctx, t0.Add(tt.tick))
			}
			inc := open(e)
			switch {
			case tt.want == "" && len(inc) != 0:
				t.Fatalf("want no incident, got %s", inc[0].Rule)
			case tt.want != "" && (len(inc) != 1 || inc[0].Rule != tt.want):
				t.Fatalf("want one %s incident, got %+v", tt.want, inc)
			}
		})
	}
}

// 30 cameras of one village go down within 20 s: one village outage, not
// 30; when they are back it clears.
func TestVillageOutageGroupsDevices(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		must(t, e.Evaluate(ctx, camState(fmt.Sprintf("cam-v2-%02d", i), "offline", t0.Add(time.Duration(i)*666*time.Millisecond))))
	}
	e.Tick(ctx, t0.Add(time.Hour))
	inc := open(e)
	if len(inc) != 1 || inc[0].Kind != "village_outage" || len(inc[0].Devices) != 30 || inc[0].Village != "v-zr-02" || inc[0].Owner != "zhaoren" {
		t.Fatalf("incidents = %d: %+v", len(inc), inc)
	}
	for i := 0; i < 30; i++ {
		must(t, e.Evaluate(ctx, camState(fmt.Sprintf("cam-v2-%02d", i), "online", t0.Add(2*time.Hour))))
	}
	if inc = open(e); len(inc) != 1 || !inc[0].Cleared {
		t.Fatalf("after recovery: %+v", inc)
	}
}

func TestMaintenanceSuppresses(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	if _, err := e.SetMaintenance(ctx, tech, event.Maintenance{Device: "cam-1", Until: t0.Add(time.Hour), Note: "new lens"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SetMaintenance(ctx, xiang, event.Maintenance{Device: "cam-1", Until: t0.Add(time.Hour)}); !errors.Is(err, event.ErrForbidden) {
		t.Fatalf("other township's maintenance: %v", err)
	}
	must(t, e.Evaluate(ctx, camState("cam-1", "offline", t0)))
	e.Tick(ctx, t0.Add(10*time.Minute))
	if inc := open(e); len(inc) != 0 {
		t.Fatalf("incident during maintenance: %+v", inc)
	}
	if !e.InMaintenance("cam-1", t0.Add(time.Minute)) || e.InMaintenance("cam-1", t0.Add(2*time.Hour)) {
		t.Fatal("InMaintenance wrong")
	}
}

func TestRestartKeepsIncidentsAndTimers(t *testing.T) {
	clk := &clock{t: t0}
	dir := t.TempDir()
	cfg := testConfig(t, "")
	e, _ := newEngine(t, cfg, dir, clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))
	id := open(e)[0].ID
	if _, err := e.Act(ctx, zhaoren, id, "accept", event.ActionRequest{Note: "ok"}); err != nil {
		t.Fatal(err)
	}
	must(t, e.Close())

	e2, _ := newEngine(t, cfg, dir, clk)
	inc := open(e2)
	if len(inc) != 1 || inc[0].ID != id || inc[0].State != StateAccepted || len(inc[0].History) != 3 {
		t.Fatalf("after restart: %+v", inc)
	}
	// The resolve deadline (2 h) still fires after the restart.
	e2.Tick(ctx, t0.Add(2*time.Hour))
	if i, _ := e2.Get(ops, id); !i.Overdue {
		t.Fatalf("deadline lost across restart: %+v", i)
	}
	// A new incident does not reuse an id.
	must(t, e2.Evaluate(ctx, reading("smoke-x", 1, t0)))
	if ids := e2.List(ops, event.IncidentFilter{}); len(ids) != 2 || ids[0].ID == ids[1].ID {
		t.Fatalf("ids: %+v", ids)
	}
	if a, err := e2.Audit(ops, time.Time{}, 10); err != nil || len(a) != 1 || a[0].Action != "accept" || a[0].User != "zr-desk" {
		t.Fatalf("audit = %+v %v", a, err)
	}
}
