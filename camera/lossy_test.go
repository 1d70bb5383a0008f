package camera_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"snowhub/camera"
	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
	"snowhub/internal/test/testenv"
)

// 400 probe-mode cameras behind a network that closes 10 % of the
// connections at accept, every stream up: over several intervals no
// camera goes offline or degraded (what incidents are raised from), and no
// cause is auth or not_found. A dropped connection is a sample, retried
// at once on a fresh one; the old code took it for the state.
func TestLossyNetworkNoFalseOffline(t *testing.T) {
	testenv.Short(t)
	const n, interval = 400, 3 * time.Second
	s, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return simcam.ProbeCamera() })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetFaults(rawrtsp.Faults{Drop: 0.1})
	tr := &transitions{}
	m := camera.NewManager(camera.Options{MaxConnecting: 32, ProbeInterval: interval, ProbeTimeout: 3 * time.Second,
		MediaCheckInterval: 2 * interval, MediaSample: time.Nanosecond, OnTransition: tr.add})
	m.Start(context.Background())
	defer m.Close()
	specs := make([]camera.Spec, n)
	for i := range specs {
		specs[i] = camera.Spec{ID: fmt.Sprintf("cam-%03d", i), URL: s.URL(fmt.Sprintf("/cam-%03d", i)), Transport: "tcp"}
	}
	m.Update(specs)
	end := time.Now().Add(5 * interval)
	badCause := 0
	for time.Now().Before(end) {
		for _, st := range m.Statuses() {
			if st.Cause == camera.CauseAuth || st.Cause == camera.CauseNotFound {
				if badCause++; badCause <= 5 {
					t.Errorf("%s shown as %s (%s) with every stream up", st.ID, st.Cause, st.LastError)
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	online := 0
	for _, st := range m.Statuses() {
		if st.State == camera.StateOnline {
			online++
		}
	}
	st := m.CheckStats()
	t.Logf("%d checks, %d connections dropped at accept, %d of %d online", st.Checks, s.Dropped.Load(), online, n)
	if s.Dropped.Load() < int64(st.Checks)/20 {
		t.Fatalf("only %d of %d connections dropped: the network was not lossy", s.Dropped.Load(), st.Checks)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	bad := 0
	for _, x := range tr.all {
		if x.To == camera.StateOffline || x.To == camera.StateDegraded || x.Cause == camera.CauseAuth || x.Cause == camera.CauseNotFound {
			if bad++; bad <= 5 {
				t.Errorf("%s: %s → %s (%s, %s)", x.ID, x.From, x.To, x.Cause, x.Status.LastError)
			}
		}
	}
	if bad > 0 || online != n {
		t.Errorf("%d false transitions; %d of %d online", bad, online, n)
	}
}

// 1,000 probe-mode cameras whose every answer takes 3-8 s (a 4G uplink, an
// overloaded NVR), at a 30 s interval, with the connection slots a hub
// of 1,000 cameras starts with: at least 95 % are online 75 s after the
// start. The times are a third of these, in the same ratio. With slots
// held for the whole wait and media checks queued behind overdue
// liveness checks, most of the county stayed unknown for minutes.
func TestSlowAnswersKnownWithinTwoIntervals(t *testing.T) {
	testenv.Short(t)
	const n, scale = 1000, 3
	interval := 30 * time.Second / scale
	s, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return simcam.ProbeCamera() })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetFaults(rawrtsp.Faults{Delay: func() time.Duration {
		return (3*time.Second + rand.N(5*time.Second)) / scale
	}})
	m := camera.NewManager(camera.Options{MaxConnecting: 32, ProbeInterval: interval, ProbeTimeout: 10 * time.Second / scale,
		OfflineAfter: 10 * time.Second / scale, MediaSample: time.Nanosecond})
	m.Start(context.Background())
	defer m.Close()
	specs := make([]camera.Spec, n)
	for i := range specs {
		specs[i] = camera.Spec{ID: fmt.Sprintf("cam-%04d", i), URL: s.URL(fmt.Sprintf("/cam-%04d", i)), Transport: "tcp", Group: "t1"}
	}
	start := time.Now()
	m.Update(specs)
	time.Sleep(time.Until(start.Add(75 * time.Second / scale)))
	states := map[string]int{}
	for _, st := range m.Statuses() {
		states[st.State]++
	}
	st := m.CheckStats()
	t.Logf("after %s: %v; %d checks, slots %d of %d in use, %d waiting, lag %v", time.Since(start).Round(time.Millisecond), states,
		st.Checks, st.ConnectionsInUse, st.ConnectionLimit, st.Waiting, m.CheckLag())
	if states[camera.StateOnline] < n*95/100 {
		t.Errorf("%d of %d online 75 s (scaled) after the start, want at least 95 %%", states[camera.StateOnline], n)
	}
	if states[camera.StateOffline] > 0 {
		t.Errorf("%d cameras offline for being slow", states[camera.StateOffline])
	}
}
