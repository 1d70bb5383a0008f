package notify

import (
	"slices"
	"strconv"
	"time"

	"snowhub/configs"
)

// route is a configured route ready to match.
type route struct {
	name string
	cfg  configs.NotifyRoute
	from int // minutes of the day; -1: any time
	to   int
	// people: a channel of its chain is read by people (a group robot,
	// SMS), not by a machine (webhook, MQTT out).
	people bool
}

// forPeople are the channel types people read.
var forPeople = []string{"dingtalk", "wecom", "sms"}

func newRoutes(rs []configs.NotifyRoute, chans []configs.NotifyChannel) []route {
	kind := map[string]string{}
	for _, c := range chans {
		kind[c.ID] = c.Type
	}
	out := make([]route, len(rs))
	for i, r := range rs {
		name := r.Name
		if name == "" {
			name = "route-" + strconv.Itoa(i)
		}
		out[i] = route{name: name, cfg: r, from: -1, to: -1}
		for _, id := range r.Channels {
			out[i].people = out[i].people || slices.Contains(forPeople, kind[id])
		}
		if r.From != "" && r.To != "" {
			out[i].from, out[i].to = tod(r.From), tod(r.To)
		}
	}
	return out
}

func tod(s string) int {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return -1
	}
	return t.Hour()*60 + t.Minute()
}

func in[T comparable](list []T, v T) bool { return len(list) == 0 || slices.Contains(list, v) }

// matches says whether the route hears step s. A route naming townships
// hears only their incidents: that is how a township's group never receives
// another township's.
func (r *route) matches(s *Step, action string, loc *time.Location, working func(time.Time) bool) bool {
	c := &r.cfg
	if !in(c.Townships, s.Township) || !in(c.Villages, s.Village) || !in(c.Severities, s.Severity) ||
		!in(c.Sources, s.Source) {
		return false
	}
	if len(c.Steps) == 0 {
		// An alarm folded into an open incident ("update") is news only
		// to a route that names it.
		if action == "update" {
			return false
		}
		// An operator's 确认 on the wall is not news for a township's
		// group or a phone: people hear it only from a route naming it
		// (a webhook or MQTT out still has every step).
		if action == "acknowledge" && r.people {
			return false
		}
	} else if !slices.Contains(c.Steps, action) && !(action == "unsatisfied" && slices.Contains(c.Steps, "evaluate")) {
		return false
	}
	if len(c.Tiers) > 0 && (s.Action == "supervise" || s.Tier > 0) && !slices.Contains(c.Tiers, s.Tier) {
		return false
	}
	if c.Days != "" {
		w := working(s.At)
		if (c.Days == "workdays") != w {
			return false
		}
	}
	if r.from >= 0 {
		t := s.At.In(loc)
		m := t.Hour()*60 + t.Minute()
		if r.from <= r.to {
			if m < r.from || m >= r.to {
				return false
			}
		} else if m < r.from && m >= r.to { // spans midnight
			return false
		}
	}
	return true
}

// weekdays is the working week when the hub gives no calendar.
func weekdays(loc *time.Location) func(time.Time) bool {
	return func(t time.Time) bool {
		wd := t.In(loc).Weekday()
		return wd != time.Saturday && wd != time.Sunday
	}
}

// quiet are steps no person took: they do not answer a reminder.
var quiet = []string{"update", "overdue", "supervise", "remind", "clear", "acknowledge", "flapping", "storm", "maintenance", "maintenance_end"}

// stopsRepeat says whether a later step of the incident ends a reminder
// waiting for until (empty: any step a person takes).
func stopsRepeat(until []string, action string) bool {
	if len(until) == 0 {
		return !slices.Contains(quiet, action)
	}
	return slices.Contains(until, action)
}
