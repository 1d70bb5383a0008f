package event

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// row builds a finished row the way the engine does: counts, then Finish.
func row(group, key string, set func(r *StatsRow)) StatsRow {
	r := StatsRow{Group: group, Key: key, Name: "名" + key, StepsDone: map[string]int{}, StepsOnTime: map[string]int{}}
	set(&r)
	r.Finish()
	return r
}

func val(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// Each merge rule on rows two hubs both have (the unassigned row, a
// person, a department): counts add, and every rate is the summed
// numerator over the summed denominator, which neither averaging the
// hubs' rates nor keeping one hub's row gives.
func TestMergeStatsRules(t *testing.T) {
	north := row("assignee", "", func(r *StatsRow) {
		r.Opened, r.Closed, r.OpenNow, r.BacklogOver7d, r.BacklogOver30d = 3, 1, 2, 1, 0
		r.StepsDone["accept"], r.StepsOnTime["accept"] = 3, 3 // 100 %
		r.StepsDone["resolve"], r.StepsOnTime["resolve"] = 1, 0
		r.Supervised, r.EscalatedManual, r.Reopened = 1, 1, 0
		r.Rated, r.Satisfied, r.FirstSatisfied = 1, 1, 0
		r.Scored, r.ScoreSum = 1, 90
		r.TimedAccept, r.TimeToAcceptSumMS = 3, 180_000 // 60 s each
		r.TimedResolve, r.TimeToResolveSumMS = 1, 3_600_000
	})
	south := row("assignee", "", func(r *StatsRow) {
		r.Opened, r.Closed, r.OpenNow, r.BacklogOver7d, r.BacklogOver30d = 1, 1, 0, 0, 1
		r.StepsDone["accept"], r.StepsOnTime["accept"] = 1, 0 // 0 %
		r.StepsDone["dispatch"], r.StepsOnTime["dispatch"] = 1, 1
		r.Supervised, r.Reopened = 1, 2
		r.Rated, r.Satisfied, r.Neutral, r.Unsatisfied, r.FirstSatisfied = 3, 1, 1, 1, 2
		r.Scored, r.ScoreSum = 3, 150 // mean 50
		r.TimedAccept, r.TimeToAcceptSumMS = 1, 600_000
	})
	m := MergeStats([]StatsRow{north}, []StatsRow{south})
	if len(m) != 1 {
		t.Fatalf("the unassigned rows of two hubs are %d rows, want one: %+v", len(m), m)
	}
	g := m[0]
	for _, c := range []struct {
		rule      string
		got, want any
	}{
		{"counts add: opened", g.Opened, 4}, {"closed", g.Closed, 2}, {"open now", g.OpenNow, 2},
		{"backlog over 7d", g.BacklogOver7d, 1}, {"over 30d", g.BacklogOver30d, 1},
		{"supervised", g.Supervised, 2}, {"escalated", g.EscalatedManual, 1}, {"reopened", g.Reopened, 2},
		{"rated", g.Rated, 4}, {"satisfied", g.Satisfied, 2}, {"neutral", g.Neutral, 1}, {"unsatisfied", g.Unsatisfied, 1},
		// 4 accepts, 3 on time: 75 %, not the hubs' mean of 50 %.
		{"on-time rate over the summed steps", val(g.OnTimeRate["accept"]), 0.75},
		{"steps done", g.StepsDone["accept"], 4}, {"steps on time", g.StepsOnTime["accept"], 3},
		// A step one hub never did: the other's rate stands, not halved.
		{"on-time rate of a step one hub did", val(g.OnTimeRate["dispatch"]), 1.0},
		{"on-time rate of a step one hub did (resolve)", val(g.OnTimeRate["resolve"]), 0.0},
		{"on-time rate of a step nobody did", val(g.OnTimeRate["review"]), nil},
		// 2 of 4 rated satisfied: 50 %, not (100 % + 33 %) / 2.
		{"satisfaction over the summed ratings", val(g.SatisfactionRate), 0.5},
		{"first satisfaction over the summed ratings", val(g.FirstSatisfactionRate), 0.5},
		// (90 + 150) / 4 = 60, not (90 + 50) / 2 = 70.
		{"mean score over every score", val(g.MeanScore), 60.0},
		{"scored", g.Scored, 4}, {"score sum", g.ScoreSum, 240},
		// (180 s + 600 s) / 4 = 195 s, not (60 + 600) / 2 = 330.
		{"mean time to accept over every incident", val(g.MeanTimeToAcceptS), 195.0},
		{"mean time to resolve of one hub's", val(g.MeanTimeToResolveS), 3600.0},
		{"timed accept", g.TimedAccept, 4}, {"accept sum", g.TimeToAcceptSumMS, int64(780_000)},
		{"name", g.Name, "名"},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.rule, c.got, c.want)
		}
	}
}

// Keys: township and village rows of different hubs are disjoint and come
// through unchanged, sorted by key; assignee and department rows of the
// same key meet; the same key in another group does not.
func TestMergeStatsKeys(t *testing.T) {
	n := func(group, key string, opened int) StatsRow {
		return row(group, key, func(r *StatsRow) { r.Opened = opened; r.StepsDone["accept"], r.StepsOnTime["accept"] = opened, 1 })
	}
	cases := []struct {
		name    string
		answers [][]StatsRow
		want    []StatsRow
	}{
		{"townships are disjoint", [][]StatsRow{{n("township", "zhaoren", 2)}, {n("township", "xiangong", 3)}},
			[]StatsRow{n("township", "xiangong", 3), n("township", "zhaoren", 2)}},
		{"a person both hubs have", [][]StatsRow{{n("assignee", "", 1), n("assignee", "p-wang", 2)}, {n("assignee", "p-wang", 2)}},
			[]StatsRow{n("assignee", "", 1), sumRows([]StatsRow{n("assignee", "p-wang", 2), n("assignee", "p-wang", 2)})}},
		{"a department both hubs summoned", [][]StatsRow{{n("department", "power", 1)}, {n("department", "power", 4), n("department", "water", 1)}},
			[]StatsRow{sumRows([]StatsRow{n("department", "power", 1), n("department", "power", 4)}), n("department", "water", 1)}},
		{"one answer", [][]StatsRow{{n("village", "v-1", 1)}}, []StatsRow{n("village", "v-1", 1)}},
		{"no answer", nil, []StatsRow{}},
		{"an empty answer", [][]StatsRow{{}, {n("township", "a", 1)}}, []StatsRow{n("township", "a", 1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := MergeStats(c.answers...)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
	// The sum of the colliding rows is the sum, with its rate recomputed.
	got := MergeStats([]StatsRow{n("department", "power", 1)}, []StatsRow{n("department", "power", 4)})
	if got[0].Opened != 5 || *got[0].OnTimeRate["accept"] != 2.0/5 {
		t.Errorf("power: opened %d, on time %v; want 5 and 0.4", got[0].Opened, *got[0].OnTimeRate["accept"])
	}
}

func TestMergeBacklog(t *testing.T) {
	d := func(n int) time.Time { return time.Date(2026, 2, n, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)) }
	at := []time.Time{d(1), d(2), d(3)}
	s := func(key string, open, o7, o30 []int) BacklogSeries {
		return BacklogSeries{Key: key, Name: "名" + key, Open: open, Over7d: o7, Over30d: o30}
	}
	north := Backlog{Group: "township", At: at, Rows: []BacklogSeries{s("zhaoren", []int{2, 2, 1}, []int{1, 1, 1}, []int{0, 1, 1})},
		Total: s("", []int{2, 2, 1}, []int{1, 1, 1}, []int{0, 1, 1})}
	south := Backlog{Group: "township", At: []time.Time{d(1).UTC(), d(2).UTC(), d(3).UTC()}, // the same instants
		Rows:  []BacklogSeries{s("xiangong", []int{0, 1, 3}, []int{0, 0, 1}, []int{0, 0, 0})},
		Total: s("", []int{0, 1, 3}, []int{0, 0, 1}, []int{0, 0, 0})}
	m, err := MergeBacklog(north, south)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Rows) != 2 || m.Rows[0].Key != "xiangong" || m.Rows[1].Key != "zhaoren" || !slices.Equal(m.Rows[1].Open, []int{2, 2, 1}) {
		t.Fatalf("rows: %+v", m.Rows)
	}
	// The total is recomputed over both hubs, not one hub's kept.
	if !slices.Equal(m.Total.Open, []int{2, 3, 4}) || !slices.Equal(m.Total.Over7d, []int{1, 1, 2}) || !slices.Equal(m.Total.Over30d, []int{0, 1, 1}) {
		t.Errorf("total %+v, want open 2,3,4 over7 1,1,2 over30 0,1,1", m.Total)
	}
	if m.Total.Key != "" || m.Total.Name != BacklogTotalName || !slices.Equal(m.At, at) {
		t.Errorf("total %q %q at %v", m.Total.Key, m.Total.Name, m.At)
	}
	// A key two answers have is summed point by point (a view that owns
	// a township and hears of it from a hub during a handover).
	twice, err := MergeBacklog(north, north)
	if err != nil || len(twice.Rows) != 1 || !slices.Equal(twice.Rows[0].Open, []int{4, 4, 2}) || !slices.Equal(twice.Total.Over30d, []int{0, 2, 2}) {
		t.Errorf("a key in two answers: %+v %v", twice, err)
	}
	// The inputs are not changed by the merge.
	if !slices.Equal(north.Rows[0].Open, []int{2, 2, 1}) {
		t.Errorf("merge wrote into its input: %v", north.Rows[0].Open)
	}
	// Other points: the hubs' calendars disagree; an error, not a sum.
	if _, err := MergeBacklog(north, Backlog{At: at[:2]}); err == nil {
		t.Error("answers at other points merged")
	}
	if _, err := MergeBacklog(north, Backlog{At: at, Rows: []BacklogSeries{s("x", []int{1}, []int{1}, []int{1})}}); err == nil {
		t.Error("a row of the wrong length merged")
	}
	empty, err := MergeBacklog(Backlog{Group: "township", At: at, Rows: []BacklogSeries{}})
	if err != nil || len(empty.Rows) != 0 || !slices.Equal(empty.Total.Open, []int{0, 0, 0}) {
		t.Errorf("no rows: %+v %v", empty, err)
	}
}

// Columns are only ever added at the end of the CSV: the header of the
// first release is its prefix, and every line has as many cells as it.
func TestStatsCSVKeepsItsOldColumns(t *testing.T) {
	old := strings.Split("group,key,name,opened,closed,open_now,backlog_over_7d,backlog_over_30d,on_time_dispatch,on_time_accept,on_time_assign,on_time_resolve,on_time_evaluate,on_time_review,supervised,escalated_manual,reopened,rated,satisfied,neutral,unsatisfied,satisfaction_rate,first_satisfied,first_satisfaction_rate,mean_score,mean_time_to_accept_s,mean_time_to_resolve_s", ",")
	keys := []string{}
	for _, h := range StatsCSVHeader {
		keys = append(keys, h[strings.LastIndex(h, " ")+1:]) // Chinese first, the key last
	}
	if !slices.Equal(keys[:len(old)], old) {
		t.Fatalf("the old columns moved:\n%v\n%v", StatsCSVHeader[:len(old)], old)
	}
	r := row("township", "zhaoren", func(r *StatsRow) {
		r.Opened, r.StepsDone["review"], r.StepsOnTime["review"], r.Scored, r.ScoreSum, r.TimedResolve, r.TimeToResolveSumMS = 2, 2, 1, 2, 170, 1, 5000
		r.Reminded = 3
	})
	var buf bytes.Buffer
	if err := WriteStatsCSV(&buf, []StatsRow{r}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cell := map[string]string{}
	for i, h := range recs[0] {
		cell[h[strings.LastIndex(h, " ")+1:]] = recs[1][i]
	}
	for k, want := range map[string]string{"opened": "2", "on_time_review": "0.5000", "mean_score": "85.0000", "steps_done_review": "2",
		"steps_on_time_review": "1", "scored": "2", "score_sum": "170", "timed_resolve": "1", "time_to_resolve_sum_ms": "5000", "mean_time_to_resolve_s": "5.0000", "reminded": "3"} {
		if cell[k] != want {
			t.Errorf("%s = %q, want %q", k, cell[k], want)
		}
	}
	if len(recs[1]) != len(StatsCSVHeader) {
		t.Errorf("%d cells under %d columns", len(recs[1]), len(StatsCSVHeader))
	}
}
