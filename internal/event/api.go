package event

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
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
}

// IncidentFilter selects incidents for listing.
type IncidentFilter struct {
	State    string // "" or "all": every; "open": not reviewed; otherwise one state
	Township string
	Severity string
	Overdue  bool
}

// ActionRequest is the body of POST /api/v1/incidents/{id}/{action}.
type ActionRequest struct {
	Note   string `json:"note"`
	Rating string `json:"rating"` // satisfied | neutral | unsatisfied (evaluate)
	Reason string `json:"reason"` // hold
	To     string `json:"to"`     // reassign: township id or "county"
	Score  *int   `json:"score"`  // review
	Remote string `json:"-"`      // caller's address, for the audit log
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
	State       string   `json:"state"` // at the end of the range
}

// Outage is a span a camera was offline.
type Outage struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to,omitzero"` // zero: still down
	Cause string    `json:"cause,omitempty"`
}

// TownshipUptime is a township's time-weighted online rate (在线率).
type TownshipUptime struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Cameras    int     `json:"cameras"`
	OnlineRate float64 `json:"online_rate"`
	DownNow    int     `json:"down_now"`
}

// WriteCSV writes the per-camera rows as CSV.
func (r *UptimeReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"camera", "name", "township", "village", "uptime", "online_s", "degraded_s", "offline_s", "maintenance_s", "outages", "state"})
	for _, c := range r.Cameras {
		_ = cw.Write([]string{c.ID, c.Name, c.Township, c.Village,
			strconv.FormatFloat(c.Uptime, 'f', 6, 64),
			strconv.FormatFloat(c.OnlineSec, 'f', 0, 64), strconv.FormatFloat(c.DegradedSec, 'f', 0, 64),
			strconv.FormatFloat(c.OfflineSec, 'f', 0, 64), strconv.FormatFloat(c.MaintSec, 'f', 0, 64),
			strconv.Itoa(len(c.Outages)), c.State})
	}
	cw.Flush()
	return cw.Error()
}

// StatusError is an error the HTTP API answers with its status and reason.
type StatusError struct {
	Status int
	Reason string
}

func (e *StatusError) Error() string { return e.Reason }

// Errorf builds a StatusError.
func Errorf(status int, format string, args ...any) error {
	return &StatusError{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// HTTPStatus returns the status an error maps to (500 for plain errors).
func HTTPStatus(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return http.StatusInternalServerError
}

// Common refusals.
func Forbidden(reason string) error {
	return &StatusError{Status: http.StatusForbidden, Reason: reason}
}
func NotFound(what string) error {
	return &StatusError{Status: http.StatusNotFound, Reason: what + " not found"}
}
func Conflict(reason string) error { return &StatusError{Status: http.StatusConflict, Reason: reason} }
func BadRequest(reason string) error {
	return &StatusError{Status: http.StatusBadRequest, Reason: reason}
}
