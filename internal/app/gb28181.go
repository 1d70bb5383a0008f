package app

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"snowhub/camera"
	"snowhub/camera/gb28181"
	"snowhub/configs"
	"snowhub/internal/event"
)

// buildGB28181 builds the GB/T 28181 SIP server when the configuration
// has a gb28181 section; without one the hub serves no SIP at all. Built
// after the cameras, so it closes before them: a source stops first.
func (h *Hub) buildGB28181(cfg *configs.Config) error {
	g := cfg.GB28181
	if g == nil {
		return nil
	}
	top := newTopo(cfg)
	// Civil codes place channels: a village's code stands for the
	// village in its township, a township's for the township.
	places := map[string]gb28181.Place{}
	for _, tw := range cfg.Townships {
		if tw.CivilCode != "" {
			places[tw.CivilCode] = gb28181.Place{Township: tw.ID}
		}
		for _, v := range tw.Villages {
			if v.CivilCode != "" {
				places[v.CivilCode] = gb28181.Place{Township: tw.ID, Village: v.ID}
			}
		}
	}
	chans := make([]gb28181.ChannelConfig, 0, len(g.Channels))
	for _, c := range g.Channels {
		tw := c.Township
		if tw == "" {
			tw = top.villageTownship[c.Village]
		}
		chans = append(chans, gb28181.ChannelConfig{ID: c.ID, Place: gb28181.Place{Township: tw, Village: c.Village}})
	}
	devs := make([]gb28181.DeviceConfig, 0, len(g.Devices))
	for _, d := range g.Devices {
		tw := d.Township
		if tw == "" {
			tw = top.villageTownship[d.Village]
		}
		devs = append(devs, gb28181.DeviceConfig{ID: d.ID, Password: d.Password, Township: tw, Village: d.Village})
	}
	srv, err := gb28181.New(gb28181.Options{ID: g.ID, Domain: g.Domain, Realm: g.Realm, Listen: g.Listen,
		Password: g.Password, Accept: g.Accept, Devices: devs, KeepaliveMisses: g.KeepaliveMisses,
		Places: places, Channels: chans, Logger: h.log.With("component", "gb28181"),
		// Both only nudge the sync (syncGBCameras): they must not block.
		OnChange: func(gb28181.Device) { h.gbCams.kick() }, OnCatalog: func(string) { h.gbCams.kick() }})
	if err != nil {
		return fmt.Errorf("gb28181: %w", err)
	}
	h.gb = srv
	h.deferClose("gb28181", srv.Close)
	return nil
}

// gbSource lists the GB/T 28181 devices for the API.
type gbSource struct{ h *Hub }

func (s gbSource) GB28181Devices(township string) any {
	out := []gb28181.Device{}
	if s.h.gb == nil {
		return out
	}
	for _, d := range s.h.gb.Devices() {
		if township == "" || d.Township == township {
			out = append(out, d)
		}
	}
	return out
}

func (s gbSource) GB28181Unplaced(township string) any {
	out := []gb28181.Channel{}
	if s.h.gb == nil {
		return out
	}
	for _, c := range s.h.gb.Channels() {
		if c.Placed {
			continue
		}
		if township != "" {
			// An unplaced channel stands nowhere: a township sees those of
			// its own devices.
			if d, _ := s.h.gb.Device(c.Device); d.Township != township {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// gbCameras are the placed GB/T 28181 channels: cameras of the hub through
// the one camera manager (Spec.Source gb28181), their state reported from
// the channels' state (their device's, then their catalog Status).
type gbCameras struct {
	wake   chan struct{} // a device changed or a catalog came: sync
	placed atomic.Pointer[map[string]gb28181.Channel]
	specMu sync.Mutex // one Update of the manager's cameras at a time (reload, sync)
}

func (g *gbCameras) kick() {
	select {
	case g.wake <- struct{}{}:
	default: // a sync is already due: it reads the latest
	}
}

// updateCameras gives the manager every camera: the configuration's and
// the placed GB channels (a configured camera wins an id both have).
func (h *Hub) updateCameras(cfg *configs.Config) {
	h.gbCams.specMu.Lock()
	defer h.gbCams.specMu.Unlock()
	specs := cameraSpecs(cfg)
	have := make(map[string]bool, len(specs))
	for _, s := range specs {
		have[s.ID] = true
	}
	if p := h.gbCams.placed.Load(); p != nil {
		for _, c := range *p {
			if !have[c.ID] {
				specs = append(specs, camera.Spec{ID: c.ID, Name: c.Name, Source: camera.SourceGB28181, Group: c.Township})
			}
		}
	}
	h.cams.Update(specs)
}

// syncGBCameras turns the GB channels into cameras whenever a device
// changes or a catalog comes: the placed set (Update when it changed),
// then each channel's state reported. Its own goroutine, as the reports
// wait for room in the camera event queue.
func (h *Hub) syncGBCameras(ctx context.Context) {
	defer h.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.gbCams.wake:
		}
		placed := map[string]gb28181.Channel{}
		for _, c := range h.gb.Channels() {
			if c.Placed {
				placed[c.ID] = c
			}
		}
		if old := h.gbCams.placed.Load(); old == nil || !sameCameras(*old, placed) {
			h.gbCams.placed.Store(&placed)
			h.updateCameras(h.cfg.Load())
			h.applyMaintenance()
		} else {
			h.gbCams.placed.Store(&placed)
		}
		for _, c := range placed {
			if ctx.Err() != nil {
				return
			}
			_ = h.cams.Report(c.ID, c.State, c.Cause, c.Reason) // not found: a configured camera has the id
		}
	}
}

// sameCameras: the same channels with the same names and townships (what
// a camera spec holds).
func sameCameras(a, b map[string]gb28181.Channel) bool {
	if len(a) != len(b) {
		return false
	}
	for id, c := range a {
		d, ok := b[id]
		if !ok || c.Name != d.Name || c.Township != d.Township {
			return false
		}
	}
	return true
}

// gbPlaced puts a GB channel's camera where its channel stands (the
// configuration's cameras stand in their village already).
func (h *Hub) gbPlaced(st event.CameraStatus) event.CameraStatus {
	if st.Source != camera.SourceGB28181 {
		return st
	}
	if p := h.gbCams.placed.Load(); p != nil {
		if c, ok := (*p)[st.ID]; ok {
			st.Township, st.Village = c.Township, c.Village
		}
	}
	return st
}
