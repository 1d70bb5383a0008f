package camera_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"snowhub/camera"
	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
	"snowhub/internal/test/testenv"
)

// 1,000 probe-mode cameras at a 6 s interval: the rate of 10,000 at 60 s.
// No camera is skipped for an interval, all stay online, and the
// goroutines stay bounded by the connection cap, not one or two per
// camera as with a goroutine and a ticker per probed camera.
func TestProbeScale(t *testing.T) {
	testenv.Short(t)
	const n, interval = 1000, 6 * time.Second
	cam := simcam.ProbeCamera()
	var mu sync.Mutex
	seen := map[string][]time.Time{}
	s, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return cam })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.OnDescribe = func(path string, at time.Time) {
		mu.Lock()
		seen[path] = append(seen[path], at)
		mu.Unlock()
	}
	g0 := runtime.NumGoroutine()
	m := camera.NewManager(camera.Options{MaxConnecting: 64, ProbeInterval: interval, ProbeTimeout: 5 * time.Second,
		MediaCheckInterval: time.Hour, MediaSample: time.Nanosecond})
	m.Start(context.Background())
	defer m.Close()
	specs := make([]camera.Spec, n)
	for i := range specs {
		specs[i] = camera.Spec{ID: fmt.Sprintf("cam-%04d", i), URL: s.URL(fmt.Sprintf("/cam-%04d", i)), Transport: "tcp"}
	}
	start := time.Now()
	m.Update(specs)
	maxG := 0
	for time.Since(start) < 2*interval+interval/2 {
		time.Sleep(100 * time.Millisecond)
		maxG = max(maxG, runtime.NumGoroutine()-g0)
	}
	end := time.Now()
	st := m.CheckStats()
	t.Logf("%d checks, lateness p50 %s p99 %s max %s, skipped %d, most goroutines %d", st.Checks, st.LatenessP50, st.LatenessP99, st.LatenessMax, st.Skipped, maxG)

	// A camera missed is one left a whole extra interval without a check;
	// how late checks run on this machine is a figure (CheckStats, logged
	// above, and BenchmarkProbeNetworks), not something a loaded test box
	// can promise to the second.
	const slack = interval
	mu.Lock()
	defer mu.Unlock()
	late := 0
	for _, sp := range specs {
		ts := seen["/"+sp.ID]
		prev := start
		for _, at := range append(ts, end) {
			if at.Sub(prev) > interval+slack {
				if late < 5 {
					t.Errorf("%s: %s without a check (%s → %s)", sp.ID, at.Sub(prev).Round(time.Millisecond), prev.Sub(start).Round(time.Millisecond), at.Sub(start).Round(time.Millisecond))
				}
				late++
			}
			prev = at
		}
	}
	if late > 0 {
		t.Errorf("%d gaps longer than the interval", late)
	}
	online := 0
	for _, st := range m.Statuses() {
		if st.State == camera.StateOnline {
			online++
		}
	}
	if online != n {
		t.Errorf("%d of %d cameras online", online, n)
	}
	if maxG > n/4 {
		t.Errorf("up to %d goroutines for %d probed cameras", maxG, n)
	}
}

// A hub that cannot keep the interval (one connection slot and a ceiling
// of one, checks that take 300 ms, 20 cameras due every second) says so: the checks run late,
// the lateness is reported and /readyz fails, and no camera is declared
// offline for the hub's own delay.
func TestOverloadedChecksAreLateNotOffline(t *testing.T) {
	cam := simcam.ProbeCamera()
	cam.Delay = 300 * time.Millisecond
	s, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return cam })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := &transitions{}
	m := camera.NewManager(camera.Options{MaxConnecting: 1, MaxChecks: 1, ProbeInterval: time.Second, ProbeTimeout: 2 * time.Second,
		MediaCheckInterval: time.Hour, MediaSample: time.Nanosecond, OnTransition: tr.add})
	m.Start(context.Background())
	defer m.Close()
	var specs []camera.Spec
	for i := 0; i < 20; i++ {
		specs = append(specs, camera.Spec{ID: fmt.Sprintf("c%02d", i), URL: s.URL(fmt.Sprintf("/c%02d", i)), Transport: "tcp"})
	}
	m.Update(specs)
	testenv.WaitFor(t, 30*time.Second, "checks behind schedule reported", func() bool { return m.Ready() != nil })
	time.Sleep(3 * time.Second)
	st := m.CheckStats()
	t.Logf("%d checks, %d skipped, lateness p50 %s p99 %s; ready: %v", st.Checks, st.Skipped, st.LatenessP50, st.LatenessP99, m.Ready())
	if st.Skipped == 0 || st.LatenessP99 < time.Second/2 {
		t.Errorf("lateness p99 %s, %d skipped: the overload is not reported", st.LatenessP99, st.Skipped)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, x := range tr.all {
		if x.To == camera.StateOffline {
			t.Errorf("%s declared offline (%s) while the hub was the one behind", x.ID, x.Cause)
		}
	}
}

// A media check whose keyframe comes late, so that the second measured
// after it outlasts the check's timeout, still finds a working camera.
func TestMediaCheckLateKeyframe(t *testing.T) {
	aus, _, _ := simcam.Clip()
	var p [][]byte // a frame that is no keyframe
	for _, au := range aus {
		key := false
		for _, n := range au {
			if n[0]&0x1f == 5 {
				key = true
			}
		}
		if !key {
			p = au
			break
		}
	}
	late := make([][][]byte, 0, 20+len(aus))
	for i := 0; i < 20; i++ {
		late = append(late, p)
	}
	late = append(late, aus...)
	cam := simcam.ProbeCamera()
	cam.AUs = late
	s, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return cam })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := camera.NewManager(camera.Options{ProbeInterval: 2 * time.Second, ProbeTimeout: 1500 * time.Millisecond})
	m.Start(context.Background())
	defer m.Close()
	m.Update([]camera.Spec{{ID: "late", URL: s.URL("/late"), Transport: "tcp"}})
	testenv.WaitFor(t, 15*time.Second, "a media check", func() bool {
		st, _ := m.Status("late")
		return !st.LastMediaCheck.IsZero()
	})
	if st, _ := m.Status("late"); st.State != camera.StateOnline {
		t.Fatalf("after the media check: %s (%s, %s)", st.State, st.Cause, st.LastError)
	}
}
