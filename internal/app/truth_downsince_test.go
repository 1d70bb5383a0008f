package app

import (
	"fmt"
	"testing"
	"time"

	"snowhub/camera/simcam"
	"snowhub/internal/event"
)

// An offline camera's down_since is when its outage began, and a restart
// of the hub does not move it: after the restart the camera's live state
// starts again (its since is the restart), down_since stays; the uptime
// report's rows say the same. The township's 完好率 counts the cameras
// giving good video now.
func TestDownSinceSurvivesRestart(t *testing.T) {
	e := startTruth(t, []string{"c1"}, func(sim string) string {
		return fmt.Sprintf(`townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: 东街社区}
cameras:
  - {id: cam-1, name: 东街路口, village: v-zr-01, url: %q, transport: tcp, watch: true}
users:
  - {name: county-ops, role: operator, token: %s}
`, sim+"/c1", opsToken)
	})
	waitTruth(t, 30*time.Second, "the camera online", func() bool { return e.cameras(opsToken)["cam-1"].State == "online" })
	if !e.cameras(opsToken)["cam-1"].DownSince.IsZero() {
		t.Error("an online camera has a down_since")
	}
	intact := func() (int, float64) {
		var rep event.UptimeReport
		e.get(opsToken, "/api/v1/uptime", &rep)
		if len(rep.Townships) != 1 {
			t.Fatalf("townships = %+v", rep.Townships)
		}
		return rep.Townships[0].Intact, rep.Townships[0].IntactRate
	}
	if n, r := intact(); n != 1 || r != 1 {
		t.Errorf("完好率 with the one camera online: %d, %v; want 1, 1", n, r)
	}
	e.sim.SetBehaviour("/c1", simcam.Down)
	waitTruth(t, 30*time.Second, "the camera offline", func() bool { return e.cameras(opsToken)["cam-1"].State == "offline" })
	before := e.cameras(opsToken)["cam-1"]
	if n, r := intact(); n != 0 || r != 0 {
		t.Errorf("完好率 with the one camera offline: %d, %v; want 0, 0", n, r)
	}
	if before.DownSince.IsZero() {
		t.Fatalf("an offline camera without down_since: %+v", before)
	}
	// The outage is in the time series before the hub stops.
	waitTruth(t, 30*time.Second, "the outage recorded", func() bool {
		var rep event.UptimeReport
		e.get(opsToken, "/api/v1/uptime", &rep)
		return len(rep.Cameras) == 1 && rep.Cameras[0].State == "offline"
	})

	e.stop()
	time.Sleep(1100 * time.Millisecond) // the live since of the restart is a later second
	e.start()
	waitTruth(t, 30*time.Second, "the camera offline again", func() bool { return e.cameras(opsToken)["cam-1"].State == "offline" })
	var after event.CameraStatus
	waitTruth(t, 30*time.Second, "down_since read back", func() bool {
		after = e.cameras(opsToken)["cam-1"]
		return after.DownSince.Truncate(time.Second).Equal(before.DownSince.Truncate(time.Second))
	})
	if !after.Since.After(before.DownSince) {
		t.Fatalf("the live since %v is not after the restart; the test shows nothing", after.Since)
	}
	var rep event.UptimeReport
	e.get(opsToken, "/api/v1/uptime", &rep)
	if len(rep.Cameras) != 1 || !rep.Cameras[0].DownSince.Equal(after.DownSince) {
		t.Errorf("the uptime report's down_since = %+v, want %v", rep.Cameras, after.DownSince)
	}
}
