package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"snowhub/configs"
	"snowhub/internal/prefecture"
)

// prefectureTrust says at start when the hub cannot check the other hubs
// (the old hub: form, no hubs: list), and counts what it refuses of them
// in snowhub_prefecture_refused_total{reason}, one series per reason from
// the start (docs/prefecture.md, "Trust").
func (h *Hub) prefectureTrust(cfg *configs.Config) *prefecture.Refusals {
	if w := cfg.PrefectureWarning(); w != "" {
		h.log.Warn(w)
	}
	r := prefecture.NewRefusals(h.log.With("component", "prefecture-trust"))
	for _, reason := range prefecture.RefusedReasons {
		h.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "snowhub_prefecture_refused_total",
			Help:        "Messages of other hubs refused against the hubs: list and the shared configuration, by reason.",
			ConstLabels: prometheus.Labels{"reason": reason}},
			func() float64 { return float64(r.Count(reason)) }))
	}
	return r
}
