package event

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"time"
)

// StatSteps are the steps whose on-time rate the figures report.
var StatSteps = []string{"dispatch", "accept", "assign", "resolve", "evaluate", "review"}

// StatsRow is one row of GET /api/v1/stats.
type StatsRow struct {
	Group                 string              `json:"group"`
	Key                   string              `json:"key"`
	Name                  string              `json:"name"`
	Opened                int                 `json:"opened"`
	Closed                int                 `json:"closed"`
	OpenNow               int                 `json:"open_now"`
	BacklogOver7d         int                 `json:"backlog_over_7d"`
	BacklogOver30d        int                 `json:"backlog_over_30d"`
	OnTimeRate            map[string]*float64 `json:"on_time_rate"` // per step; null: no step done
	Supervised            int                 `json:"supervised"`
	EscalatedManual       int                 `json:"escalated_manual"`
	Reopened              int                 `json:"reopened"`
	Reminded              int                 `json:"reminded"` // 催办 by the county
	Rated                 int                 `json:"rated"`
	Satisfied             int                 `json:"satisfied"` // final rating
	Neutral               int                 `json:"neutral"`
	Unsatisfied           int                 `json:"unsatisfied"`
	SatisfactionRate      *float64            `json:"satisfaction_rate"` // final: satisfied / rated
	FirstSatisfied        int                 `json:"first_satisfied"`
	FirstSatisfactionRate *float64            `json:"first_satisfaction_rate"`
	MeanScore             *float64            `json:"mean_score"`
	MeanTimeToAcceptS     *float64            `json:"mean_time_to_accept_s"`
	MeanTimeToResolveS    *float64            `json:"mean_time_to_resolve_s"`

	// What the rates are made of, so rows of the same key from several
	// hubs add up exactly (MergeStats): per step, the steps done and done
	// on time; the incidents scored and their scores' sum; the incidents
	// with a time to accept and to resolve and those times' sums in whole
	// milliseconds. Every rate above is computed from these (Finish).
	StepsDone          map[string]int `json:"steps_done"`
	StepsOnTime        map[string]int `json:"steps_on_time"`
	Scored             int            `json:"scored"`
	ScoreSum           int            `json:"score_sum"`
	TimedAccept        int            `json:"timed_accept"`
	TimeToAcceptSumMS  int64          `json:"time_to_accept_sum_ms"`
	TimedResolve       int            `json:"timed_resolve"`
	TimeToResolveSumMS int64          `json:"time_to_resolve_sum_ms"`
}

// Finish computes the row's rates from its counts: the one place they are
// computed, by the engine for its own rows and by MergeStats for merged
// ones, so a merged row equals the row of one hub holding every incident.
// The first rating's satisfaction is over Rated (an incident has a first
// rating exactly when it has a final one).
func (r *StatsRow) Finish() {
	r.OnTimeRate = make(map[string]*float64, len(StatSteps))
	for _, st := range StatSteps {
		r.OnTimeRate[st] = ratio(int64(r.StepsOnTime[st]), int64(r.StepsDone[st]))
	}
	r.SatisfactionRate = ratio(int64(r.Satisfied), int64(r.Rated))
	r.FirstSatisfactionRate = ratio(int64(r.FirstSatisfied), int64(r.Rated))
	r.MeanScore = ratio(int64(r.ScoreSum), int64(r.Scored))
	r.MeanTimeToAcceptS = meanSeconds(r.TimeToAcceptSumMS, r.TimedAccept)
	r.MeanTimeToResolveS = meanSeconds(r.TimeToResolveSumMS, r.TimedResolve)
}

func ratio(a, b int64) *float64 {
	if b == 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

func meanSeconds(sumMS int64, n int) *float64 {
	if n == 0 {
		return nil
	}
	v := float64(sumMS) / float64(n) / 1000
	return &v
}

// OutboxEntry is one committed incident step in the outbox: its stable id
// (the order of commits), the step, and the incident as it stood after it.
type OutboxEntry struct {
	ID       uint64    `json:"id"`
	Step     uint64    `json:"step,omitempty"` // the history step's id (equal to ID); 0 for "update"
	Action   string    `json:"action"`         // the step's action, or "update" (count, devices)
	At       time.Time `json:"at"`
	Incident Incident  `json:"incident"`
}

// StatsCSVHeader is the CSV's first line; columns are only ever added at the end.
var StatsCSVHeader = []string{"group", "key", "name", "opened", "closed", "open_now", "backlog_over_7d", "backlog_over_30d",
	"on_time_dispatch", "on_time_accept", "on_time_assign", "on_time_resolve", "on_time_evaluate", "on_time_review",
	"supervised", "escalated_manual", "reopened", "rated", "satisfied", "neutral", "unsatisfied", "satisfaction_rate",
	"first_satisfied", "first_satisfaction_rate", "mean_score", "mean_time_to_accept_s", "mean_time_to_resolve_s",
	// Added: what the rates are made of (StatsRow), so sheets of several
	// hubs can be added up.
	"steps_done_dispatch", "steps_done_accept", "steps_done_assign", "steps_done_resolve", "steps_done_evaluate", "steps_done_review",
	"steps_on_time_dispatch", "steps_on_time_accept", "steps_on_time_assign", "steps_on_time_resolve", "steps_on_time_evaluate", "steps_on_time_review",
	"scored", "score_sum", "timed_accept", "time_to_accept_sum_ms", "timed_resolve", "time_to_resolve_sum_ms"}

// WriteStatsCSV writes rows as CSV; an empty rate is an empty cell.
func WriteStatsCSV(w io.Writer, rows []StatsRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(StatsCSVHeader)
	f := func(v *float64) string {
		if v == nil || math.IsNaN(*v) {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 4, 64)
	}
	i := strconv.Itoa
	for _, r := range rows {
		rec := []string{r.Group, r.Key, r.Name, i(r.Opened), i(r.Closed), i(r.OpenNow), i(r.BacklogOver7d), i(r.BacklogOver30d)}
		for _, st := range StatSteps {
			rec = append(rec, f(r.OnTimeRate[st]))
		}
		rec = append(rec, i(r.Supervised), i(r.EscalatedManual), i(r.Reopened), i(r.Rated), i(r.Satisfied), i(r.Neutral),
			i(r.Unsatisfied), f(r.SatisfactionRate), i(r.FirstSatisfied), f(r.FirstSatisfactionRate), f(r.MeanScore),
			f(r.MeanTimeToAcceptS), f(r.MeanTimeToResolveS))
		for _, st := range StatSteps {
			rec = append(rec, i(r.StepsDone[st]))
		}
		for _, st := range StatSteps {
			rec = append(rec, i(r.StepsOnTime[st]))
		}
		rec = append(rec, i(r.Scored), i(r.ScoreSum), i(r.TimedAccept), strconv.FormatInt(r.TimeToAcceptSumMS, 10),
			i(r.TimedResolve), strconv.FormatInt(r.TimeToResolveSumMS, 10))
		_ = cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// ArchiveCSVHeader is the archive's CSV first line.
var ArchiveCSVHeader = []string{"id", "title", "source", "ref", "class", "severity", "kind", "township", "village", "owner",
	"opened_at", "reviewed_at", "state", "assignee", "rating", "score", "late_steps", "reopened", "supervision_tier"}

// WriteArchiveCSV writes incidents as the archive's CSV.
func WriteArchiveCSV(w io.Writer, incs []Incident) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(ArchiveCSVHeader)
	for _, x := range incs {
		as, score, rev := "", "", ""
		if x.Assignee != nil {
			as = x.Assignee.Name
		}
		if x.Score != nil {
			score = strconv.Itoa(*x.Score)
		}
		if !x.ReviewedAt.IsZero() {
			rev = x.ReviewedAt.Format(time.RFC3339)
		}
		_ = cw.Write([]string{x.ID, x.Title, x.Source, x.Ref, x.Class, x.Severity, x.Kind, x.Township, x.Village, x.Owner,
			x.OpenedAt.Format(time.RFC3339), rev, x.State, as, x.Rating, score, strconv.Itoa(len(x.LateSteps)),
			strconv.Itoa(x.Reopened), strconv.Itoa(x.SupervisionTier)})
	}
	cw.Flush()
	return cw.Error()
}
