package event

import (
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
	OnTimeRate            map[string]*float64 `json:"on_time_rate"` // per step: on time / (done + pending past the deadline); null: neither
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
	StepsDone   map[string]int `json:"steps_done"`
	StepsOnTime map[string]int `json:"steps_on_time"`
	// Per step, the steps still pending past their deadline when the
	// figures were made: late, whether or not they are done later.
	StepsPendingLate   map[string]int `json:"steps_pending_late"`
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
// A step still pending past its deadline counts in its on-time rate as a
// step not on time: leaving a matter untouched never keeps a rate at 100 %.
// The first rating's satisfaction is over Rated (an incident has a first
// rating exactly when it has a final one).
func (r *StatsRow) Finish() {
	r.OnTimeRate = make(map[string]*float64, len(StatSteps))
	for _, st := range StatSteps {
		r.OnTimeRate[st] = ratio(int64(r.StepsOnTime[st]), int64(r.StepsDone[st]+r.StepsPendingLate[st]))
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

// StatsCSVHeader is the CSV's first line, Chinese first, each cell ending
// in the column's English key (the key a script reads: the text after the
// last space); columns are only ever added at the end.
var StatsCSVHeader = []string{"分组 group", "编号 key", "名称 name", "新增 opened", "已办结 closed", "在办 open_now", "在办超7天 backlog_over_7d", "在办超30天 backlog_over_30d",
	"派单按时率 on_time_dispatch", "接单按时率 on_time_accept", "派人按时率 on_time_assign", "办结按时率 on_time_resolve", "评单按时率 on_time_evaluate", "考单按时率 on_time_review",
	"督办 supervised", "上报 escalated_manual", "重办 reopened", "已评 rated", "满意 satisfied", "一般 neutral", "不满意 unsatisfied", "满意率 satisfaction_rate",
	"首次满意 first_satisfied", "首次满意率 first_satisfaction_rate", "平均分 mean_score", "平均接单秒 mean_time_to_accept_s", "平均办结秒 mean_time_to_resolve_s",
	// Added: what the rates are made of (StatsRow), so sheets of several
	// hubs can be added up.
	"已派单 steps_done_dispatch", "已接单 steps_done_accept", "已派人 steps_done_assign", "已办结 steps_done_resolve", "已评单 steps_done_evaluate", "已考单 steps_done_review",
	"按时派单 steps_on_time_dispatch", "按时接单 steps_on_time_accept", "按时派人 steps_on_time_assign", "按时办结 steps_on_time_resolve", "按时评单 steps_on_time_evaluate", "按时考单 steps_on_time_review",
	"已考评 scored", "总分 score_sum", "计时接单 timed_accept", "接单总毫秒 time_to_accept_sum_ms", "计时办结 timed_resolve", "办结总毫秒 time_to_resolve_sum_ms",
	// Added: steps still pending past their deadline, counted late in
	// the on-time rates.
	"超时未派单 steps_pending_late_dispatch", "超时未接单 steps_pending_late_accept", "超时未派人 steps_pending_late_assign", "超时未办结 steps_pending_late_resolve", "超时未评单 steps_pending_late_evaluate", "超时未考单 steps_pending_late_review",
	// Added: the county's 催办 of the matters in the row.
	"催办 reminded"}

// WriteStatsCSV writes rows as CSV; an empty rate is an empty cell.
func WriteStatsCSV(w io.Writer, rows []StatsRow) error {
	cw := NewCSVWriter(w)
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
		for _, st := range StatSteps {
			rec = append(rec, i(r.StepsPendingLate[st]))
		}
		rec = append(rec, i(r.Reminded))
		_ = cw.Write(rec)
	}
	return cw.Flush()
}

// ArchiveCSVHeader is the archive's CSV first line.
var ArchiveCSVHeader = []string{"编号 id", "标题 title", "来源 source", "外部单号 ref", "类别 class", "级别 severity", "类型 kind",
	"乡镇 township", "村/社区 village", "承办 owner", "制单时间 opened_at", "考单时间 reviewed_at", "状态 state", "做单人 assignee",
	"评价 rating", "考单分 score", "超时环节 late_steps", "重办 reopened", "督办级 supervision_tier"}

// WriteArchiveCSV writes incidents as the archive's CSV.
func WriteArchiveCSV(w io.Writer, incs []Incident) error {
	cw := NewCSVWriter(w)
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
	return cw.Flush()
}
