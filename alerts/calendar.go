package alerts

import (
	"time"

	"snowhub/configs"
)

// Calendar counts working days: the county's working week, its holidays
// and the weekend days worked instead (调休), in its time zone.
type Calendar struct {
	loc      *time.Location
	workdays [7]bool
	holidays map[string]bool
	extra    map[string]bool
}

// NewCalendar builds a calendar; bad settings were refused by validation,
// so an unknown zone falls back to UTC+8.
func NewCalendar(c configs.Calendar) *Calendar {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil || c.TimeZone == "" {
		loc = time.FixedZone("CST", 8*3600)
	}
	cal := &Calendar{loc: loc, holidays: map[string]bool{}, extra: map[string]bool{}}
	days := c.Workdays
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	for _, d := range days {
		if wd, ok := configs.Weekday(d); ok {
			cal.workdays[wd] = true
		}
	}
	for _, d := range c.Holidays {
		cal.holidays[d] = true
	}
	for _, d := range c.ExtraWorkdays {
		cal.extra[d] = true
	}
	return cal
}

// Working reports whether the day of t (in the county's zone) is a working day.
func (c *Calendar) Working(t time.Time) bool {
	d := t.In(c.loc).Format(time.DateOnly)
	if c.extra[d] {
		return true
	}
	if c.holidays[d] {
		return false
	}
	return c.workdays[t.In(c.loc).Weekday()]
}

// Add is t plus a span. Working days move to the same time of day on the
// n-th following working day: Friday 17:00 + 1wd is Monday 17:00, or
// Tuesday when Monday is a holiday. A span started on a day off counts
// from that day's time as if it were the last working day.
func (c *Calendar) Add(t time.Time, s configs.Span) time.Time {
	if s.WD == 0 {
		return t.Add(s.D)
	}
	l := t.In(c.loc)
	for n := 0; n < s.WD; {
		l = l.AddDate(0, 0, 1)
		if c.Working(l) {
			n++
		}
	}
	return l.Add(s.D).In(t.Location())
}

func scale(s configs.Span, k int) configs.Span {
	return configs.Span{D: s.D * time.Duration(k), WD: s.WD * k}
}
