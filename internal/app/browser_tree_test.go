package app

import (
	"testing"
	"time"
)

// TestWallReachesEveryCamera: a 64-camera county is fully reachable from
// the tree and by paging; a camera clicked in the tree lands on the focused
// tile; a 轮巡 tour cycles; a named layout saved on the server survives a
// reload of the page. The uptime page pages its camera table and sets
// maintenance for a selection and a village.
func TestWallReachesEveryCamera(t *testing.T) {
	e := startUI(t, uiOptions{extraCams: 61})
	b := newBrowser(t)
	b.open(e.base + "/?token=" + uiOps)
	b.waitJS("64 cameras in the tree", `document.querySelectorAll('#tree button.cam').length === 64`, 20*time.Second)
	if eval[bool](b, `window.__xss === 2 || !!document.querySelector('#tree img, .tile img')`) {
		t.Fatal("markup in a camera's name ran in the page")
	}
	if !eval[bool](b, `[...document.querySelectorAll('#tree button.cam')].some(x => x.textContent.includes('<img src=x'))`) {
		t.Error("the camera named with markup is not shown as text")
	}

	// Search finds one; clicking it puts it on the focused tile.
	b.fill("#tree-search", "村道 61")
	b.waitJS("one match", `document.querySelectorAll('#tree button.cam').length === 1`, 3*time.Second)
	eval[bool](b, `(document.querySelector('.tile[data-slot="4"]').focus(), true)`)
	b.click(`#tree button.cam[data-camera="cam-x61"]`)
	b.waitJS("on the focused tile", `snowhubWall.order()[4] === 'cam-x61' && document.querySelector('.tile[data-slot="4"]').textContent.includes('村道 61 号')`, 3*time.Second)
	b.weight("wall-64")
	b.axe("wall-tree")
	b.screenshot("wall-tree")

	// Paging at 4×4: four pages hold all 64.
	eval[bool](b, `(snowhubWall.setLayout('4'), true)`)
	b.waitJS("four pages", `document.getElementById('page-no').textContent.startsWith('1 / 4')`, 3*time.Second)
	seen := map[string]bool{}
	for p := 0; p < 4; p++ {
		for _, id := range eval[[]string](b, `[...document.querySelectorAll('.tile[data-slot]')].map(t => t.dataset.camera).filter(Boolean)`) {
			seen[id] = true
		}
		b.click("#page-next")
	}
	if len(seen) != 64 {
		t.Errorf("paging showed %d cameras, want 64", len(seen))
	}

	// A tour of a township cycles its pages.
	eval[bool](b, `(document.getElementById('tour-every').value = '5', true)`)
	b.fill("#tree-search", "\b\b\b\b\b")
	b.waitJS("the whole tree again", `document.querySelectorAll('#tree button.cam').length === 64`, 3*time.Second)
	b.click(`#tree button[data-tour="zhaoren"]`)
	b.waitJS("touring", `snowhubWall.tour() && snowhubWall.tour().cameras.length === 32 && snowhubWall.page() === 0`, 3*time.Second)
	b.waitJS("the next page of the tour", `snowhubWall.page() === 1`, 8*time.Second)
	b.click("#tour")
	b.waitJS("tour stopped", `snowhubWall.tour() === null`, 3*time.Second)

	// A named layout, saved on the server, after a reload.
	eval[bool](b, `(snowhubWall.setLayout('1+5'), true)`)
	first := eval[string](b, `snowhubWall.order()[snowhubWall.page() * 6]`)
	b.fill("#layout-name", "夜班")
	b.click("#layout-save")
	b.waitJS("saved", `document.getElementById('saved-layouts').value === '夜班'`, 5*time.Second)
	b.open(e.base + "/")
	b.waitJS("the layout restored", `snowhubWall.layout() === '1+5' && snowhubWall.order()[0] === '`+first+`' && document.querySelector('.grid').classList.contains('p5')`, 15*time.Second)
	b.screenshot("wall-layout-1+5")

	// The uptime page pages its camera table, and sets maintenance for a
	// selection across pages and for a village.
	b.open(e.base + "/uptime?token=" + uiTech)
	b.waitJS("the first page of 50", `document.querySelectorAll('section:nth-of-type(3) tbody tr[data-id]').length === 50 && document.getElementById('cam-page').textContent.includes('共 64 条')`, 20*time.Second)
	b.click("#cam-next")
	b.waitJS("the second page", `document.querySelectorAll('section:nth-of-type(3) tbody tr[data-id]').length === 14 && document.getElementById('cam-next').disabled`, 3*time.Second)
	picked := eval[string](b, `(() => { const x = document.querySelector('section:nth-of-type(3) tbody input[data-pick]'); x.click(); return x.dataset.pick; })()`)
	b.click("#cam-prev")
	b.waitJS("the first page again", `document.querySelectorAll('section:nth-of-type(3) tbody tr[data-id]').length === 50`, 3*time.Second)
	picked2 := eval[string](b, `(() => { const x = document.querySelector('section:nth-of-type(3) tbody input[data-pick]'); x.click(); return x.dataset.pick; })()`)
	b.waitJS("two chosen", `document.getElementById('sel-count').textContent === '已选 2'`, 3*time.Second)
	b.click("#maint-selected")
	b.waitJS("the dialog for the selection", `!!document.querySelector('dialog[open] input[name=from]') && document.querySelector('dialog[open] h2').textContent.includes('等 2 台')`, 3*time.Second)
	b.fill("dialog[open] textarea", "线路检修")
	b.click("dialog[open] button[type=submit]")
	var ws []struct{ Device, Village, Note string }
	waitAPI(t, 10*time.Second, "a window for each chosen camera", func() bool {
		e.get(uiTech, "/api/v1/maintenance", &ws)
		n := 0
		for _, w := range ws {
			if w.Note == "线路检修" && (w.Device == picked || w.Device == picked2) {
				n++
			}
		}
		return n == 2
	})
	b.waitJS("the selection cleared", `document.getElementById('sel-count').textContent === ''`, 5*time.Second)
	eval[bool](b, `(() => { const s = document.getElementById('maint-village-sel'); s.value = 'v-xg-01'; return true; })()`)
	b.click("#maint-village")
	b.waitJS("the dialog for the village", `!!document.querySelector('dialog[open]') && document.querySelector('dialog[open] h2').textContent.includes('相公村')`, 3*time.Second)
	b.fill("dialog[open] textarea", "整村停电")
	b.click("dialog[open] button[type=submit]")
	b.waitJS("the village window listed", `[...document.querySelectorAll('section:nth-of-type(4) tbody tr')].some(r => r.textContent.includes('整村停电') && r.textContent.includes('相公村'))`, 10*time.Second)
	// A phone: the pager and the tools fit the screen (the table scrolls in its box).
	b.size(390, 844)
	if wide := eval[[]string](b, `[...document.querySelectorAll('.pager > *, #maint-tools > *, .bar-legend, main section > h2')].filter(x => x.getBoundingClientRect().right > 390).map(x => (x.id || x.className || x.tagName) + ' ' + Math.round(x.getBoundingClientRect().right))`); len(wide) > 0 {
		t.Errorf("on a 390 px phone the uptime page's tools go past the screen: %v", wide)
	}
	b.axe("uptime-paged")
}
