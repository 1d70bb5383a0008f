package dashboard

import (
	"testing"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// An incident's websocket message goes to whoever may see the incident
// now: the township it was handed to, the one that held it (read-only),
// a summoned department; not by its origin township alone.
func TestIncidentMessagesFollowTheOwner(t *testing.T) {
	inc := event.Incident{ID: "INC-1", Township: "zhaoren", Village: "v-zr-01", Owner: "xiangong", Owners: []string{"zhaoren"},
		Summoned: []event.Summon{{Department: "power"}}}
	sc := auth.IncidentScope(&inc)
	m := message{township: inc.Township, scope: &sc}
	for _, tt := range []struct {
		p    auth.Principal
		want bool
	}{
		{auth.Principal{Role: auth.RoleTownship, Township: "xiangong"}, true},
		{auth.Principal{Role: auth.RoleTownship, Township: "zhaoren"}, true},
		{auth.Principal{Role: auth.RoleTownship, Township: "tingkou"}, false},
		{auth.Principal{Role: auth.RoleDepartment, Department: "power"}, true},
		{auth.Principal{Role: auth.RoleDepartment, Department: "water"}, false},
		{auth.Principal{Role: auth.RoleVillage, Village: "v-zr-01", Township: "zhaoren"}, true},
		{auth.Principal{Role: auth.RoleOperator}, true},
	} {
		if got := m.maysee(tt.p); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt.p, got, tt.want)
		}
	}
	// Device events keep their township scope.
	dev := message{township: "zhaoren"}
	if dev.maysee(auth.Principal{Role: auth.RoleTownship, Township: "xiangong"}) {
		t.Error("another township sees a device event")
	}
}
