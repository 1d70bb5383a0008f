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
	"first_satisfied", "first_satisfaction_rate", "mean_score", "mean_time_to_accept_s", "mean_time_to_resolve_s"}

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
