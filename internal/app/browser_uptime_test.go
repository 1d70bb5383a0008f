package app

import (
	"strings"
	"testing"
	"time"

	"snowhub/camera/simcam"
)

// TestUptimePage: the search keeps its focus and text across the page's
// 10-second refresh; every column has a header; a stopped camera is listed
// under 当前离线 with its village and how long; the CSV opens in Excel (a
// byte-order mark) with names beside ids; maintenance is set from a Chinese
// dialog with start and end pickers; the 24-hour bar is grey where there
// is no data; 完好率 per township.
func TestUptimePage(t *testing.T) {
	e := startUI(t, uiOptions{})
	waitAPI(t, 30*time.Second, "cameras online", func() bool {
		m := e.cameras(uiOps)
		return m["cam-gst"].State == "online" && m["cam-sim-1"].State == "online"
	})
	e.sim.SetBehaviour("/cam-sim-1", simcam.Down)
	waitAPI(t, 20*time.Second, "cam-sim-1 offline", func() bool { return e.cameras(uiOps)["cam-sim-1"].State == "offline" })

	b := newBrowser(t)
	b.open(e.base + "/uptime?token=" + uiTech)
	b.waitJS("the camera table", `document.querySelectorAll('tr[data-id]').length >= 3`, 20*time.Second)
	b.waitJS("the stopped camera under down now, with its village",
		`(() => { const r = document.querySelector('main section tbody tr[data-id="cam-sim-1"]'); return !!r && r.textContent.includes('相公村') && r.textContent.includes('相公镇'); })()`, 20*time.Second)
	if !eval[bool](b, `[...document.querySelectorAll('thead tr')].every(tr => [...tr.children].every(th => th.textContent.trim() !== ''))`) {
		t.Error("a column without a header")
	}
	// The hub's record starts with this test: the 24-hour bars are grey,
	// not green, before it, and say where the data starts.
	if !eval[bool](b, `(() => { const r = document.querySelector('tr[data-id="cam-gst"]'); const g = r && r.querySelector('.bar span.nodata');
		return !!g && parseFloat(g.style.width) > 50 && getComputedStyle(g).backgroundColor !== getComputedStyle(r.querySelector('.bar')).backgroundColor &&
			r.querySelector('.bar-note').textContent.startsWith('数据始于'); })()`) {
		t.Error("the 24-hour bar does not draw the hours before the first record as no data, or does not say where the data starts")
	}
	// 完好率 per township: 相公镇's stopped camera counts against it.
	b.waitJS("完好率 per township", `(() => { const h = [...document.querySelectorAll('thead th')].some(th => th.textContent === '完好率');
		const r = document.querySelector('tr[data-township="xiangong"]'); return h && !!r && /%（[01]\/2）/.test(r.textContent); })()`, 15*time.Second)

	// Typing in the search across a refresh: focus and text stay.
	b.fill("#f-search", "昭仁")
	b.waitJS("filtered", `[...document.querySelectorAll('section:nth-of-type(3) tbody tr')].length === 1`, 3*time.Second)
	time.Sleep(11 * time.Second) // one refresh
	if !eval[bool](b, `document.activeElement && document.activeElement.id === 'f-search' && document.activeElement.value === '昭仁'`) {
		t.Fatal("the search lost its focus or its text on the refresh")
	}
	b.weight("uptime")
	b.axe("uptime")
	b.screenshot("uptime")

	// CSV: a byte-order mark, names beside ids.
	b.click("#csv")
	b.waitJS("the CSV", `typeof window.__lastCsv === 'string'`, 3*time.Second)
	csv := eval[string](b, `window.__lastCsv`)
	if !strings.HasPrefix(csv, "\ufeff") || !strings.Contains(csv, "cam-gst,312国道 昭仁路口,zhaoren,昭仁街道,v-zr-01,东街社区,是") {
		t.Errorf("CSV = %.300q", csv)
	}

	// Maintenance from the dialog.
	b.fill("#f-search", "\b\b")
	b.waitJS("all rows again", `document.querySelectorAll('section:nth-of-type(3) tbody tr').length === 3`, 3*time.Second)
	b.click(`button[data-maint="cam-sim-2"]`)
	b.waitJS("the maintenance dialog with pickers", `!!document.querySelector('dialog[open] input[type=datetime-local][name=from]') && !!document.querySelector('dialog[open] input[type=datetime-local][name=until]')`, 3*time.Second)
	b.fill("dialog[open] textarea", "更换镜头")
	b.axe("uptime-maintenance-dialog")
	b.screenshot("uptime-maintenance-dialog")
	b.click("dialog[open] button[type=submit]")
	b.waitJS("the window listed", `[...document.querySelectorAll('section:nth-of-type(4) tbody tr')].some(r => r.textContent.includes('更换镜头') && r.textContent.includes('相公村 村委会'))`, 10*time.Second)
}
