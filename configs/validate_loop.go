package configs

import (
	"slices"
	"strings"
	"time"
)

// PersonRoles are the roles of people an incident can be assigned to.
var PersonRoles = []string{"grid_head", "grid_worker", "keeper", "village_police", "cadre", "other"}

// Outcomes of alerts.on_overdue and alerts.on_unsatisfied.
var (
	OverduePolicies     = []string{"supervise", "take_over"}
	UnsatisfiedPolicies = []string{"reopen", "county", "none"}
)

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// Weekday reads mon..sun.
func Weekday(s string) (time.Weekday, bool) {
	d, ok := weekdays[strings.ToLower(s)]
	return d, ok
}

// validatePeople checks grids, people and departments, and devices' grids;
// it returns the department ids.
func validatePeople(p *problems, c *Config, villages map[string]string, unique func(path, id, what string)) map[string]bool {
	gridVillage := map[string]string{}
	townships := map[string]bool{}
	for i, t := range c.Townships {
		townships[t.ID] = true
		for j, v := range t.Villages {
			for k, g := range v.Grids {
				unique(pathf("townships[%d].villages[%d].grids[%d].id", i, j, k), g.ID, "grid")
				gridVillage[g.ID] = v.ID
			}
		}
	}
	for i, cam := range c.Cameras {
		if cam.Grid != "" && gridVillage[cam.Grid] != cam.Village {
			p.add(pathf("cameras[%d].grid", i), "%q is not a grid of village %s", cam.Grid, cam.Village)
		}
	}
	for i, s := range c.Sensors {
		if s.Grid != "" && gridVillage[s.Grid] != s.Village {
			p.add(pathf("sensors[%d].grid", i), "%q is not a grid of village %s", s.Grid, s.Village)
		}
	}
	people := map[string]bool{}
	for i, x := range c.People {
		base := pathf("people[%d]", i)
		unique(base+".id", x.ID, "person")
		people[x.ID] = true
		if x.Name == "" {
			p.add(base+".name", "a person needs a name")
		}
		if !slices.Contains(PersonRoles, x.Role) {
			p.add(base+".role", "%q: use one of %s", x.Role, strings.Join(PersonRoles, ", "))
		}
		switch {
		case x.Village != "" && villages[x.Village] == "":
			p.add(base+".village", "unknown village %q", x.Village)
		case x.Village != "" && x.Township != "" && villages[x.Village] != x.Township:
			p.add(base+".township", "village %s is in township %s, not %s", x.Village, villages[x.Village], x.Township)
		case x.Village == "" && x.Township == "":
			p.add(base, "a person belongs to a village, or (a township cadre) to a township")
		case x.Village == "" && !townships[x.Township]:
			p.add(base+".township", "unknown township %q", x.Township)
		}
		if x.Grid != "" && gridVillage[x.Grid] != x.Village {
			p.add(base+".grid", "%q is not a grid of village %s", x.Grid, x.Village)
		}
	}
	for i, t := range c.Townships {
		for j, v := range t.Villages {
			if v.Cadre != "" && !people[v.Cadre] {
				p.add(pathf("townships[%d].villages[%d].cadre", i, j), "unknown person %q", v.Cadre)
			}
		}
	}
	deps := map[string]bool{}
	for i, d := range c.Departments {
		base := pathf("departments[%d]", i)
		unique(base+".id", d.ID, "department")
		deps[d.ID] = true
		if d.Name == "" {
			p.add(base+".name", "a department needs a name")
		}
	}
	return deps
}

// validateLoop checks the closed loop's settings.
func validateLoop(p *problems, a *AlertsConfig) {
	if !slices.Contains(OverduePolicies, a.OnOverdue) {
		p.add("alerts.on_overdue", "%q: use supervise or take_over", a.OnOverdue)
	}
	if !slices.Contains(UnsatisfiedPolicies, a.OnUnsatisfied) {
		p.add("alerts.on_unsatisfied", "%q: use reopen, county or none", a.OnUnsatisfied)
	}
	if a.NoteLimit < 1 {
		p.add("alerts.note_limit", "must be at least 1")
	}
	if _, err := time.LoadLocation(a.Calendar.TimeZone); err != nil {
		p.add("alerts.calendar.time_zone", "%q is not a time zone like Asia/Shanghai", a.Calendar.TimeZone)
	}
	for i, d := range a.Calendar.Workdays {
		if _, ok := Weekday(d); !ok {
			p.add(pathf("alerts.calendar.workdays[%d]", i), "%q: use mon, tue, wed, thu, fri, sat, sun", d)
		}
	}
	for key, list := range map[string][]string{"holidays": a.Calendar.Holidays, "extra_workdays": a.Calendar.ExtraWorkdays} {
		for i, d := range list {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				p.add(pathf("alerts.calendar.%s[%d]", key, i), "%q is not a date like 2026-10-01", d)
			}
		}
	}
	for name, st := range a.Deadlines {
		if st.Accept.IsZero() && st.Resolve.IsZero() {
			p.add("alerts.deadlines."+name, "needs at least accept or resolve")
		}
	}
	for name, cl := range a.Classes {
		if !idRE.MatchString(name) {
			p.add("alerts.classes."+name, "a class name is letters, digits, '.', '_' or '-'")
		}
		if !cl.Max.IsZero() && !cl.Resolve.IsZero() && cl.Max.WD == 0 && cl.Resolve.WD == 0 && cl.Max.D < cl.Resolve.D {
			p.add("alerts.classes."+name+".max", "is shorter than resolve")
		}
	}
}
