// Package prefecture joins the hubs of a prefecture over the MQTT broker
// they share (docs/prefecture.md): an owner hub publishes its feed (every
// incident step from the outbox, device state changes, retained current
// state and its status with a last will); a view hub subscribes to the
// feeds of the hubs it views and shows them as if local; actions taken on
// a view go to the owner as an MQTT request and come back as its answer.
//
// Everything rides on the hub's one broker session (ingest's), so the last
// will is the hub's own and the broker's client-id binding holds.
package prefecture

import (
	"strings"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Message kinds on the feed.
const (
	KindIncident = "incident"
	KindCamera   = "camera"
	KindSensor   = "sensor"
)

// Message is one feed message: on .../events (every step and change, in
// order) and, retained, on .../incidents|cameras|sensors/{id} (the current
// state).
type Message struct {
	Hub  string `json:"hub"`
	Kind string `json:"kind"`
	// Seq is, for an incident step, the owner's outbox id: it only grows,
	// survives restarts, and a repeat after a crash carries the same one.
	// Device messages carry 0: they are states, the newest (by At) wins.
	Seq      uint64              `json:"seq,omitempty"`
	Step     uint64              `json:"step,omitempty"` // the history step's id
	Action   string              `json:"action,omitempty"`
	At       time.Time           `json:"at"`
	Incident *event.Incident     `json:"incident,omitempty"`
	Camera   *event.CameraStatus `json:"camera,omitempty"`
	Sensor   *event.SensorStatus `json:"sensor,omitempty"`
}

// Status is the retained .../status message; the hub's last will says
// "offline" with no time (the view notes when it arrived).
type Status struct {
	Hub       string    `json:"hub"`
	State     string    `json:"state"` // online | offline
	At        time.Time `json:"at,omitzero"`
	Townships []string  `json:"townships,omitempty"`
	// URL is where views pull this hub's cameras' live video (hub.url).
	URL string `json:"url,omitempty"`
}

// ActionRequest goes from a view to the owner on
// {prefix}/hubs/{owner}/actions/{view}; the broker's ACL lets a hub write
// there only under its own id as the last level.
type ActionRequest struct {
	ID       string              `json:"id"` // correlation id
	User     string              `json:"user"`
	Incident string              `json:"incident"`
	Action   string              `json:"action"`
	Request  event.ActionRequest `json:"request"`
	// Create, when set, raises an incident by hand in the owner's village
	// (POST /api/v1/incidents on a view); Incident and Action are empty.
	Create *event.CreateRequest `json:"create,omitempty"`
	Remote string               `json:"remote,omitempty"` // the person's address, for the owner's audit
	// Query, when set, asks for the owner's figures as the user would get
	// them at the owner's desk (GET /api/v1/stats or /stats/backlog on a
	// view); Incident and Action are empty. figures.go.
	Query *Query `json:"query,omitempty"`
}

// Query kinds.
const (
	QueryStats   = "stats"
	QueryBacklog = "backlog"
)

// Query is a request for an owner's figures.
type Query struct {
	Kind  string    `json:"kind"` // stats | backlog
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Group string    `json:"group"`
}

// ActionReply is the owner's answer on {prefix}/hubs/{owner}/replies/{view}.
type ActionReply struct {
	ID       string          `json:"id"`
	Status   int             `json:"status"`
	Error    string          `json:"error,omitempty"`
	Incident *event.Incident `json:"incident,omitempty"`
	// The answer to a Query comes in Parts messages (Part 0 .. Parts-1),
	// each well under the broker's packet limit (figures.go): the stats
	// rows, or the backlog's rows (its points in part 0).
	Part    int              `json:"part,omitempty"`
	Parts   int              `json:"parts,omitempty"`
	Rows    []event.StatsRow `json:"rows,omitempty"`
	Backlog *event.Backlog   `json:"backlog,omitempty"`
}

// Topics of one prefix ("snowbright").
type Topics struct{ Prefix string }

func (t Topics) base(hub string) string   { return t.Prefix + "/hubs/" + hub }
func (t Topics) Events(hub string) string { return t.base(hub) + "/events" }
func (t Topics) Status(hub string) string { return t.base(hub) + "/status" }
func (t Topics) Incident(hub, id string) string {
	return t.base(hub) + "/incidents/" + id
}
func (t Topics) Camera(hub, id string) string { return t.base(hub) + "/cameras/" + id }
func (t Topics) Sensor(hub, id string) string { return t.base(hub) + "/sensors/" + id }
func (t Topics) Actions(owner, view string) string {
	return t.base(owner) + "/actions/" + view
}
func (t Topics) Replies(owner, view string) string {
	return t.base(owner) + "/replies/" + view
}

// parse splits a feed topic into hub, what (events, status, incidents,
// cameras, sensors, actions, replies) and the last level.
func (t Topics) parse(topic string) (hub, what, id string, ok bool) {
	rest, ok := strings.CutPrefix(topic, t.Prefix+"/hubs/")
	if !ok {
		return "", "", "", false
	}
	p := strings.Split(rest, "/")
	switch {
	case len(p) == 2 && (p[1] == "events" || p[1] == "status"):
		return p[0], p[1], "", true
	case len(p) == 3 && p[2] != "":
		return p[0], p[1], p[2], true
	}
	return "", "", "", false
}

// Scope is what auth decides on for an incident another hub holds.
func Scope(inc event.Incident) auth.Scope {
	s := auth.Scope{Township: inc.Township, Village: inc.Village, Owner: inc.Owner, Owners: inc.Owners, Incident: true}
	for _, x := range inc.Summoned {
		s.Departments = append(s.Departments, x.Department)
	}
	return s
}
