package auth

import (
	"slices"
	"testing"
)

// A hub's service credential is for live video only, which the dashboard
// grants by role: Allow refuses it everything, on every scope.
func TestHubRoleGetsNothing(t *testing.T) {
	p := Principal{Name: "city", Role: RoleHub}
	scopes := []Scope{{}, {Township: "zhaoren", Village: "v-zr-01"}, {Township: "zhaoren", Owner: "zhaoren", Incident: true}, {Owner: County, Incident: true}}
	for _, s := range scopes {
		for _, a := range []string{View, Create, Maintenance, Audit, Stats, Outbox} {
			if err := Allow(p, a, s); err == nil {
				t.Errorf("a hub credential may %s on %+v", a, s)
			}
		}
		for _, who := range []string{WhoCounty, WhoOwner, WhoDepartment, WhoViewer} {
			if err := AllowStep(p, "step", who, s); err == nil {
				t.Errorf("a hub credential may take a step for %s on %+v", who, s)
			}
		}
	}
	if p.CanSee("zhaoren") || p.CanSee("") || p.County() {
		t.Error("a hub credential sees townships")
	}
}

// The 等级保护 roles get the least each needs: the auditor the audit trail,
// the display the wall's view, the security administrator nothing of the
// incident work.
func TestSeparatedRoles(t *testing.T) {
	scopes := []Scope{{}, {Township: "zhaoren", Village: "v-zr-01"}, {Township: "zhaoren", Owner: "zhaoren", Incident: true}, {Owner: County, Incident: true}}
	for _, c := range []struct {
		role   string
		allows []string // of View, Create, Maintenance, Audit, Stats, Outbox
		sees   bool     // CanSee a township
	}{
		{RoleAuditor, []string{Audit}, false},
		{RoleSecurityAdmin, nil, false},
		{RoleDisplay, []string{View}, true},
	} {
		p := Principal{Name: "x", Role: c.role}
		for _, s := range scopes {
			for _, a := range []string{View, Create, Maintenance, Audit, Stats, Outbox} {
				err := Allow(p, a, s)
				if want := slices.Contains(c.allows, a); (err == nil) != want {
					t.Errorf("%s %s on %+v: %v, want allowed=%v", c.role, a, s, err, want)
				}
			}
			for _, who := range []string{WhoCounty, WhoOwner, WhoDepartment, WhoViewer} {
				if err := AllowStep(p, "acknowledge", who, s); err == nil {
					t.Errorf("%s may take a step for %s on %+v", c.role, who, s)
				}
			}
		}
		if p.CanSee("zhaoren") != c.sees || p.County() {
			t.Errorf("%s: CanSee %v, County %v", c.role, p.CanSee("zhaoren"), p.County())
		}
	}
}
