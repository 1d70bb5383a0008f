package app

import (
	"fmt"

	"snowhub/camera/gb28181"
	"snowhub/configs"
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
		Logger: h.log.With("component", "gb28181")})
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
