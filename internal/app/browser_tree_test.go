package app

import (
	"testing"
	"time"
)

// TestWallReachesEveryCamera: a 64-camera county is fully reachable from
// the tree and by paging; a camera clicked in the tree lands on the focused
// tile; a 轮巡 tour cycles; a named layout saved on the server survives a
// reload of the page.
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
}
