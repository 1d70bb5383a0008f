package alerts

import (
	"testing"
	"time"
)

// TestFigIndexOrder: rows stay in order of opening whatever order they
// come in (an alarm's device time may be earlier than the last incident's),
// a row put again replaces itself, and span gives exactly [from, to).
func TestFigIndexOrder(t *testing.T) {
	var x figIndex
	row := func(id string, min int, owner string) figRow {
		return figRow{id: id, owner: owner, stat: statRow{openedAt: t0.Add(time.Duration(min) * time.Minute)}}
	}
	for _, r := range []figRow{row("a", 10, ""), row("b", 20, ""), row("c", 5, ""), row("d", 20, ""), row("e", 15, "")} {
		x.put(r)
	}
	x.put(row("b", 20, "zhaoren")) // a step on b
	var ids string
	for _, r := range x.rows {
		ids += r.id
	}
	if ids != "caebd" {
		t.Fatalf("order %q, want caebd", ids)
	}
	if x.rows[3].owner != "zhaoren" || len(x.rows) != 5 {
		t.Fatalf("b not replaced: %+v", x.rows)
	}
	if s := x.span(t0.Add(10*time.Minute), t0.Add(20*time.Minute)); len(s) != 2 || s[0].id != "a" || s[1].id != "e" {
		t.Fatalf("span [10, 20) = %+v", s)
	}
	if s := x.openedBy(t0.Add(20 * time.Minute)); len(s) != 5 {
		t.Fatalf("opened by 20: %d rows", len(s))
	}
}
