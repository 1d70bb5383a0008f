package app

import (
	"slices"
	"testing"
	"time"

	"snowhub/alerts"
	"snowhub/internal/auth"
)

// TestTableRuleDrawsTheButton: the pages draw the buttons the hub's
// transition table gives, and no copy of it. The same desk and incident,
// first under the product's table (挂起 offered, 改派 the county's), then
// under a table where a dispatched matter cannot be held and the desk
// holding it may hand it on: 挂起 is gone, 改派 is there and works; no
// script changed.
func TestTableRuleDrawsTheButton(t *testing.T) {
	e := startUI(t, uiOptions{})
	inc := alarm(t, e, "door-0001")
	if inc.State != "dispatched" || inc.Owner != "zhaoren" {
		t.Fatalf("the alarm is %s with %s, want dispatched to zhaoren", inc.State, inc.Owner)
	}
	sel := `.card[data-id="` + inc.ID + `"]`
	b := newBrowser(t)
	desk := b.tab()
	desk.open(e.base + "/township/zhaoren?token=" + uiZhaoren)
	desk.waitJS("the desk's buttons", `!!document.querySelector('`+sel+` button[data-action="accept"]')`, 15*time.Second)
	if !eval[bool](desk, `!!document.querySelector('`+sel+` button[data-action="hold"]') && !document.querySelector('`+sel+` button[data-action="reassign"]')`) {
		t.Fatal("under the product's table the desk should offer 挂起 and not 改派")
	}

	table := slices.Clone(alerts.Transitions)
	for i := range table {
		switch table[i].Action {
		case "hold":
			table[i].From = slices.DeleteFunc(slices.Clone(table[i].From), func(s string) bool { return s == alerts.StateDispatched })
		case "reassign":
			table[i].Who = auth.WhoOwner
		}
	}
	e.stop()
	e.transitions = table
	e.start()
	desk.open(e.base + "/township/zhaoren?token=" + uiZhaoren)
	desk.waitJS("改派 offered by the changed rule", `!!document.querySelector('`+sel+` button[data-action="reassign"]')`, 15*time.Second)
	if eval[bool](desk, `!!document.querySelector('`+sel+` button[data-action="hold"]')`) {
		t.Fatal("挂起 still offered on a dispatched matter after the rule dropped it")
	}
	desk.screenshot("desk-changed-table")
	// The button is the hub's step: it hands the matter to the county (the
	// desk's topology names no other township).
	desk.click(sel + ` button[data-action="reassign"]`)
	eval[bool](desk, `(() => { const s = document.querySelector('`+sel+` form select[name=to]'); s.value = 'county'; return true; })()`)
	desk.click(sel + ` form button[type=submit]`)
	waitAPI(t, 10*time.Second, "handed to the county", func() bool {
		var got struct{ Owner string }
		e.get(uiOps, "/api/v1/incidents/"+inc.ID, &got)
		return got.Owner == "county"
	})
}
