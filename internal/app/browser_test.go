package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"snowhub/internal/event"
	"snowhub/internal/simcam"
	"snowhub/internal/testenv"
)

// browser is a headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 900)}
	for _, f := range testenv.ChromiumFlags {
		name, value, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if value == "" {
			opts = append(opts, chromedp.Flag(name, true))
		} else {
			opts = append(opts, chromedp.Flag(name, value))
		}
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// tab opens another tab of the same browser.
func (b *browser) tab() *browser {
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	return &browser{t: b.t, ctx: ctx}
}

func (b *browser) open(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("eval %s: %v", js, err)
	}
	return v
}

// waitJS polls a boolean expression.
func (b *browser) waitJS(what, js string, timeout time.Duration) {
	b.t.Helper()
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

func (b *browser) screenshot(name string) {
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(testenv.ArtifactDir(b.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err == nil {
		b.t.Logf("screenshot: %s", path)
	}
}

// TestPagesEndToEnd drives the pages in Chromium against the whole hub with
// real Mosquitto, InfluxDB and RTSP peers.
func TestPagesEndToEnd(t *testing.T) {
	e := startE2E(t)
	testenv.WaitFor(t, 30*time.Second, "cameras online", func() bool {
		m := e.cameras(opsToken)
		return m["cam-gst"].State == "online" && m["cam-sim-1"].State == "online"
	})
	b := newBrowser(t)

	// The wall: tiles from the snapshot, and live video that plays.
	b.open(e.base + "/?token=" + opsToken)
	b.waitJS("three tiles", `document.querySelectorAll('.tile').length === 3`, 10*time.Second)
	b.waitJS("a live tile playing", `[...document.querySelectorAll('video')].some(v => v.currentTime > 1)`, 20*time.Second)
	b.screenshot("wall")

	// An MQTT smoke alarm appears on the wall and its camera comes to the front.
	start := time.Now()
	publish(t, e.mq.URL, "snowbright/sensors/smoke-0001/event", `{"value":1}`)
	b.waitJS("the alarm in the ticker", `document.querySelector('#incidents .inc') !== null`, 10*time.Second)
	t.Logf("MQTT alarm to the wall's ticker: %s (poll every 100 ms)", time.Since(start).Round(time.Millisecond))
	b.waitJS("its camera at the front, highlighted",
		`(() => { const t = document.querySelector('.tile'); return t.classList.contains('highlight') && t.textContent.includes('312国道'); })()`, 5*time.Second)
	b.screenshot("wall-alarm")

	// The township desk accepts it; the wall shows the new step.
	var inc event.Incident
	testenv.WaitFor(t, 10*time.Second, "incident", func() bool {
		l := e.incidents(zhaorenToken)
		if len(l) > 0 {
			inc = l[0]
		}
		return len(l) > 0
	})
	desk := b.tab()
	desk.open(e.base + "/township/zhaoren?token=" + zhaorenToken)
	desk.waitJS("the incident on the desk", `document.querySelector('.card[data-id="`+inc.ID+`"] button[data-action="accept"]') !== null`, 10*time.Second)
	desk.screenshot("township-desk")
	eval[bool](desk, `(document.querySelector('.card[data-id="`+inc.ID+`"] button[data-action="accept"]').click(), true)`)
	desk.waitJS("accepted on the desk", `document.querySelector('.card[data-id="`+inc.ID+`"]').textContent.includes('已接单')`, 10*time.Second)
	b.waitJS("accepted on the wall", `document.querySelector('#incidents').textContent.includes('已接单')`, 10*time.Second)

	// A stopped camera is listed first on the uptime page.
	e.sim.SetBehaviour("/cam-sim-1", simcam.Down)
	testenv.WaitFor(t, 20*time.Second, "cam-sim-1 offline", func() bool { return e.cameras(opsToken)["cam-sim-1"].State == "offline" })
	up := b.tab()
	up.open(e.base + "/uptime?token=" + opsToken)
	up.waitJS("the stopped camera first, under down now", `(() => { const p = document.querySelector('main section'); return !!p && p.textContent.includes('相公 集市'); })()`, 40*time.Second)
	up.screenshot("uptime")

	// The hub restarts: the wall shows the banner, then recovers by itself.
	e.stop()
	b.waitJS("the connection-lost banner", `document.getElementById('banner').classList.contains('show')`, 10*time.Second)
	b.screenshot("wall-connection-lost")
	e.start()
	b.waitJS("the banner gone after the restart", `!document.getElementById('banner').classList.contains('show')`, 40*time.Second)
	b.waitJS("tiles again", `document.querySelectorAll('.tile').length === 3`, 10*time.Second)
}
