package event

import "time"

// HubState is a hub of a prefecture becoming reachable or unreachable, as
// a view hub sees it (Data: HubStatus; websocket type "hub").
const HubState Type = "hub.state"

// Hub reachability as a view hub shows it.
const (
	HubReachable   = "online"
	HubUnreachable = "unreachable"
)

// HubStatus is one hub of a prefecture as a view hub sees it: whether its
// feed is live, since when, and the townships it owns. A row of
// GET /api/v1/hubs.
type HubStatus struct {
	ID        string    `json:"id"`
	State     string    `json:"state"` // online | unreachable
	Since     time.Time `json:"since"`
	Townships []string  `json:"townships"`
	Incidents int       `json:"incidents"` // open incidents the view holds of it
	Cameras   int       `json:"cameras"`
	Sensors   int       `json:"sensors"`
	LastSeq   uint64    `json:"last_seq"` // the highest feed sequence applied
}
