package event

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// Unavailable names a hub whose figures are missing from an answer of a
// view hub (GET /api/v1/stats and /stats/backlog): the hub, the townships
// it owns (as its last status said), and why, Chinese first. Hub is empty
// for townships no viewed hub has been seen owning.
type Unavailable struct {
	Hub       string   `json:"hub"`
	Townships []string `json:"townships"`
	Reason    string   `json:"reason"`
}

// MergeStats adds up the figures of several hubs: rows of the same group
// and key (an assignee or department both hubs have, the unassigned row)
// become one, whose counts are the sums and whose rates are computed again
// from the summed counts (Finish), never averaged. A key only one answer
// has keeps its row as it came. Rows come sorted by key, as the engine
// gives them.
func MergeStats(answers ...[]StatsRow) []StatsRow {
	type key struct{ group, key string }
	byKey := map[key][]StatsRow{}
	for _, rows := range answers {
		for _, r := range rows {
			k := key{r.Group, r.Key}
			byKey[k] = append(byKey[k], r)
		}
	}
	out := make([]StatsRow, 0, len(byKey))
	for _, rows := range byKey {
		if len(rows) == 1 {
			out = append(out, rows[0])
			continue
		}
		out = append(out, sumRows(rows))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Group < out[j].Group
	})
	return out
}

func sumRows(rows []StatsRow) StatsRow {
	m := StatsRow{Group: rows[0].Group, Key: rows[0].Key, StepsDone: map[string]int{}, StepsOnTime: map[string]int{}, StepsPendingLate: map[string]int{}}
	for _, r := range rows {
		if m.Name == "" {
			m.Name = r.Name
		}
		m.Opened += r.Opened
		m.Closed += r.Closed
		m.OpenNow += r.OpenNow
		m.BacklogOver7d += r.BacklogOver7d
		m.BacklogOver30d += r.BacklogOver30d
		m.Supervised += r.Supervised
		m.EscalatedManual += r.EscalatedManual
		m.Reopened += r.Reopened
		m.Reminded += r.Reminded
		m.Rated += r.Rated
		m.Satisfied += r.Satisfied
		m.Neutral += r.Neutral
		m.Unsatisfied += r.Unsatisfied
		m.FirstSatisfied += r.FirstSatisfied
		for _, st := range StatSteps {
			m.StepsDone[st] += r.StepsDone[st]
			m.StepsOnTime[st] += r.StepsOnTime[st]
			m.StepsPendingLate[st] += r.StepsPendingLate[st]
		}
		m.Scored += r.Scored
		m.ScoreSum += r.ScoreSum
		m.TimedAccept += r.TimedAccept
		m.TimeToAcceptSumMS += r.TimeToAcceptSumMS
		m.TimedResolve += r.TimedResolve
		m.TimeToResolveSumMS += r.TimeToResolveSumMS
	}
	m.Finish()
	return m
}

// BacklogTotalName names the total series.
const BacklogTotalName = "全县 / county"

// MergeBacklog adds up the backlog series of several hubs at the same
// points: a township's series is taken as it came, a key several answers
// have is summed point by point, and the total is the sum of the rows
// (each incident is in one row and in the total). Answers at other points
// are an error: the hubs' calendars disagree.
func MergeBacklog(answers ...Backlog) (Backlog, error) {
	if len(answers) == 0 {
		return Backlog{Group: "township", At: []time.Time{}, Rows: []BacklogSeries{}, Total: newSeries("", BacklogTotalName, 0)}, nil
	}
	at := answers[0].At
	rows := map[string]*BacklogSeries{}
	for _, b := range answers {
		if !slices.EqualFunc(b.At, at, time.Time.Equal) {
			return Backlog{}, fmt.Errorf("backlog points differ: %d from %v and %d from %v", len(at), firstPoint(at), len(b.At), firstPoint(b.At))
		}
		for _, r := range b.Rows {
			if len(r.Open) != len(at) || len(r.Over7d) != len(at) || len(r.Over30d) != len(at) {
				return Backlog{}, fmt.Errorf("backlog row %q has %d points, want %d", r.Key, len(r.Open), len(at))
			}
			s := rows[r.Key]
			if s == nil {
				s = ptr(newSeries(r.Key, r.Name, len(at)))
				rows[r.Key] = s
			}
			if s.Name == "" {
				s.Name = r.Name
			}
			addSeries(s, r)
		}
	}
	out := Backlog{Group: answers[0].Group, At: at, Rows: make([]BacklogSeries, 0, len(rows)), Total: newSeries("", BacklogTotalName, len(at))}
	if out.Group == "" {
		out.Group = "township"
	}
	if out.At == nil {
		out.At = []time.Time{}
	}
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		out.Rows = append(out.Rows, *rows[k])
		addSeries(&out.Total, *rows[k])
	}
	return out, nil
}

func newSeries(key, name string, n int) BacklogSeries {
	return BacklogSeries{Key: key, Name: name, Open: make([]int, n), Over7d: make([]int, n), Over30d: make([]int, n)}
}

func addSeries(s *BacklogSeries, r BacklogSeries) {
	for i := range s.Open {
		s.Open[i] += r.Open[i]
		s.Over7d[i] += r.Over7d[i]
		s.Over30d[i] += r.Over30d[i]
	}
}

func ptr[T any](v T) *T { return &v }

func firstPoint(at []time.Time) any {
	if len(at) == 0 {
		return "none"
	}
	return at[0]
}
