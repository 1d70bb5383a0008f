package app

import (
	"fmt"
	"testing"
	"time"

	"snowhub/internal/event"
)

// TestWallNoAlarmMissed: a critical alarm in the middle of a burst of minor
// ones takes the front tile and the top of the ticker, keeps them against
// the minor alarms after it, and sounds until 确认 (a recorded step that
// does not replace the township's accept); the mute is visible; the wall mode is readable at 4K; after a hub restart
// the wall is grey while away and catches up within 6 s.
func TestWallNoAlarmMissed(t *testing.T) {
	e := startUI(t, uiOptions{})
	waitAPI(t, 30*time.Second, "cameras online", func() bool {
		m := e.cameras(uiOps)
		return m["cam-gst"].State == "online" && m["cam-sim-1"].State == "online"
	})
	b := newBrowser(t)
	b.open(e.base + "/?token=" + uiOps)
	b.waitJS("three cameras on tiles", `document.querySelectorAll('.tile[data-slot]:not(.empty)').length === 3`, 10*time.Second)
	b.waitJS("the county's name in the title", `document.title.startsWith('长武县 视频墙')`, 5*time.Second)
	b.waitJS("a live tile playing", `[...document.querySelectorAll('video')].some(v => v.currentTime > 1)`, 20*time.Second)
	b.weight("wall")
	b.axe("wall")
	b.screenshot("wall")

	// A burst: four minor door alarms, a critical smoke alarm, four more minor ones.
	for i := 1; i <= 4; i++ {
		publish(t, e.mq.URL, fmt.Sprintf("snowbright/sensors/door-%04d/event", i), `{"value":1}`)
	}
	smokeAt := time.Now()
	publish(t, e.mq.URL, "snowbright/sensors/smoke-0001/event", `{"value":1}`)
	for i := 5; i <= 8; i++ {
		publish(t, e.mq.URL, fmt.Sprintf("snowbright/sensors/door-%04d/event", i), `{"value":1}`)
	}
	b.waitJS("nine alarms in the ticker", `document.querySelectorAll('#incidents .inc').length === 9`, 15*time.Second)
	var smoke event.Incident
	for _, i := range e.incidents(uiOps) {
		if i.Device == "smoke-0001" {
			smoke = i
		}
	}
	if smoke.ID == "" {
		t.Fatal("no smoke incident")
	}
	b.waitJS("the critical alarm at the top of the ticker", `document.querySelector('#incidents .inc').dataset.id === '`+smoke.ID+`'`, 5*time.Second)
	b.waitJS("the critical alarm holding the front tile",
		`(() => { const t = document.querySelector('.tile'); return t.classList.contains('alarm') && t.classList.contains('sev-critical') && t.querySelector('.alarm-label').textContent.includes('烟雾报警'); })()`, 5*time.Second)
	if f := eval[string](b, `snowhubWall.front().incident`); f != smoke.ID {
		t.Fatalf("front tile held by %s, want the critical %s", f, smoke.ID)
	}
	b.waitJS("the critical sound playing", `snowhubWall.alarm.state().critical === true && !document.getElementById('snd-critical').paused`, 5*time.Second)
	soundMs := eval[float64](b, `window.__soundAt['`+smoke.ID+`'] || 0`)
	frontMs := eval[float64](b, `window.__frontAt['`+smoke.ID+`'] || 0`)
	if soundMs > 0 && frontMs > 0 {
		t.Logf("alarm latency, MQTT publish → sound playing: %d ms; → front tile: %d ms (the publish returns after the broker's PUBACK)",
			int64(soundMs)-smokeAt.UnixMilli(), int64(frontMs)-smokeAt.UnixMilli())
	}
	b.screenshot("wall-alarm")

	// The mute is visible, and stops and restores the sound.
	b.click("#mute")
	b.waitJS("muted", `document.getElementById('mute').getAttribute('aria-pressed') === 'true' && document.getElementById('snd-critical').paused`, 3*time.Second)
	b.click("#mute")
	b.waitJS("unmuted, sounding again", `!document.getElementById('snd-critical').paused`, 3*time.Second)

	// The drawer tells the whole story of the incident.
	b.click(`#incidents .inc[data-id="` + smoke.ID + `"]`)
	b.waitJS("the drawer", `!document.getElementById('drawer').hidden && document.getElementById('drawer').textContent.includes('接单时限')`, 3*time.Second)
	b.axe("wall-drawer")
	b.screenshot("wall-drawer")
	b.click("#drawer .close")

	// 确认 on the front tile: the sound stops (minor alarms only chime
	// once); it is a recorded step and the township still has to accept.
	b.click(`.tile.alarm button[data-action="acknowledge"]`)
	b.waitJS("the sound stopped", `document.getElementById('snd-critical').paused && document.getElementById('snd-major').paused`, 5*time.Second)
	var acked event.Incident
	e.get(uiOps, "/api/v1/incidents/"+smoke.ID, &acked)
	if acked.AcknowledgedBy != "county-ops" || acked.State == "accepted" || acked.History[len(acked.History)-1].Action != "acknowledge" {
		t.Fatalf("after 确认: state %s, acknowledged by %q, last step %+v", acked.State, acked.AcknowledgedBy, acked.History[len(acked.History)-1])
	}
	if code, body := e.post(uiZhaoren, "/api/v1/incidents/"+smoke.ID+"/accept", map[string]string{"note": "已出警"}, nil); code != 200 {
		t.Fatalf("accept after 确认: %d %s", code, body)
	}

	// The wall mode at 4K: no header, captions at least 1.4 % of the
	// viewport height, the ticker about a fifth of the width.
	w := newBrowserSized(t, 3840, 2160)
	w.open(e.base + "/?wall=1&token=" + uiOps)
	w.waitJS("the wall mode", `document.body.classList.contains('wallmode') && getComputedStyle(document.querySelector('header')).display === 'none'`, 10*time.Second)
	w.waitJS("tiles", `document.querySelectorAll('.tile[data-slot]:not(.empty)').length === 3`, 10*time.Second)
	capPx := eval[float64](w, `parseFloat(getComputedStyle(document.querySelector('.tile .cap')).fontSize)`)
	if min := 0.014 * 2160; capPx < min {
		t.Errorf("caption %.1f px on a 2160 px screen, want at least %.1f", capPx, min)
	}
	tickerShare := eval[float64](w, `document.querySelector('.ticker').getBoundingClientRect().width / innerWidth`)
	if tickerShare < 0.17 || tickerShare > 0.23 {
		t.Errorf("ticker takes %.2f of the width, want about a fifth", tickerShare)
	}
	w.waitJS("a live tile playing", `[...document.querySelectorAll('video')].some(v => v.currentTime > 1)`, 20*time.Second)
	w.axe("wall-4k")
	w.screenshot("wall-4k")

	// The hub restarts. While it is away the tiles and the status line say
	// 状态未知 and the banner overlays the grid (the grid does not move).
	gridTop := eval[float64](b, `document.getElementById('grid').getBoundingClientRect().top`)
	e.stop()
	b.waitJS("the connection-lost banner", `document.getElementById('banner').classList.contains('show')`, 10*time.Second)
	b.waitJS("tiles grey, state unknown", `[...document.querySelectorAll('.tile[data-slot]:not(.empty)')].every(t => t.classList.contains('stale') && t.querySelector('.badge').textContent === '状态未知') && document.getElementById('status').textContent === '状态未知'`, 5*time.Second)
	if top := eval[float64](b, `document.getElementById('grid').getBoundingClientRect().top`); top != gridTop {
		t.Errorf("the banner moved the grid from %.0f to %.0f px", gridTop, top)
	}
	b.screenshot("wall-connection-lost")
	// An alarm raised while the hub is down is waiting in Mosquitto.
	publish(t, e.mq.URL, "snowbright/sensors/smoke-0002/event", `{"value":1}`)
	e.start()
	up := time.Now()
	b.waitJS("the banner gone and the wall caught up", `!document.getElementById('banner').classList.contains('show') && !document.querySelector('.tile.stale') && [...document.querySelectorAll('#incidents .inc')].some(x => x.textContent.includes('相公村'))`, 6*time.Second)
	t.Logf("wall caught up %s after the hub was listening again", time.Since(up).Round(10*time.Millisecond))
}
