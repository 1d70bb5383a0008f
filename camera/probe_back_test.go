package camera_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"snowhub/camera"
	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
)

// A probe-mode camera that drops and comes back is online again at the
// next liveness check after its return (with the media check that
// confirms it), not only when its periodic media check comes due
// (media_check_interval, 15 minutes by default). The periodic check
// queued while it was up used to stand in for the one its return needs.
// It is down and back three times, so a stale periodic check cannot hide
// the next recovery either.
func TestProbeCameraBackAfterDrop(t *testing.T) {
	cam := simcam.ProbeCamera()
	var down atomic.Bool
	s, err := rawrtsp.Start(func(string) *rawrtsp.Camera {
		if down.Load() {
			return nil // 404
		}
		return cam
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := &transitions{}
	m := camera.NewManager(camera.Options{MaxConnecting: 4, ProbeInterval: 300 * time.Millisecond, ProbeTimeout: 2 * time.Second,
		OfflineAfter:       600 * time.Millisecond,
		MediaCheckInterval: time.Hour, MediaSample: time.Nanosecond, OnTransition: tr.add})
	m.Start(context.Background())
	defer m.Close()
	m.Update([]camera.Spec{{ID: "c1", URL: s.URL("/c1"), Transport: "tcp"}})
	waitProbe(t, m, camera.StateOnline, "the first check")
	for i := 0; i < 3; i++ {
		down.Store(true)
		waitProbe(t, m, camera.StateOffline, "the drop")
		down.Store(false)
		waitProbe(t, m, camera.StateOnline, "the return")
	}
}

func waitProbe(t *testing.T, m *camera.Manager, state, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second) // many probe intervals, far less than the media check interval
	for time.Now().Before(deadline) {
		if st, _ := m.Status("c1"); st.State == state {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, _ := m.Status("c1")
	t.Fatalf("after %s: %s (%s), want %s", what, st.State, st.LastError, state)
}
