package alerts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// countyConfig: two townships, five villages of two cameras each, every
// camera on its own address; extra goes under alerts.county_outage.
func countyConfig(t *testing.T, extra string) *configs.Config {
	t.Helper()
	y := "county: {id: c, name: 长武县}\ntownships:\n  - id: zhaoren\n    name: 昭仁街道\n    villages:\n" +
		"      - {id: v1, name: 东街社区}\n      - {id: v2, name: 西街社区}\n      - {id: v3, name: 南街社区}\n" +
		"  - id: xiangong\n    name: 相公镇\n    villages:\n      - {id: v4, name: 相公村}\n      - {id: v5, name: 宇家村}\ncameras:\n"
	for v := 1; v <= 5; v++ {
		for _, c := range []string{"a", "b"} {
			y += fmt.Sprintf("  - {id: cam-v%d-%s, village: v%d, url: \"rtsp://10.0.%d.%d/a\"}\n", v, c, v, v, len(c)+int(c[0]))
		}
	}
	y += "users:\n  - {name: ops, role: operator, token: ops-token-0123456789}\nalerts:\n  county_outage:\n" + extra
	c, err := configs.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Cameras of four villages go down within 20 s: one county outage for the
// technicians naming the villages, not four village outages; the figures
// count it as the technicians'. Three villages come back: after the settle
// time the fourth, still down, gets its village outage; when it is back
// too, the county outage is cleared.
func TestCountyOutageOneIncident(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, countyConfig(t, "    settle: 5m\n"), t.TempDir(), clk)
	ctx := context.Background()
	i := 0
	for v := 1; v <= 4; v++ {
		for _, c := range []string{"a", "b"} {
			must(t, e.Evaluate(ctx, camState(fmt.Sprintf("cam-v%d-%s", v, c), "offline", t0.Add(time.Duration(i)*2*time.Second))))
			i++
		}
	}
	for _, at := range []time.Duration{2 * time.Minute, 2*time.Minute + 10*time.Second, 3 * time.Minute, 10 * time.Minute} {
		clk.set(t0.Add(at))
		e.Tick(ctx, t0.Add(at))
	}
	inc := open(e)
	if len(inc) != 1 || inc[0].Kind != KindCountyOutage {
		for _, x := range inc {
			t.Logf("open: %s %s %v", x.Kind, x.Title, x.Devices)
		}
		t.Fatalf("%d incidents open, want one county outage", len(inc))
	}
	co := inc[0]
	if len(co.Devices) != 8 || co.Owner != auth.Technicians || co.Level != LevelCounty || co.Township != "" {
		t.Fatalf("county outage: devices %v owner %q level %q township %q", co.Devices, co.Owner, co.Level, co.Township)
	}
	for _, name := range []string{"东街社区", "西街社区", "南街社区"} {
		if !strings.Contains(co.Title, name) {
			t.Errorf("title %q does not name %s", co.Title, name)
		}
	}
	if !strings.Contains(co.Title, "4 个村") || !strings.Contains(co.Title, "疑为") {
		t.Errorf("title %q does not say how many villages and the likely cause", co.Title)
	}
	if !strings.Contains(co.History[0].Note, "相公村") {
		t.Errorf("the open step's note %q does not name every village", co.History[0].Note)
	}
	if acts := e.Actions(tech, co); !slices.Contains(acts, "accept") {
		t.Errorf("the technicians may not accept their outage: %v", acts)
	}
	if n := len(e.List(zhaoren, event.IncidentFilter{State: "all"})); n != 0 {
		t.Errorf("the township desk sees %d incidents, want none of the county outage", n)
	}
	rows, err := e.Stats(ops, t0.Add(-time.Hour), t0.Add(time.Hour), "township")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Key != auth.Technicians || rows[0].Opened != 1 {
		t.Fatalf("figures by township: %+v, want one opened in the technicians' row", rows)
	}

	// Three villages back at 10 min; v4 stays down.
	for v := 1; v <= 3; v++ {
		for _, c := range []string{"a", "b"} {
			must(t, e.Evaluate(ctx, camState(fmt.Sprintf("cam-v%d-%s", v, c), "online", t0.Add(10*time.Minute))))
		}
	}
	e.Tick(ctx, t0.Add(15*time.Minute-time.Nanosecond))
	if inc := open(e); len(inc) != 1 {
		t.Fatalf("before the settle time: %d incidents open, want the county outage only", len(inc))
	}
	e.Tick(ctx, t0.Add(15*time.Minute))
	var village []string
	for _, x := range open(e) {
		if x.Kind == "village_outage" {
			village = append(village, x.Village)
			if x.Owner != "xiangong" || len(x.Devices) != 2 {
				t.Errorf("v4's outage: owner %q devices %v", x.Owner, x.Devices)
			}
		}
	}
	if !slices.Equal(village, []string{"v4"}) || len(open(e)) != 2 {
		t.Fatalf("after the settle time: village outages of %v among %d open, want v4's beside the county outage", village, len(open(e)))
	}
	for _, c := range []string{"a", "b"} {
		must(t, e.Evaluate(ctx, camState("cam-v4-"+c, "online", t0.Add(20*time.Minute))))
	}
	for _, x := range open(e) {
		if !x.Cleared {
			t.Errorf("%s %s not cleared with every camera back", x.Kind, x.ID)
		}
	}
}

// Every device behind a configured NVR goes down together, in two
// villages whose other cameras stay up: one county outage naming the NVR,
// not one incident per camera.
func TestCountyOutageUpstream(t *testing.T) {
	clk := &clock{t: t0}
	cfg := countyConfig(t, "    upstreams:\n      - {id: nvr-east, name: 东片 NVR, kind: nvr, devices: [cam-v1-a, cam-v5-a]}\n")
	e, _ := newEngine(t, cfg, t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, camState("cam-v1-a", "offline", t0)))
	must(t, e.Evaluate(ctx, camState("cam-v5-a", "offline", t0.Add(5*time.Second))))
	e.Tick(ctx, t0.Add(10*time.Minute))
	inc := open(e)
	if len(inc) != 1 || inc[0].Kind != KindCountyOutage || !strings.Contains(inc[0].Title, "NVR「东片 NVR」") || len(inc[0].Devices) != 2 {
		for _, x := range inc {
			t.Logf("open: %s %s %v", x.Kind, x.Title, x.Devices)
		}
		t.Fatalf("%d incidents open, want one county outage naming the NVR", len(inc))
	}

	// The technicians resolve it while both cameras are still down: what
	// it held is the villages' again, one incident per camera.
	id := inc[0].ID
	for _, a := range []string{"accept", "resolve"} {
		if _, err := e.Act(ctx, tech, id, a, event.ActionRequest{Note: "NVR 已换电源"}); err != nil {
			t.Fatalf("the technicians' %s: %v", a, err)
		}
	}
	var own []string
	for _, x := range open(e) {
		if x.Kind == "offline" {
			own = append(own, x.Device)
		}
	}
	slices.Sort(own)
	if !slices.Equal(own, []string{"cam-v1-a", "cam-v5-a"}) {
		t.Fatalf("after the county outage was resolved: own incidents of %v, want each camera still down", own)
	}
}

func TestCountyOutageConfig(t *testing.T) {
	y := "county: {id: c, name: C}\ntownships:\n  - id: t1\n    name: T\n    villages: [{id: v1, name: V}]\nalerts:\n  county_outage:\n    villages: -1\n    upstreams:\n      - {id: u1, kind: router, villages: [v9]}\n"
	_, err := configs.Parse("x.yaml", []byte(y))
	for _, want := range []string{"x.yaml:8: alerts.county_outage.villages: must be at least 1", "x.yaml:10: alerts.county_outage.upstreams[0].kind", "alerts.county_outage.upstreams[0].villages[0]: unknown village"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

// A restart in the middle of a county outage: the cameras reported offline
// again after it are still held by it, not opened as village outages.
func TestCountyOutageKeptAcrossRestart(t *testing.T) {
	clk := &clock{t: t0}
	dir := t.TempDir()
	cfg := countyConfig(t, "")
	e, _ := newEngine(t, cfg, dir, clk)
	ctx := context.Background()
	var cams []string
	for v := 1; v <= 4; v++ {
		for _, c := range []string{"a", "b"} {
			cams = append(cams, fmt.Sprintf("cam-v%d-%s", v, c))
		}
	}
	for _, id := range cams {
		must(t, e.Evaluate(ctx, camState(id, "offline", t0)))
	}
	e.Tick(ctx, t0.Add(5*time.Minute))
	if inc := open(e); len(inc) != 1 || inc[0].Kind != KindCountyOutage {
		t.Fatalf("before the restart: %d incidents open", len(inc))
	}
	must(t, e.Close())

	e2, _ := newEngine(t, cfg, dir, clk)
	at := t0.Add(10 * time.Minute)
	for _, id := range cams {
		must(t, e2.Evaluate(ctx, camState(id, "offline", at)))
	}
	e2.Tick(ctx, at.Add(time.Hour))
	if inc := open(e2); len(inc) != 1 || inc[0].Kind != KindCountyOutage {
		for _, x := range inc {
			t.Logf("open: %s %s %v", x.Kind, x.Title, x.Devices)
		}
		t.Fatalf("after the restart: %d incidents open, want the county outage only", len(inc))
	}
}
