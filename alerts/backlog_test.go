package alerts

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"snowhub/internal/event"
)

// The backlog series on a fixed timeline, in Shanghai time: exact counts at
// each midnight, a reviewed incident out on the midnight after its review,
// the 7- and 30-day ages, and the township scoping of the engine.
func TestBacklogSeriesOnAFixedTimeline(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	day := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, sh) }
	recs := []backlogRec{
		{township: "zhaoren", openedAt: day(1, 2, 10)},                            // never reviewed
		{township: "zhaoren", openedAt: day(1, 20, 0), reviewedAt: day(2, 5, 15)}, // opened at a midnight: counted at it
		{township: "xiangong", openedAt: day(1, 30, 9), reviewedAt: day(2, 3, 0)}, // reviewed at a midnight: out of it
		{township: "xiangong", openedAt: day(2, 4, 23)},
	}
	at := dayBoundaries(day(1, 31, 12), day(2, 6, 0), sh)
	wantAt := []time.Time{day(2, 1, 0), day(2, 2, 0), day(2, 3, 0), day(2, 4, 0), day(2, 5, 0), day(2, 6, 0)}
	if !slices.EqualFunc(at, wantAt, time.Time.Equal) {
		t.Fatalf("points %v, want %v", at, wantAt)
	}
	for _, a := range at {
		if a.Location() != time.UTC {
			t.Fatalf("point %v is not said in UTC", a)
		}
	}
	b := backlogSeries(recs, at, map[string]string{"zhaoren": "赵仁镇", "xiangong": "仙宫镇"})
	type want struct{ open, over7, over30 []int }
	check := func(what string, got []int, w []int) {
		t.Helper()
		if !slices.Equal(got, w) {
			t.Errorf("%s: %v, want %v", what, got, w)
		}
	}
	cases := map[string]want{
		// zhaoren: #1 is 29.6 days old at 02-01, so over 30 from 02-02;
		// #2 is 12 days old on 02-01 (over 7) and out at 02-06.
		"zhaoren": {open: []int{2, 2, 2, 2, 2, 1}, over7: []int{2, 2, 2, 2, 2, 1}, over30: []int{0, 1, 1, 1, 1, 1}},
		// xiangong: #3 open 02-01 and 02-02, out at 02-03 (reviewed then);
		// #4 from 02-05.
		"xiangong": {open: []int{1, 1, 0, 0, 1, 1}, over7: []int{0, 0, 0, 0, 0, 0}, over30: []int{0, 0, 0, 0, 0, 0}},
		"":         {open: []int{3, 3, 2, 2, 3, 2}, over7: []int{2, 2, 2, 2, 2, 1}, over30: []int{0, 1, 1, 1, 1, 1}},
	}
	if len(b.Rows) != 2 || b.Rows[0].Key != "xiangong" || b.Rows[1].Key != "zhaoren" || b.Rows[1].Name != "赵仁镇" {
		t.Fatalf("rows %+v, want xiangong and zhaoren by key", b.Rows)
	}
	for _, s := range append(b.Rows, b.Total) {
		w := cases[s.Key]
		check(s.Key+" open", s.Open, w.open)
		check(s.Key+" over 7d", s.Over7d, w.over7)
		check(s.Key+" over 30d", s.Over30d, w.over30)
	}
}

func TestDayBoundaries(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	// 16:00 UTC is local midnight: a bound on it is a point.
	from := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	if got := dayBoundaries(from, from.Add(47*time.Hour), sh); len(got) != 2 || !got[0].Equal(from) {
		t.Errorf("points %v, want 2 from %v", got, from)
	}
	if got := dayBoundaries(from.Add(time.Minute), from.Add(time.Hour), sh); len(got) != 0 {
		t.Errorf("within a day: %v, want none", got)
	}
	if got := dayBoundaries(from, from.AddDate(2, 0, 0), sh); len(got) != MaxBacklogPoints+1 {
		t.Errorf("two years: %d points, want the cap+1 (%d) so the caller refuses", len(got), MaxBacklogPoints+1)
	}
}

// The engine's series: every incident in memory counted at the county's
// midnights, a township desk gets its own township only, the technician
// nothing, and more than a year of points is refused.
func TestBacklogScopedAsStats(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	must(t, e.Evaluate(ctx, reading("smoke-1", 1, t0))) // zhaoren
	must(t, e.Evaluate(ctx, reading("smoke-x", 1, t0))) // xiangong
	from, to := t0.Add(-time.Hour), t0.Add(3*24*time.Hour)

	all, err := e.Backlog(ops, from, to, "township")
	must(t, err)
	// t0 is 14:00 in Shanghai: the next three midnights, both open.
	if len(all.At) != 3 || all.At[0].UTC().Hour() != 16 || len(all.Rows) != 2 || !slices.Equal(all.Total.Open, []int{2, 2, 2}) {
		t.Fatalf("county: %+v", all)
	}
	own, err := e.Backlog(zhaoren, from, to, "township")
	must(t, err)
	if len(own.Rows) != 1 || own.Rows[0].Key != "zhaoren" || !slices.Equal(own.Total.Open, []int{1, 1, 1}) {
		t.Fatalf("township's own backlog: %+v", own)
	}
	if _, err := e.Backlog(tech, from, to, "township"); !errors.Is(err, event.ErrForbidden) {
		t.Fatalf("technician's backlog: %v", err)
	}
	if _, err := e.Backlog(ops, from, from.AddDate(1, 1, 0), "township"); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("13 months: %v", err)
	}
	if _, err := e.Backlog(ops, from, to, "village"); !errors.Is(err, event.ErrBadRequest) {
		t.Fatalf("by village: %v", err)
	}
}
