package prefecture

import (
	"context"
	"net/http"
	"testing"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

const admitYAML = `mqtt: {broker: "tcp://broker:1883"}
county: {id: changwu, name: 长武县}
townships:
  - {id: zhaoren, name: 昭仁街道, villages: [{id: v-zr-01, name: 东街社区}]}
  - {id: xiangong, name: 相公镇, villages: [{id: v-xg-01, name: 相公村}]}
  - {id: dingkou, name: 丁家镇, villages: [{id: v-dk-01, name: 丁家村}]}
cameras:
  - {id: cam-zr, name: 东街路口, village: v-zr-01, url: "rtsp://10.0.0.1/a"}
  - {id: cam-xg, name: 相公村口, village: v-xg-01, url: "rtsp://10.0.0.2/a"}
users:
  - {name: county-ops, role: operator, token: ops-token-0123456789}
  - {name: xiangong-desk, role: township, township: xiangong, token: xg-token-0123456789}
  - {name: dingkou-desk, role: township, township: dingkou, token: dk-token-0123456789}
  - {name: city, role: hub, token: city-token-0123456789}
hubs:
  - {id: north, townships: [zhaoren]}
  - {id: south, townships: [xiangong]}
  - {id: east, townships: [dingkou]}
  - {id: city, view: [all]}
  - {id: watch, view: [south]}
hub: {id: south}
`

// An owner answers only the list's views of it, and only for persons such
// a view serves: the forged requests of an owner that views nothing, or a
// view lending a desk it does not serve, are refused before the engine.
func TestAdmit(t *testing.T) {
	cfg, err := configs.Parse("x.yaml", []byte(admitYAML))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		view, user, want string
	}{
		{"city", "county-ops", ""},
		{"city", "xiangong-desk", ""},
		{"watch", "xiangong-desk", ""},
		{"north", "county-ops", RefusedNotAView},    // an owner viewing nothing
		{"north", "xiangong-desk", RefusedNotAView}, // as the desk of the owner's own township
		{"nobody", "county-ops", RefusedNotAView},   // a hub not on the list
		{"watch", "dingkou-desk", RefusedPerson},    // a desk of a hub the view does not view
		{"city", "city", RefusedPerson},             // a hub's own login acts for nobody
		{"city", "county-admin", RefusedPerson},     // nobody of that name
	} {
		_, reply, why := admit(cfg, "south", tt.view, tt.user)
		if why != tt.want || (tt.want != "" && (reply == nil || reply.Status != http.StatusForbidden)) {
			t.Errorf("%s asking for %s: refused %q (%+v), want %q", tt.view, tt.user, why, reply, tt.want)
		}
	}
	// Through the responder: the engine is never asked.
	called := 0
	a := NewActions(ActionsOptions{Self: "south", Prefix: "snowbright", Config: func() *configs.Config { return cfg },
		Act: func(_ context.Context, _ auth.Principal, _, _ string, _ event.ActionRequest) (event.Incident, error) {
			called++
			return event.Incident{}, nil
		}})
	_ = a.answer("north", ActionRequest{ID: "f1", User: "county-ops", Incident: "INC-south-20261203-0001", Action: "reassign"})
	if called != 0 || a.o.Refused.Count(RefusedNotAView) != 1 {
		t.Errorf("the engine was asked %d times for an owner's forged request; refused %d", called, a.o.Refused.Count(RefusedNotAView))
	}
	_ = a.answer("city", ActionRequest{ID: "ok", User: "county-ops", Incident: "INC-south-20261203-0001", Action: "accept"})
	if called != 1 {
		t.Errorf("the view's request was not answered by the engine")
	}
}
