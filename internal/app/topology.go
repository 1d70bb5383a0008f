package app

import (
	"sort"

	"snowhub/camera"
	"snowhub/configs"
	"snowhub/internal/event"
)

// Where each device stands in the county tree, and the cameras as the
// camera manager wants them, both from the configuration in force.

// cameraSpecs are the cameras of cfg as the camera manager wants them.
func cameraSpecs(cfg *configs.Config) []camera.Spec {
	cfg = cfg.Owned() // in a prefecture, only this hub's townships' cameras
	out := make([]camera.Spec, 0, len(cfg.Cameras))
	township := map[string]string{}
	for _, tw := range cfg.Townships {
		for _, v := range tw.Villages {
			township[v.ID] = tw.ID
		}
	}
	for _, c := range cfg.Cameras {
		sub := c.SubstreamURL
		if sub == configs.SubstreamAuto {
			sub, _ = configs.DeriveSubstream(c.URL) // validated: derivable
		}
		out = append(out, camera.Spec{ID: c.ID, Name: c.Name, URL: c.URL, Transport: c.Transport, Watch: c.Watch, FPS: c.FPS, SubstreamURL: sub,
			Group: township[c.Village]}) // the check lag is told per township
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// topo indexes where each device stands, rebuilt with each configuration so
// lookups on hot paths are map reads.
type topo struct {
	cfg *configs.Config
	*configs.Topology
	villageTownship map[string]string
	townshipName    map[string]string
}

// newTopo is the configuration's one index of the county tree, with the
// short names the assembly used before it.
func newTopo(cfg *configs.Config) *topo {
	t := configs.NewTopology(cfg)
	return &topo{cfg: cfg, Topology: t, villageTownship: t.VillageTownship, townshipName: t.TownshipName}
}

// deviceState is a camera's state in the hub's words (event.State*). The
// camera package keeps its own, as it imports nothing of the hub's; this
// is the one place they meet. A state camera might add and the hub not
// know is unknown to the hub.
func deviceState(s string) string {
	switch s {
	case camera.StateOnline:
		return event.StateOnline
	case camera.StateDegraded:
		return event.StateDegraded
	case camera.StateOffline:
		return event.StateOffline
	case camera.StateMaintenance:
		return event.StateMaintenance
	case "":
		return ""
	}
	return event.StateUnknown
}

// cameraStatus joins a camera's live status with where it stands.
func (t *topo) cameraStatus(s camera.Status) event.CameraStatus {
	v := t.Devices[s.ID].Village
	return event.CameraStatus{
		ID: s.ID, Name: s.Name, Source: s.Source, Township: t.villageTownship[v], Village: v, State: deviceState(s.State), Cause: s.Cause,
		Since: s.Since, Watch: s.Watch, FPS: s.FPS, BitrateKbps: s.BitrateKbps,
		LastFrameAgeMs: s.LastFrameAge.Milliseconds(), KeyframeMs: s.KeyframeInterval.Milliseconds(),
		Codec: s.Codec, Width: s.Width, Height: s.Height, PacketsLost: s.PacketsLost, LossRatio: s.LossRatio,
		Errors: s.Errors, Reconnects: s.Reconnects, LastError: s.LastError, Uptime24h: s.Uptime24h,
		MaintenanceEnd: s.MaintenanceUntil, MaintenanceNote: s.MaintenanceNote,
	}
}

func (h *Hub) topo() *topo { return h.top.Load() }
