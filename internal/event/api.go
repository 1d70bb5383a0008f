package event

import (
	"io"
	"strconv"
	"time"
)

// Incident is the public view of an incident (GET /api/v1/incidents and the
// websocket "incident" message).
type Incident struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`    // opened | dispatched | accepted | resolved | evaluated | reviewed | held
	Severity  string    `json:"severity"` // critical | major | minor
	Kind      string    `json:"kind"`     // rule type or device kind: smoke, offline, village_outage, ...
	Rule      string    `json:"rule,omitempty"`
	Title     string    `json:"title"`
	Township  string    `json:"township"`
	Village   string    `json:"village"`
	Device    string    `json:"device,omitempty"`
	Devices   []string  `json:"devices,omitempty"` // a village outage lists its devices
	Cameras   []string  `json:"cameras,omitempty"` // cameras to bring to the wall
	OpenedAt  time.Time `json:"opened_at"`
	Deadline  time.Time `json:"deadline,omitzero"` // of the current step
	Owner     string    `json:"owner"`             // township id, or "county"
	Level     string    `json:"level"`             // township | county: who holds it now
	Overdue   bool      `json:"overdue"`
	Escalated bool      `json:"escalated,omitempty"`
	Cleared   bool      `json:"cleared"` // the alarm cleared by itself; still needs a person
	Flapping  bool      `json:"flapping,omitempty"`
	Count     int       `json:"count"` // alarms folded into it
	LastSeen  time.Time `json:"last_seen"`
	Rating    string    `json:"rating,omitempty"`
	HeldFrom  string    `json:"held_from,omitempty"` // the state a held incident resumes
	History   []Step    `json:"history"`

	// The closed loop (v1 additions; every field above keeps its meaning,
	// except that township is the origin and owner the current holder).
	Source          string     `json:"source,omitempty"` // sensor | wall | grid | hotline_12345 | petition | department | other
	Ref             string     `json:"ref,omitempty"`    // outside ticket number (12345, petition)
	Class           string     `json:"class,omitempty"`  // simple | general | hotline_12345 | hard | ...
	Grid            string     `json:"grid,omitempty"`
	CreatedBy       string     `json:"created_by,omitempty"`
	Assignee        *Assignee  `json:"assignee,omitempty"`
	Dues            []Due      `json:"dues,omitempty"`       // every step now waiting, with its owner
	LateSteps       []LateStep `json:"late_steps,omitempty"` // permanent: never erased by later steps
	SupervisionTier int        `json:"supervision_tier,omitempty"`
	Ratings         []Rating   `json:"ratings,omitempty"` // every 评单, oldest first; survives reopen
	Score           *int       `json:"score,omitempty"`   // 考单, 0-100
	Timeliness      []StepTime `json:"timeliness,omitempty"`
	Summoned        []Summon   `json:"summoned,omitempty"`
	Extension       *Extension `json:"extension,omitempty"`
	// ExtendOptions are the lengths a 疑难延期 may ask now, each with the
	// deadline it gives, shortest first: only those ending within the
	// class's maximum (ExtendMax, from acceptance). Set while the matter is
	// being worked on with no extension waiting; absent otherwise.
	ExtendOptions   []ExtendOption `json:"extend_options,omitempty"`
	ExtendMax       time.Time      `json:"extend_max,omitzero"`
	Reopened        int            `json:"reopened,omitempty"`
	EscalatedManual int            `json:"escalated_manual,omitempty"`
	Reminders       int            `json:"reminders,omitempty"` // 催办 by the county
	Owners          []string       `json:"owners,omitempty"`    // townships that held it before, with a read-only view
	ReviewedAt      time.Time      `json:"reviewed_at,omitzero"`
	// 确认: someone at a wall or desk has seen the alarm (stops its sound
	// and reminders); it does not accept the incident. Cleared by reopen.
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	// Actions are the steps the caller may take now (the transition table
	// and auth.AllowStep, by alerts.ActionsFor): set on every answer to a
	// caller, [] when none; nil, and absent, where no caller is asking
	// (the store, the outbox, the feed between hubs).
	Actions []string `json:"actions,omitzero"`
}

// Assignee is the grid worker or cadre sent on site (派人).
type Assignee struct {
	ID   string    `json:"id"`
	Name string    `json:"name"`
	At   time.Time `json:"at"`
	By   string    `json:"by"`
}

// Due is a step waiting to be done by its owner.
type Due struct {
	Step  string    `json:"step"`  // dispatch | accept | assign | resolve | evaluate | review | report | hold
	Owner string    `json:"owner"` // county, a township id, or department:ID
	Due   time.Time `json:"due"`
	Tier  int       `json:"tier,omitempty"` // supervision tier reached (督办), 0 while on time
	Of    string    `json:"of,omitempty"`   // for report: the department
}

// LateStep records a step done (or still waiting) after its deadline.
type LateStep struct {
	Step   string    `json:"step"`
	Owner  string    `json:"owner"`
	Due    time.Time `json:"due"`
	DoneAt time.Time `json:"done_at,omitzero"` // zero: not done yet
	LateBy string    `json:"late_by,omitempty"`
	LateS  float64   `json:"late_s,omitempty"`
}

// Rating is one 评单 by the people concerned.
type Rating struct {
	At     time.Time `json:"at"`
	Rating string    `json:"rating"` // satisfied | neutral | unsatisfied
	Method string    `json:"method"` // phone | visit | on_site | unrecorded (old clients)
	Asked  string    `json:"asked"`  // reporter | household | village_head | other | unrecorded
	By     string    `json:"by"`
	Note   string    `json:"note,omitempty"`
}

// StepTime is one step's timeliness, for 考单.
type StepTime struct {
	Step   string    `json:"step"`
	Due    time.Time `json:"due,omitzero"`
	DoneAt time.Time `json:"done_at,omitzero"`
	OnTime bool      `json:"on_time"`
	LateBy string    `json:"late_by,omitempty"`
}

// Summon is a department called into a matter (街区吹哨、部门报到).
type Summon struct {
	Department string    `json:"department"`
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	Due        time.Time `json:"due,omitzero"` // of its 报到
	ReportedAt time.Time `json:"reported_at,omitzero"`
	DoneAt     time.Time `json:"done_at,omitzero"`
	Note       string    `json:"note,omitempty"`
}

// Extension is a hard case's request for more time (疑难延期).
type Extension struct {
	Cause       string    `json:"cause"`
	Crux        string    `json:"crux"` // 症结
	Until       time.Time `json:"until"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	Approved    bool      `json:"approved"`
	ApprovedBy  string    `json:"approved_by,omitempty"`
	ApprovedAt  time.Time `json:"approved_at,omitzero"`
}

// ExtendOption is one length an extension may ask (`by` of the extend
// step, as 3wd or 4h) and the resolve deadline it would give.
type ExtendOption struct {
	By    string    `json:"by"`
	Until time.Time `json:"until"`
}

// Step is one recorded step of an incident.
type Step struct {
	At       time.Time `json:"at"`
	Action   string    `json:"action"` // open | dispatch | accept | resolve | evaluate | review | escalate | hold | resume | reopen | reassign | clear | update | overdue
	By       string    `json:"by"`     // user name, or "system"
	Role     string    `json:"role,omitempty"`
	Level    string    `json:"level,omitempty"` // county | township | village
	From     string    `json:"from,omitempty"`  // state before
	To       string    `json:"to,omitempty"`    // state after
	Owner    string    `json:"owner,omitempty"`
	Note     string    `json:"note,omitempty"`
	Rating   string    `json:"rating,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`

	ID          uint64   `json:"id,omitempty"` // stable step id: its place in the outbox
	Tier        int      `json:"tier,omitempty"`
	Person      string   `json:"person,omitempty"`
	Method      string   `json:"method,omitempty"`
	Asked       string   `json:"asked,omitempty"`
	Score       *int     `json:"score,omitempty"`
	Departments []string `json:"departments,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	// Resolve: a hard matter's cause, crux (症结) and advice; why nobody
	// was sent on site when nobody was.
	Cause         string `json:"cause,omitempty"`
	Crux          string `json:"crux,omitempty"`
	Advice        string `json:"advice,omitempty"`
	NoVisitReason string `json:"no_visit_reason,omitempty"`
}

// IncidentFilter selects incidents for listing.
type IncidentFilter struct {
	State    string // "" or "all": every; "open": not reviewed; otherwise one state
	Township string
	Severity string
	Overdue  bool
	Source   string
	Village  string
	From, To time.Time // opened (or, for state=reviewed, reviewed) in [From, To)
	Offset   int
	Limit    int // 0: all
}

// Match reports whether inc passes f, paging aside: the one filter of the
// incident list, the engine's over its own and a view's over the other
// hubs'. "open" is every state but reviewed; for state=reviewed the range
// is of the review, otherwise of the opening.
func (f IncidentFilter) Match(inc *Incident) bool {
	switch f.State {
	case "", "all":
	case "open":
		if inc.State == "reviewed" {
			return false
		}
	default:
		if inc.State != f.State {
			return false
		}
	}
	if (f.Township != "" && inc.Township != f.Township && inc.Owner != f.Township) || (f.Severity != "" && inc.Severity != f.Severity) ||
		(f.Overdue && !inc.Overdue) || (f.Source != "" && inc.Source != f.Source) || (f.Village != "" && inc.Village != f.Village) {
		return false
	}
	at := inc.OpenedAt
	if f.State == "reviewed" {
		at = inc.ReviewedAt
	}
	return (f.From.IsZero() || !at.Before(f.From)) && (f.To.IsZero() || at.Before(f.To))
}

// NewestFirst is the incident list's order: the latest opened first, and
// of those opened at once the greater id.
func NewestFirst(a, b *Incident) bool {
	if !a.OpenedAt.Equal(b.OpenedAt) {
		return a.OpenedAt.After(b.OpenedAt)
	}
	return a.ID > b.ID
}

// Page is the page f asks for (Offset, Limit; 0: all) of a list in order,
// and the list's length before paging.
func Page[T any](list []T, f IncidentFilter) ([]T, int) {
	total := len(list)
	if f.Offset > 0 {
		list = list[min(f.Offset, len(list)):]
	}
	if f.Limit > 0 && len(list) > f.Limit {
		list = list[:f.Limit]
	}
	return list, total
}

// CreateRequest is the body of POST /api/v1/incidents (制单 by a person).
type CreateRequest struct {
	Title    string   `json:"title"`
	Kind     string   `json:"kind"`
	Severity string   `json:"severity"`
	Village  string   `json:"village"`
	Grid     string   `json:"grid"`
	Cameras  []string `json:"cameras"`
	Source   string   `json:"source"` // wall | grid | hotline_12345 | petition | department | other
	Ref      string   `json:"ref"`
	Note     string   `json:"note"`
	Class    string   `json:"class"`
	Remote   string   `json:"-"`
}

// ActionRequest is the body of POST /api/v1/incidents/{id}/{action}.
type ActionRequest struct {
	Note   string `json:"note"`
	Rating string `json:"rating"` // satisfied | neutral | unsatisfied (evaluate)
	Reason string `json:"reason"` // hold
	To     string `json:"to"`     // reassign: township id or "county"
	Score  *int   `json:"score"`  // review
	Remote string `json:"-"`      // caller's address, for the audit log

	Person      string   `json:"person"`      // assign
	Method      string   `json:"method"`      // evaluate: phone | visit | on_site
	Asked       string   `json:"asked"`       // evaluate: reporter | household | village_head | other
	Departments []string `json:"departments"` // summon
	Cause       string   `json:"cause"`       // extend; resolve of a hard matter
	Crux        string   `json:"crux"`        // extend; resolve of a hard matter (症结)
	By          string   `json:"by"`          // extend: how much longer, like 10wd or 5d
	Advice      string   `json:"advice"`      // resolve: the advice written down with a hard matter
	// NoVisitReason is why a matter is resolved with nobody sent on site
	// (resolve with no assignee): kept in the history.
	NoVisitReason string `json:"no_visit_reason"`
}

// Maintenance is a window during which a device (or every device of a
// village) is expected down: no incidents, excluded from uptime.
type Maintenance struct {
	ID      string    `json:"id"`
	Device  string    `json:"device,omitempty"`
	Village string    `json:"village,omitempty"`
	From    time.Time `json:"from"`
	Until   time.Time `json:"until"`
	Note    string    `json:"note"`
	By      string    `json:"by"`
	// ExceptAlarms: a village window set below the county leaves the
	// village's alarm sensors (smoke, panic, gas) watched.
	ExceptAlarms bool `json:"except_alarms,omitempty"`
}

// AuditEntry records one action by a person.
type AuditEntry struct {
	At       time.Time `json:"at"`
	User     string    `json:"user"`
	Role     string    `json:"role"`
	Action   string    `json:"action"`
	Incident string    `json:"incident,omitempty"`
	Target   string    `json:"target,omitempty"`
	Remote   string    `json:"remote,omitempty"`
	Result   string    `json:"result"` // ok, or the refusal
	// Prev is the SHA-256 (hex) of the record written before this one, as
	// stored: editing or removing a record breaks the chain after it.
	Prev string `json:"prev,omitempty"`
}

// UptimeReport answers GET /api/v1/uptime.
type UptimeReport struct {
	From      time.Time        `json:"from"`
	To        time.Time        `json:"to"`
	Cameras   []CameraUptime   `json:"cameras"`
	Townships []TownshipUptime `json:"townships"`
	Worst     []string         `json:"worst"` // camera ids, lowest uptime first
}

// CameraUptime is one camera's uptime over the report's range.
type CameraUptime struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Township    string   `json:"township"`
	Village     string   `json:"village"`
	Uptime      float64  `json:"uptime"` // online (and degraded) time / (range - maintenance - unknown)
	OnlineSec   float64  `json:"online_s"`
	DegradedSec float64  `json:"degraded_s"`
	OfflineSec  float64  `json:"offline_s"`
	MaintSec    float64  `json:"maintenance_s"`
	UnknownSec  float64  `json:"unknown_s"`
	Outages     []Outage `json:"outages"`
	// NoData are the spans of the range with no recorded state (before
	// the camera's first record, while the hub was not watching it): the
	// timeline draws them apart from online time.
	NoData []Span `json:"no_data"`
	State  string `json:"state"` // at the end of the range
	// DownSince is, for a camera offline now, when the outage it is in
	// began (GET /api/v1/cameras' down_since), which may be before From.
	DownSince time.Time `json:"down_since,omitzero"`
}

// Outage is a span a camera was offline.
type Outage struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to,omitzero"` // zero: still down
	Cause string    `json:"cause,omitempty"`
}

// Span is a stretch of time.
type Span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// TownshipUptime is a township's time-weighted online rate (在线率).
type TownshipUptime struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Cameras    int     `json:"cameras"`
	OnlineRate float64 `json:"online_rate"`
	DownNow    int     `json:"down_now"`
	// Intact is how many of the township's cameras give good video now
	// (online, not degraded); IntactRate (完好率) is that over all its
	// cameras, whatever their state (offline, degraded, in maintenance,
	// unknown all count against it).
	Intact     int     `json:"intact"`
	IntactRate float64 `json:"intact_rate"`
	// CheckLagS is how far behind its due time the most overdue health
	// check of the township's probe-mode cameras is, in seconds (0: on
	// time); absent for a township whose cameras this hub does not check.
	CheckLagS *float64 `json:"check_lag_s,omitempty"`
}

// UptimeCSVHeader is the uptime CSV's first line: the columns of the
// uptime page's own CSV (dashboard/web/js/uptime.js, csvRows), then the
// seconds the rate is made of.
var UptimeCSVHeader = []string{"摄像机编号 camera", "摄像机 name", "乡镇编号 township", "乡镇 township_name", "村编号 village", "村/社区 village_name", "重点路口 key",
	"在线率 uptime", "离线次数 outages", "当前状态 state", "离线自 down_since", "原因 cause",
	"在线秒 online_s", "画面异常秒 degraded_s", "离线秒 offline_s", "维护秒 maintenance_s"}

// UptimePlaces names what an uptime report has by id only: townships and
// villages by name, and which cameras watch a key crossing (重点路口).
type UptimePlaces struct {
	Township, Village map[string]string
	Key               map[string]bool
	Zone              *time.Location // for down_since; nil: UTC
}

// stateZH is a camera state as the pages say it (i18n.js).
var stateZH = map[string]string{"online": "在线", "degraded": "画面异常", "offline": "离线", "unknown": "状态未知", "maintenance": "维护中"}

// WriteCSV writes the per-camera rows as CSV, with the uptime page's
// columns: the rate as a percentage, the state in Chinese, down_since as
// local time.
func (r *UptimeReport) WriteCSV(w io.Writer, pl UptimePlaces) error {
	zone := pl.Zone
	if zone == nil {
		zone = time.UTC
	}
	cw := NewCSVWriter(w)
	_ = cw.Write(UptimeCSVHeader)
	sec := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	for _, c := range r.Cameras {
		key, since, cause := "", "", ""
		if pl.Key[c.ID] {
			key = "是"
		}
		if n := len(c.Outages); n > 0 && c.Outages[n-1].To.IsZero() && c.State == "offline" {
			since = c.Outages[n-1].From.In(zone).Format("2006-01-02 15:04:05")
			cause = c.Outages[n-1].Cause
		}
		if !c.DownSince.IsZero() && c.State == "offline" {
			since = c.DownSince.In(zone).Format("2006-01-02 15:04:05") // the outage's start, not the range's
		}
		st := stateZH[c.State]
		if st == "" {
			st = c.State
		}
		_ = cw.Write([]string{c.ID, c.Name, c.Township, pl.Township[c.Township], c.Village, pl.Village[c.Village], key,
			strconv.FormatFloat(c.Uptime*100, 'f', 2, 64) + "%", strconv.Itoa(len(c.Outages)), st, since, cause,
			sec(c.OnlineSec), sec(c.DegradedSec), sec(c.OfflineSec), sec(c.MaintSec)})
	}
	return cw.Flush()
}
