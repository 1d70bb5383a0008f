package prefecture

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

func inc(id, township, state string, steps int) *event.Incident {
	i := &event.Incident{ID: id, Township: township, Owner: township, State: state, OpenedAt: time.Unix(1000, 0)}
	for n := 0; n < steps; n++ {
		i.History = append(i.History, event.Step{Action: "s", At: time.Unix(int64(1000+n), 0)})
	}
	return i
}

// TestViewAppliesEachStepOnceInAnyOrder: retained state and the events
// topic overlap, a restarted owner repeats steps, and the view must show
// the newest state once and pass each newer state to its walls once.
func TestViewAppliesEachStepOnceInAnyOrder(t *testing.T) {
	var emitted []event.Event
	v := NewView(ViewOptions{Self: "city", Prefix: "snowbright", View: []string{"all"}, Emit: func(ev event.Event) { emitted = append(emitted, ev) }})
	ops := auth.Principal{Name: "ops", Role: auth.RoleOperator}
	msgs := []Message{
		{Hub: "north", Kind: KindIncident, Seq: 3, Incident: inc("INC-north-1", "zhaoren", "accepted", 3)},
		{Hub: "north", Kind: KindIncident, Seq: 2, Incident: inc("INC-north-1", "zhaoren", "dispatched", 2)}, // older, late
		{Hub: "north", Kind: KindIncident, Seq: 3, Incident: inc("INC-north-1", "zhaoren", "accepted", 3)},   // repeat after a restart
		{Hub: "south", Kind: KindIncident, Seq: 1, Incident: inc("INC-south-1", "xiangong", "opened", 1)},
	}
	for _, m := range msgs {
		v.Apply(m)
	}
	if len(emitted) != 2 {
		t.Fatalf("emitted %d events, want 2 (one per new state)", len(emitted))
	}
	got, _, err := v.Get(ops, "INC-north-1")
	if err != nil || got.State != "accepted" || len(got.History) != 3 {
		t.Fatalf("INC-north-1 = %s with %d steps (%v), want accepted with 3", got.State, len(got.History), err)
	}
	desk := auth.Principal{Name: "zr", Role: auth.RoleTownship, Township: "zhaoren"}
	if l := v.Incidents(desk, event.IncidentFilter{State: "open"}); len(l) != 1 || l[0].ID != "INC-north-1" {
		t.Fatalf("zhaoren's desk sees %+v, want INC-north-1 only", l)
	}
	if _, _, err := v.Get(desk, "INC-south-1"); !errors.Is(err, event.ErrNotFound) {
		t.Fatalf("zhaoren's desk getting xiangong's incident: %v, want not found", err)
	}
	if h, ok := v.Owner("INC-south-1"); !ok || h != "south" {
		t.Fatalf("owner of INC-south-1 = %q", h)
	}
}

// TestViewUnreachableOwner: the last will marks the hub unreachable with
// the time, keeps its incidents and devices, and an action on its incident
// is refused at once with 503 naming the hub.
func TestViewUnreachableOwner(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	v := NewView(ViewOptions{Self: "city", Prefix: "snowbright", View: []string{"north"}, Now: func() time.Time { return now }})
	v.applyStatus("north", []byte(`{"hub":"north","state":"online","at":"2026-11-25T02:00:00Z","townships":["zhaoren"]}`))
	v.Apply(Message{Hub: "north", Kind: KindIncident, Seq: 1, Incident: inc("INC-north-1", "zhaoren", "opened", 1)})
	v.Apply(Message{Hub: "north", Kind: KindCamera, At: now, Camera: &event.CameraStatus{ID: "cam-1", Township: "zhaoren", State: "online"}})
	v.applyStatus("north", willPayload("north"))
	h := v.Hubs()
	if len(h) != 1 || h[0].State != event.HubUnreachable || !h[0].Since.Equal(now) || h[0].Incidents != 1 || h[0].Cameras != 1 {
		t.Fatalf("hubs = %+v, want north unreachable since %s with its incident and camera", h, now)
	}
	if c := v.Cameras(); len(c) != 1 || c[0].State != "online" {
		t.Fatalf("cameras = %+v: a hub's death is not its cameras'", c)
	}
	_, err := v.Act(context.Background(), auth.Principal{Name: "ops", Role: auth.RoleOperator}, "INC-north-1", "accept", event.ActionRequest{})
	if dashboard.HTTPStatus(err) != 503 || err == nil || !contains(err.Error(), "north") {
		t.Fatalf("act on an unreachable hub's incident = %v, want 503 naming north", err)
	}
	// A status older than the will does not bring it back.
	v.applyStatus("north", []byte(`{"hub":"north","state":"online","at":"2026-11-25T02:30:00Z"}`))
	if v.Hubs()[0].State != event.HubUnreachable {
		t.Fatal("an older online status overrode the last will")
	}
	v.applyStatus("north", []byte(`{"hub":"north","state":"online","at":"2026-11-25T03:00:05Z"}`))
	if v.Hubs()[0].State != event.HubReachable {
		t.Fatal("the owner's return was not seen")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
