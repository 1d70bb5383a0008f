package alerts

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// StatSteps are the steps whose on-time rate is reported.
var StatSteps = []string{"dispatch", "accept", "assign", "resolve", "evaluate", "review"}

// Groups of the figures.
var StatGroups = []string{"township", "village", "assignee", "department"}

// statRow is what the figures need of one incident: small, so reviewed
// incidents that left memory keep theirs.
type statRow struct {
	township, village, assignee, assigneeName string
	departments                               []string
	openedAt                                  time.Time
	toAccept, toResolve                       time.Duration // 0: not yet
	handling, closed                          bool
	onTime, done                              [6]int
	supervised                                bool
	escalated, reopened                       int
	first, final                              string
	score                                     int // -1: none
}

func statOf(r *record) statRow {
	s := statRow{township: r.Township, village: r.Village, openedAt: r.OpenedAt, handling: r.handling(), closed: !r.handling(),
		escalated: r.EscalatedManual, reopened: r.Reopened, score: -1, supervised: len(r.LateSteps) > 0 || r.SupervisionTier > 0}
	if r.Assignee != nil {
		s.assignee, s.assigneeName = r.Assignee.ID, r.Assignee.Name
	}
	for _, d := range r.Summoned {
		s.departments = append(s.departments, d.Department)
	}
	for _, h := range r.History {
		switch {
		case h.Action == "accept" && s.toAccept == 0:
			s.toAccept = max(h.At.Sub(r.OpenedAt), time.Nanosecond)
		case h.Action == "resolve" && s.toResolve == 0:
			s.toResolve = max(h.At.Sub(r.OpenedAt), time.Nanosecond)
		}
	}
	for _, t := range r.Timeliness {
		for i, st := range StatSteps {
			if st == t.Step {
				s.done[i]++
				if t.OnTime {
					s.onTime[i]++
				}
			}
		}
	}
	if n := len(r.Ratings); n > 0 {
		s.first, s.final = r.Ratings[0].Rating, r.Ratings[n-1].Rating
	}
	if r.Score != nil {
		s.score = *r.Score
	}
	return s
}

// StatsRow is one row of GET /api/v1/stats.
type StatsRow struct {
	Group                  string              `json:"group"`
	Key                    string              `json:"key"`
	Name                   string              `json:"name"`
	Opened                 int                 `json:"opened"`
	Closed                 int                 `json:"closed"`
	OpenNow                int                 `json:"open_now"`
	BacklogOver7d          int                 `json:"backlog_over_7d"`
	BacklogOver30d         int                 `json:"backlog_over_30d"`
	OnTimeRate             map[string]*float64 `json:"on_time_rate"` // per step; null: no step done
	Supervised             int                 `json:"supervised"`
	EscalatedManual        int                 `json:"escalated_manual"`
	Reopened               int                 `json:"reopened"`
	Rated                  int                 `json:"rated"`
	Satisfied              int                 `json:"satisfied"` // final rating
	Neutral                int                 `json:"neutral"`
	Unsatisfied            int                 `json:"unsatisfied"`
	SatisfactionRate       *float64            `json:"satisfaction_rate"` // final: satisfied / rated
	FirstSatisfied         int                 `json:"first_satisfied"`
	FirstSatisfactionRate  *float64            `json:"first_satisfaction_rate"`
	MeanScore              *float64            `json:"mean_score"`
	MeanTimeToAcceptS      *float64            `json:"mean_time_to_accept_s"`
	MeanTimeToResolveS     *float64            `json:"mean_time_to_resolve_s"`
	onTime, done           [6]int
	scoreSum, scoreN       int
	acceptSum, resolveSum  time.Duration
	acceptN, resolveN      int
	firstRated, firstSatis int
}

// Stats are the figures for 通报 and 考核: incidents opened in [from, to),
// grouped. A township desk gets its own township's incidents only (its
// row, its villages, its people).
func (e *Engine) Stats(p auth.Principal, from, to time.Time, group string) ([]StatsRow, error) {
	if !containsStr(StatGroups, group) {
		return nil, event.BadRequest(fmt.Sprintf("group 用 township、village、assignee 或 department / group: use one of township, village, assignee, department (got %q)", group))
	}
	if !to.After(from) {
		return nil, event.BadRequest("to 须晚于 from / to must be after from")
	}
	sc := auth.Scope{}
	if !p.County() {
		sc.Township = p.Township
	}
	if err := auth.Allow(p, auth.Stats, sc); err != nil {
		return nil, err
	}
	now := e.now()
	e.mu.Lock()
	rows := make([]statRow, 0, len(e.incidents)+len(e.archived))
	for _, r := range e.incidents {
		if r.OpenedAt.Before(from) || !r.OpenedAt.Before(to) {
			continue
		}
		if !p.County() && r.Township != p.Township && r.Owner != p.Township {
			continue
		}
		rows = append(rows, statOf(r))
	}
	for _, a := range e.archived {
		s := a.stat
		if s.openedAt.Before(from) || !s.openedAt.Before(to) || (!p.County() && s.township != p.Township) {
			continue
		}
		rows = append(rows, s)
	}
	top := e.top
	e.mu.Unlock()

	at := now
	if to.Before(now) {
		at = to
	}
	out := map[string]*StatsRow{}
	get := func(key, name string) *StatsRow {
		if r := out[key]; r != nil {
			return r
		}
		r := &StatsRow{Group: group, Key: key, Name: name}
		out[key] = r
		return r
	}
	for _, s := range rows {
		var targets []*StatsRow
		switch group {
		case "township":
			targets = []*StatsRow{get(s.township, top.TownshipName[s.township])}
		case "village":
			targets = []*StatsRow{get(s.village, top.VillageName[s.village])}
		case "assignee":
			if s.assignee == "" {
				targets = []*StatsRow{get("", "未派人 / unassigned")}
			} else {
				targets = []*StatsRow{get(s.assignee, s.assigneeName)}
			}
		case "department":
			for _, d := range s.departments {
				targets = append(targets, get(d, top.Departments[d].Name))
			}
		}
		for _, r := range targets {
			r.add(s, at)
		}
	}
	list := make([]StatsRow, 0, len(out))
	for _, r := range out {
		r.finish()
		list = append(list, *r)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	return list, nil
}

func (r *StatsRow) add(s statRow, at time.Time) {
	r.Opened++
	if s.closed {
		r.Closed++
	}
	if s.handling {
		r.OpenNow++
		if at.Sub(s.openedAt) > 7*24*time.Hour {
			r.BacklogOver7d++
		}
		if at.Sub(s.openedAt) > 30*24*time.Hour {
			r.BacklogOver30d++
		}
	}
	for i := range s.done {
		r.onTime[i] += s.onTime[i]
		r.done[i] += s.done[i]
	}
	if s.supervised {
		r.Supervised++
	}
	r.EscalatedManual += s.escalated
	r.Reopened += s.reopened
	if s.final != "" {
		r.Rated++
		switch s.final {
		case "satisfied":
			r.Satisfied++
		case "neutral":
			r.Neutral++
		case "unsatisfied":
			r.Unsatisfied++
		}
		r.firstRated++
		if s.first == "satisfied" {
			r.firstSatis++
		}
	}
	if s.score >= 0 {
		r.scoreSum += s.score
		r.scoreN++
	}
	if s.toAccept > 0 {
		r.acceptSum += s.toAccept
		r.acceptN++
	}
	if s.toResolve > 0 {
		r.resolveSum += s.toResolve
		r.resolveN++
	}
}

func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

func (r *StatsRow) finish() {
	r.OnTimeRate = map[string]*float64{}
	for i, st := range StatSteps {
		r.OnTimeRate[st] = ratio(r.onTime[i], r.done[i])
	}
	r.SatisfactionRate = ratio(r.Satisfied, r.Rated)
	r.FirstSatisfied = r.firstSatis
	r.FirstSatisfactionRate = ratio(r.firstSatis, r.firstRated)
	r.MeanScore = ratio(r.scoreSum, r.scoreN)
	if r.acceptN > 0 {
		v := (r.acceptSum / time.Duration(r.acceptN)).Seconds()
		r.MeanTimeToAcceptS = &v
	}
	if r.resolveN > 0 {
		v := (r.resolveSum / time.Duration(r.resolveN)).Seconds()
		r.MeanTimeToResolveS = &v
	}
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
func WriteArchiveCSV(w io.Writer, incs []event.Incident) error {
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
