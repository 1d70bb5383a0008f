package alerts

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"snowhub/internal/event"
)

// TestWriteV1Store wrote testdata/incidents-v1.db with the code of the
// store's first format (before late_steps, outbox and supervision), so the
// upgrade test loads what a county's disk holds today. Run it again only to
// rebuild that file from the commit that introduced it:
//
//	SNOWHUB_WRITE_V1_STORE=1 go test -run TestWriteV1Store ./alerts
func TestWriteV1Store(t *testing.T) {
	if os.Getenv("SNOWHUB_WRITE_V1_STORE") == "" {
		t.Skip("writes testdata; set SNOWHUB_WRITE_V1_STORE=1")
	}
	dir := t.TempDir()
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), dir, clk)
	ctx := context.Background()
	step := func(id, action string, req event.ActionRequest) {
		t.Helper()
		if _, err := e.Act(ctx, ops, id, action, req); err != nil {
			t.Fatalf("%s %s: %v", id, action, err)
		}
	}
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0)))                     // 1: reviewed
	must(t, e.Evaluate(ctx, reading("smoke-x", 1, t0.Add(time.Second))))    // 2: held
	must(t, e.Evaluate(ctx, reading("door-1", 1, t0.Add(2*time.Second))))   // no rule: nothing
	must(t, e.Evaluate(ctx, reading("water-1", 5, t0.Add(3*time.Second))))  // pending
	must(t, e.Evaluate(ctx, reading("water-1", 5, t0.Add(40*time.Second)))) // 3: water-high, accepted
	for i := 0; i < 4; i++ {                                                // 4: village outage
		must(t, e.Evaluate(ctx, camState(cameraID(i), event.StateOffline, t0.Add(50*time.Second))))
	}
	inc := e.List(ops, event.IncidentFilter{})
	byDev := map[string]string{}
	for _, x := range inc {
		byDev[x.Device+"|"+x.Kind] = x.ID
	}
	smoke, smokeX, water := byDev["smoke-1|smoke"], byDev["smoke-x|smoke"], byDev["water-1|water_level"]
	clk.add(time.Minute)
	step(smoke, "accept", event.ActionRequest{Note: "到场"})
	step(smoke, "resolve", event.ActionRequest{Note: "误报，已复位", NoVisitReason: "电话核实，无需到场"})
	step(smoke, "evaluate", event.ActionRequest{Rating: "satisfied", Note: "回访满意"})
	score := 92
	step(smoke, "review", event.ActionRequest{Score: &score, Note: "及时"})
	step(smokeX, "hold", event.ActionRequest{Reason: "等待供电所"})
	step(water, "accept", event.ActionRequest{Note: "已派人"})
	clk.add(2 * time.Hour)
	e.Tick(ctx, clk.now()) // water's resolve deadline (24h) not yet; the outage's accept (30m) passes: escalated
	if _, err := e.SetMaintenance(ctx, ops, event.Maintenance{Device: "cam-1", From: t0, Until: t0.Add(72 * time.Hour), Note: "换杆"}); err != nil {
		t.Fatal(err)
	}
	must(t, e.Close())
	b, err := os.ReadFile(filepath.Join(dir, "incidents.db"))
	must(t, err)
	must(t, os.WriteFile("testdata/incidents-v1.db", b, 0o644))
}

func cameraID(i int) string { return "cam-v2-" + string(rune('0'+i/10)) + string(rune('0'+i%10)) }
