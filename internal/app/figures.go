package app

import (
	"context"
	"time"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/prefecture"
)

// The figures (GET /api/v1/stats and /stats/backlog) of a view hub cover
// every viewed hub, as if local: this hub's own engine's rows, and each
// owner's, asked over the broker (internal/prefecture/figures.go) and
// added up exactly (event.MergeStats, MergeBacklog). What an owner could
// not give is named in the answer, never left out silently. A hub that
// views nothing answers from its engine alone, as it always has.

// StatsAcross is the figures of p over this hub and the hubs it views.
func (s incidentService) StatsAcross(ctx context.Context, p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, []event.Unavailable, error) {
	own, err := s.h.alerts.Stats(p, from, to, group) // validates and authorises first: nobody is asked for a refused query
	v := s.h.fed.view
	if err != nil || v == nil {
		return own, nil, err
	}
	answers, missing := v.Figures(ctx, p, prefecture.Query{Kind: prefecture.QueryStats, From: from, To: to, Group: group}, s.h.remoteTownships(p))
	all := [][]event.StatsRow{own}
	for _, a := range answers {
		all = append(all, a.Rows)
	}
	return event.MergeStats(all...), missing, nil
}

// BacklogAcross is the backlog series of p over this hub and the hubs it
// views, at this hub's points (an owner at other points, with another
// calendar, is named as missing rather than added up wrongly).
func (s incidentService) BacklogAcross(ctx context.Context, p auth.Principal, from, to time.Time, group string) (event.Backlog, []event.Unavailable, error) {
	own, err := s.h.alerts.Backlog(p, from, to, group)
	v := s.h.fed.view
	if err != nil || v == nil {
		return own, nil, err
	}
	answers, missing := v.Figures(ctx, p, prefecture.Query{Kind: prefecture.QueryBacklog, From: from, To: to, Group: group}, s.h.remoteTownships(p))
	all := []event.Backlog{own}
	for _, a := range answers {
		if _, err := event.MergeBacklog(own, *a.Backlog); err != nil {
			missing = append(missing, event.Unavailable{Hub: a.Hub, Townships: a.Townships,
				Reason: "所属中心 " + a.Hub + " 的日期点与本中心不同（日历时区？），其数据未计入 / hub " + a.Hub + ": " + err.Error()})
			continue
		}
		all = append(all, *a.Backlog)
	}
	b, err := event.MergeBacklog(all...)
	return b, missing, err
}

// remoteTownships are the townships p's figures cover that this hub does
// not own: every other for the county, a township or village user's own.
func (h *Hub) remoteTownships(p auth.Principal) []string {
	cfg := h.cfg.Load()
	var out []string
	if p.County() {
		for _, t := range cfg.Townships {
			if !cfg.OwnsTownship(t.ID) {
				out = append(out, t.ID)
			}
		}
		return out
	}
	if p.Township != "" && !cfg.OwnsTownship(p.Township) {
		out = append(out, p.Township)
	}
	return out
}

// keepInMemory is alerts.keep_in_memory as a duration (working days
// counted as days, as the engine does): how long a view lists another
// hub's reviewed incident.
func keepInMemory(cfg *configs.Config) time.Duration {
	k := cfg.Alerts.KeepInMemory
	return k.D + time.Duration(k.WD)*24*time.Hour
}
