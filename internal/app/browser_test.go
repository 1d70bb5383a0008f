package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"snowhub/camera/simcam"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// The browser tests drive the pages in headless Chromium against the whole
// hub with real Mosquitto, InfluxDB and RTSP peers. They are split by page
// (browser_*_test.go); this file holds what they share: the browser, the
// county they run on, axe-core, screenshots and page weight.

// browser is a headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // the profile directory, which names its processes
}

func newBrowser(t *testing.T) *browser { return newBrowserSized(t, 1920, 1080) }

func newBrowserSized(t *testing.T, w, h int) *browser {
	t.Helper()
	bin := testenv.Chromium(t)
	dir := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(dir), chromedp.WindowSize(w, h)}
	for _, f := range testenv.ChromiumFlags {
		name, value, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if value == "" {
			opts = append(opts, chromedp.Flag(name, true))
		} else {
			opts = append(opts, chromedp.Flag(name, value))
		}
	}
	opts = append(opts, chromedp.Flag("lang", "zh-CN")) // date pickers and the browser's own words as a county's PC shows them
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, dir: dir}
}

// tab opens another tab of the same browser.
func (b *browser) tab() *browser {
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	nb := &browser{t: b.t, ctx: ctx, dir: b.dir}
	nb.size(1920, 1080)
	return nb
}

// size sets the viewport (the wall at 3840×2160).
func (b *browser) size(w, h int) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		b.t.Fatalf("viewport %dx%d: %v", w, h, err)
	}
}

func (b *browser) open(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("eval %.300s: %v", js, err)
	}
	return v
}

// waitJS polls a boolean expression.
func (b *browser) waitJS(what, js string, timeout time.Duration) {
	b.t.Helper()
	timeout = testenv.Patience(timeout)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
	b.t.Fatalf("page: timed out after %s waiting for %s", timeout, what)
}

// click clicks the element a selector names, in the page (no coordinates).
func (b *browser) click(sel string) {
	b.t.Helper()
	if !eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true; })()`, sel)) {
		b.screenshot("failed-click")
		b.t.Fatalf("click: nothing matches %s", sel)
	}
}

// fill types into a field as a person would (input events fire).
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Focus(sel), chromedp.SendKeys(sel, text)); err != nil {
		b.screenshot("failed-fill")
		b.t.Fatalf("fill %s: %v", sel, err)
	}
}

// screenshot saves the page as an artifact. A screenshot is evidence, not
// a check: headless Chromium can take minutes to paint a 4K page of live
// video tiles, so it gets a deadline and the test goes on without it.
func (b *browser) screenshot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(testenv.ArtifactDir(b.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err == nil {
		b.t.Logf("screenshot: %s", path)
	}
}

// axePath is axe-core's browser build, installed by scripts/peers.sh.
func axePath() string {
	if p := os.Getenv("SNOWHUB_AXE"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "snowhub", "npm", "node_modules", "axe-core", "axe.min.js")
}

// axe runs axe-core (WCAG 2 A and AA rules) on the page as it is now and
// fails on any critical or serious violation.
func (b *browser) axe(page string) {
	b.t.Helper()
	src, err := os.ReadFile(axePath())
	if err != nil {
		if os.Getenv("SNOWHUB_PEERS") == "required" {
			b.t.Fatalf("axe-core: %v (scripts/peers.sh install puts it there)", err)
		}
		b.t.Logf("axe-core not installed (%v): accessibility not checked on %s", err, page)
		return
	}
	// DevTools evaluation is not bound by the page's Content-Security-Policy.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](string(src)+";\ntrue")); err != nil {
		b.t.Fatalf("inject axe-core: %v", err)
	}
	report := eval[string](b, `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
	  .then(r => r.violations.filter(v => v.impact === 'critical' || v.impact === 'serious')
	  .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')).join('\n'))`)
	if report != "" {
		b.screenshot("axe-" + page)
		b.t.Errorf("axe-core on %s:\n%s", page, report)
	}
}

// weight is what a page costs on the wire: cold, the compressed bodies of
// the document and every resource (encodedBodySize, known also for files
// the browser had); now, what this load transferred (a file the browser
// had costs a 304). Fonts are the system's; video is over websockets.
func (b *browser) weight(page string) {
	b.t.Helper()
	w := eval[[]float64](b, `(() => { let cold = 0, now = 0; const all = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'));
	  for (const e of all) { cold += e.encodedBodySize || 0; now += e.transferSize || 0; } return [cold / 1024, now / 1024, all.length]; })()`)
	b.t.Logf("page weight %s: %.1f KiB cold (compressed bodies), %.1f KiB transferred by this load, %.0f requests", page, w[0], w[1], w[2])
}

// waitAPI polls the hub's API four times a second: gentler than
// testenv.WaitFor's 20 ms on a machine the browser shares.
func waitAPI(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	timeout = testenv.Patience(timeout)
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// alarm publishes a sensor's alarm until the hub has an incident for it
// and returns the incident. (The hub says it is ready a few milliseconds
// before its MQTT subscription exists, so a message published at once can
// be lost; a repeated alarm folds into the same incident.)
func alarm(t *testing.T, e *e2eEnv, sensor string) event.Incident {
	t.Helper()
	var inc event.Incident
	deadline := time.Now().Add(15 * time.Second)
	for n := 0; inc.ID == ""; n++ {
		if time.Now().After(deadline) {
			t.Fatalf("no incident for %s within 15 s", sensor)
		}
		if n%8 == 0 {
			publish(t, e.mq.URL, "snowbright/sensors/"+sensor+"/event", `{"value":1}`)
		}
		time.Sleep(250 * time.Millisecond)
		var list []event.Incident
		e.get(uiOps, "/api/v1/incidents", &list)
		for _, i := range list {
			if i.Device == sensor {
				inc = i
			}
		}
	}
	return inc
}

const (
	uiOps     = "ui-operator-token-0000001"
	uiZhaoren = "ui-zhaoren-token-00000001"
	uiXiang   = "ui-xiangong-token-0000001"
	uiTech    = "ui-technician-token-00001"
	uiOps2    = "ui-operator2-token-000001"
	uiVisits  = "ui-zhaoren-visits-token-01" // a second desk user, who does the 回访
	uiDept    = "ui-gongdian-token-00000001" // the power station, summoned (吹哨)
	uiAdmin   = "ui-admin-token-0000000001"  // the system administrator: accounts
)

// uiOptions vary the county per test.
type uiOptions struct {
	extraCams   int    // probe-mode cameras beyond the three
	minorAccept string // minor alarms' accept limit (supervision within a test)
}

// uiConfig is the county of the browser tests: the e2e county with a
// roster, a department, door sensors that raise minor alarms, a short
// accept limit for minor alarms when asked (so supervision happens within a
// test), and extra cameras when asked.
func uiConfig(listen, dataDir, mqttURL, influxURL, gstURL, simBase string, o uiOptions) string {
	if o.minorAccept == "" {
		o.minorAccept = "24h"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `listen: %s
data_dir: %s
mqtt:
  broker: %s
  client_id: snowhub-ui
influx:
  url: %s
  bucket: snowhub
  flush_interval: 200ms
county: {id: changwu, name: 长武县}
camera:
  stall_after: 2s
  offline_after: 3s
  settle: 1s
  probe_interval: 3s
  backoff_max: 2s
alerts:
  rules:
    - {name: door-open, type: alarm, kinds: [door], severity: minor, title: "{{.DeviceName}} 门被打开"}
  deadlines:
    minor: {accept: %s}
  # The wall's bursts are separate alarms (which takes the front tile):
  # doors stay one incident each instead of joining a storm.
  storm: {per_device: [panic, door]}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: 东街社区}
  - id: xiangong
    name: 相公镇
    villages:
      - {id: v-xg-01, name: 相公村}
people:
  - {id: p-zr-1, name: 王建国, role: grid_worker, village: v-zr-01, phone: "13800000001"}
  - {id: p-zr-2, name: 李秀英, role: cadre, township: zhaoren, phone: "13900000002"}
departments:
  - {id: gongdian, name: 长武供电所, kinds: [power]}
cameras:
  - {id: cam-gst, name: 312国道 昭仁路口, village: v-zr-01, url: %q, transport: tcp, watch: true, key: true}
  - {id: cam-sim-1, name: 相公 集市, village: v-xg-01, url: %q, transport: tcp, watch: true}
  - {id: cam-sim-2, name: 相公村 村委会, village: v-xg-01, url: %q, transport: tcp, watch: false}
`, listen, dataDir, mqttURL, influxURL, o.minorAccept, gstURL, simBase+"/cam-sim-1", simBase+"/cam-sim-2")
	for i := 1; i <= o.extraCams; i++ {
		v := "v-zr-01"
		if i%2 == 0 {
			v = "v-xg-01"
		}
		// Probe-mode cameras at the simulator: reachable, pulled only when a tile shows them.
		name := fmt.Sprintf("村道 %02d 号", i)
		if i == 1 {
			name = `<img src=x onerror="window.__xss=2">` + name // markup in a name stays text
		}
		fmt.Fprintf(&b, "  - {id: cam-x%02d, name: %q, village: %s, url: %q, transport: tcp, watch: false}\n", i, name, v, simBase+"/cam-sim-2")
	}
	b.WriteString("sensors:\n  - {id: smoke-0001, name: 东街 便民超市 烟感, kind: smoke, village: v-zr-01, camera: cam-gst}\n  - {id: smoke-0002, kind: smoke, village: v-xg-01}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "  - {id: door-%04d, name: 东街 %d 号仓库门, kind: door, village: v-zr-01, camera: cam-gst}\n", i, i)
	}
	fmt.Fprintf(&b, `users:
  - {name: county-ops, role: operator, token: %s}
  - {name: county-ops-2, role: operator, token: %s}
  - {name: zhaoren-desk, role: township, township: zhaoren, token: %s}
  - {name: zhaoren-visits, role: township, township: zhaoren, token: %s}
  - {name: xiangong-desk, role: township, township: xiangong, token: %s}
  - {name: tech-1, role: technician, token: %s}
  - {name: gongdian-desk, role: department, department: gongdian, token: %s}
  - {name: %s, role: township, township: zhaoren, password_hash: %q}
  - {name: county-admin, role: admin, token: %s}
`, uiOps, uiOps2, uiZhaoren, uiVisits, uiXiang, uiTech, uiDept, uiPerson, uiPersonHash(), uiAdmin)
	return b.String()
}

// startUI starts the hub on uiConfig with real peers.
func startUI(t *testing.T, o uiOptions) *e2eEnv {
	t.Helper()
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t, "snowhub")
	gst := testenv.StartGstRTSP(t, testenv.RTSPOptions{})
	sim, err := simcam.New(simcam.Options{Listen: "127.0.0.1:0", Cameras: []simcam.Camera{
		{Path: "/cam-sim-1", Behaviour: "normal"}, {Path: "/cam-sim-2", Behaviour: "normal"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "snowhub.yaml")
	body := uiConfig(fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), filepath.Join(dir, "data"), mq.URL, db.URL, gst.URL, strings.TrimSuffix(sim.URL("/"), "/"), o)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &e2eEnv{t: t, mq: mq, db: db, sim: sim, path: path}
	e.start()
	t.Cleanup(e.stop)
	return e
}

// TestPagesEndToEnd is the short tour: the wall plays live video and brings
// an alarm's camera to the front, the desk accepts it, the uptime page lists
// a stopped camera first, and the wall recovers from a hub restart.
func TestPagesEndToEnd(t *testing.T) {
	e := startE2E(t)
	testenv.WaitFor(t, 30*time.Second, "cameras online", func() bool {
		m := e.cameras(opsToken)
		return m["cam-gst"].State == "online" && m["cam-sim-1"].State == "online"
	})
	b := newBrowser(t)

	b.open(e.base + "/?token=" + opsToken)
	b.waitJS("three cameras on tiles", `document.querySelectorAll('.tile[data-slot]:not(.empty)').length === 3`, 10*time.Second)
	b.waitJS("a live tile playing", `[...document.querySelectorAll('video')].some(v => v.currentTime > 1)`, 20*time.Second)

	publish(t, e.mq.URL, "snowbright/sensors/smoke-0001/event", `{"value":1}`)
	b.waitJS("the alarm in the ticker", `document.querySelector('#incidents .inc') !== null`, 10*time.Second)
	b.waitJS("its camera at the front, held for the alarm",
		`(() => { const t = document.querySelector('.tile'); return t.classList.contains('alarm') && t.textContent.includes('312国道'); })()`, 5*time.Second)

	var id string
	testenv.WaitFor(t, 10*time.Second, "incident", func() bool {
		if l := e.incidents(zhaorenToken); len(l) > 0 {
			id = l[0].ID
		}
		return id != ""
	})
	desk := b.tab()
	desk.open(e.base + "/township/zhaoren?token=" + zhaorenToken)
	desk.waitJS("the incident on the desk", `document.querySelector('.card[data-id="`+id+`"] button[data-action="accept"]') !== null`, 10*time.Second)
	desk.click(`.card[data-id="` + id + `"] button[data-action="accept"]`)
	desk.waitJS("accepted on the desk", `document.querySelector('.card[data-id="`+id+`"]').textContent.includes('办理中')`, 10*time.Second)
	b.waitJS("accepted on the wall", `document.querySelector('#incidents').textContent.includes('办理中')`, 10*time.Second)

	e.sim.SetBehaviour("/cam-sim-1", simcam.Down)
	testenv.WaitFor(t, 20*time.Second, "cam-sim-1 offline", func() bool { return e.cameras(opsToken)["cam-sim-1"].State == "offline" })
	up := b.tab()
	up.open(e.base + "/uptime?token=" + opsToken)
	up.waitJS("the stopped camera first, under down now", `(() => { const p = document.querySelector('main section'); return !!p && p.textContent.includes('相公 集市'); })()`, 40*time.Second)

	e.stop()
	b.waitJS("the connection-lost banner", `document.getElementById('banner').classList.contains('show')`, 10*time.Second)
	e.start()
	b.waitJS("the banner gone after the restart", `!document.getElementById('banner').classList.contains('show')`, 40*time.Second)
	b.waitJS("tiles again", `document.querySelectorAll('.tile[data-slot]:not(.empty)').length === 3`, 10*time.Second)
}
