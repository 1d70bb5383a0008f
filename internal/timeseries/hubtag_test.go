package timeseries

import (
	"strings"
	"testing"
	"time"

	"snowhub/internal/event"
)

// TestHubTag: in a prefecture every point names the hub that wrote it; a
// county hub's points are as before.
func TestHubTag(t *testing.T) {
	ev := event.Event{Type: event.CameraState, Time: time.Unix(1700000000, 0),
		Data: event.CameraStatus{ID: "cam-1", Township: "zhaoren", Village: "v1", State: "offline"}}
	for _, tt := range []struct {
		hub, want string
	}{{"", ""}, {"north", ",hub=north"}} {
		w := &Writer{o: Options{Hub: tt.hub}}
		lines, _ := w.encode(ev)
		if len(lines) != 1 {
			t.Fatalf("hub %q: %d lines", tt.hub, len(lines))
		}
		has := strings.Contains(string(lines[0]), ",hub=")
		if has != (tt.want != "") || (tt.want != "" && !strings.Contains(string(lines[0]), tt.want)) {
			t.Errorf("hub %q: %s", tt.hub, lines[0])
		}
	}
}
