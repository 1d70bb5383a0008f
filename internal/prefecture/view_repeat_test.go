package prefecture

import (
	"testing"
	"time"

	"snowhub/internal/event"
)

// TestViewDeviceChangeEmittedOnce: an owner publishes each device change
// twice (retained state, then its events topic, the same message), and
// republishes every device's state after a reconnect; the view passes each
// change to its walls once, and still every newer state.
func TestViewDeviceChangeEmittedOnce(t *testing.T) {
	var emitted []event.Event
	v := NewView(ViewOptions{Self: "city", Prefix: "snowbright", View: []string{"all"}, Emit: func(ev event.Event) { emitted = append(emitted, ev) }})
	t0 := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	cam := func(at time.Time, state string) Message {
		return Message{Hub: "north", Kind: KindCamera, At: at, Camera: &event.CameraStatus{ID: "cam-1", Township: "zhaoren", State: state}}
	}
	sensor := func(at time.Time, state string) Message {
		return Message{Hub: "north", Kind: KindSensor, At: at, Sensor: &event.SensorStatus{ID: "smoke-1", Township: "zhaoren", State: state}}
	}
	for _, m := range []Message{
		cam(t0, "online"), cam(t0, "online"), // retained, then events
		sensor(t0, "online"), sensor(t0, "online"),
		cam(t0.Add(time.Minute), "offline"), cam(t0.Add(time.Minute), "offline"),
		cam(t0, "online"),                   // late and older
		cam(t0.Add(time.Minute), "offline"), // republished after a reconnect
		cam(t0.Add(2*time.Minute), "online"),
	} {
		v.Apply(m)
	}
	var got []string
	for _, ev := range emitted {
		switch d := ev.Data.(type) {
		case event.CameraStatus:
			got = append(got, d.ID+" "+d.State)
		case event.SensorStatus:
			got = append(got, d.ID+" "+d.State)
		}
	}
	want := []string{"cam-1 online", "smoke-1 online", "cam-1 offline", "cam-1 online"}
	if len(got) != len(want) {
		t.Fatalf("the walls got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("the walls got %v, want %v", got, want)
		}
	}
	if c := v.Cameras(); len(c) != 1 || c[0].State != "online" {
		t.Fatalf("cameras = %+v", c)
	}
}
