package dashboard

import (
	"net/http"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// HubSource lists the hubs of a prefecture a view hub shows (nil on a
// single county hub).
type HubSource interface{ Hubs() []event.HubStatus }

// hubs answers GET /api/v1/hubs: each viewed hub, reachable or not and
// since when. A township user sees the hub that owns its township.
func (s *Server) hubs(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	writeJSON(w, 200, s.visibleHubs(p))
}

// visibleHubs are the viewed hubs p may know of (also in the websocket
// snapshot, so a wall that connects while an owner is down says so).
func (s *Server) visibleHubs(p auth.Principal) []event.HubStatus {
	out := []event.HubStatus{}
	if s.o.Hubs != nil {
		for _, h := range s.o.Hubs.Hubs() {
			if p.County() || p.Role == auth.RoleTechnician || containsTownship(h.Townships, p.Township) {
				out = append(out, h)
			}
		}
	}
	return out
}

func containsTownship(list []string, tw string) bool {
	for _, t := range list {
		if tw != "" && t == tw {
			return true
		}
	}
	return false
}
