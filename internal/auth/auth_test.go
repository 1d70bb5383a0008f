package auth

import "testing"

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
