package camera_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snowhub/camera"
	"snowhub/camera/simcam"
)

// cameraGoroutines lists goroutines running code of the camera packages,
// read at once with no retry: after Close returns there must be none.
func cameraGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if (strings.Contains(g, "snowhub/camera.") || strings.Contains(g, "snowhub/camera/rtsp.")) && !exiting(g) {
			out = append(out, g)
		}
	}
	return out
}

// exiting: the goroutine's only frame is the closure that started it
// (go func() { defer wg.Done(); body() }()): its body has returned and it
// has said so, but the runtime has not yet reaped it. Close waited for it
// as it should; seen in the stack dump for an instant after Wait returns.
func exiting(stack string) bool {
	frames := 0
	closure := false
	for _, l := range strings.Split(stack, "\n")[1:] {
		if strings.HasPrefix(l, "created by ") {
			break
		}
		if l == "" || strings.HasPrefix(l, "\t") {
			continue
		}
		frames++
		closure = strings.Contains(l, "snowhub/camera.") && strings.Contains(l, ".func")
	}
	return frames == 1 && closure
}

// Close returns only when every goroutine the manager started has ended
// (workers, their health ticks, on-demand pulls, checks), and afterwards
// nothing is reported and calls are refused: a SetMaintenance after Close
// reported a transition, which the hub sent on its closed channel.
func TestStartCloseLeavesNothing(t *testing.T) {
	sim := startSim(t, simcam.Camera{Path: "/a", Behaviour: simcam.Normal}, simcam.Camera{Path: "/b", Behaviour: simcam.Normal})
	before := goleak.IgnoreCurrent() // the camera server's own goroutines
	var closed, slow atomic.Bool
	var after atomic.Int64
	m := camera.NewManager(camera.Options{MaxConnecting: 8, BackoffMin: 100 * time.Millisecond, StallAfter: time.Second,
		OfflineAfter: 2 * time.Second, Settle: 500 * time.Millisecond, ProbeInterval: 300 * time.Millisecond,
		ProbeTimeout: 2 * time.Second, ViewerLinger: time.Hour, SampleEvery: 100 * time.Millisecond,
		OnTransition: func(tr camera.Transition) {
			if closed.Load() {
				after.Add(1)
			}
			if slow.Load() && tr.From == camera.StateMaintenance {
				// The hub's event channel is full: reporting waits.
				time.Sleep(1500 * time.Millisecond)
			}
		},
		OnSample: func(camera.Status) {
			if closed.Load() {
				after.Add(1)
			}
		}})
	m.Start(context.Background())
	var specs []camera.Spec
	for i, p := range []string{"/a", "/b"} {
		for j := 0; j < 10; j++ {
			specs = append(specs, camera.Spec{ID: p[1:] + string(rune('0'+j)), URL: sim.URL(p), Transport: "tcp", Watch: i == 0})
		}
	}
	m.Update(specs)
	waitState(t, m, "a0", camera.StateOnline, "", 10*time.Second)
	waitState(t, m, "b0", camera.StateOnline, "", 10*time.Second)
	// An on-demand pull of a probe-mode camera, still watched at Close.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := m.Watch(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Init(ctx); err != nil {
		t.Fatal(err)
	}
	// Maintenance ending while the hub is slow to take the transitions:
	// Close comes while they are being reported, and must wait for them.
	slow.Store(true)
	until := time.Now().Add(300 * time.Millisecond)
	for j := 0; j < 10; j++ {
		if err := m.SetMaintenance(fmt.Sprintf("a%d", j), until, "test"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(700 * time.Millisecond)
	m.Close()
	closed.Store(true)
	if g := cameraGoroutines(); len(g) > 0 {
		t.Fatalf("%d goroutines of the camera package still running after Close returned:\n%s", len(g), strings.Join(g, "\n\n"))
	}
	if err := m.SetMaintenance("a0", time.Now().Add(time.Hour), "after close"); err == nil {
		t.Error("SetMaintenance after Close accepted")
	}
	if _, err := m.Watch(ctx, "a1"); err == nil {
		t.Error("Watch after Close accepted")
	}
	m.Update(specs[:1])
	time.Sleep(300 * time.Millisecond)
	if n := after.Load(); n > 0 {
		t.Errorf("%d transitions or samples reported after Close", n)
	}
	if g := cameraGoroutines(); len(g) > 0 {
		t.Fatalf("calls after Close started %d goroutines", len(g))
	}
	// And nothing else left behind: gortsplib clients' goroutines included.
	goleak.VerifyNone(t, before)
}
