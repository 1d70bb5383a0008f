package camera_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"snowhub/camera"
	"snowhub/camera/simcam"
	"snowhub/internal/test/testenv"
)

type transitions struct {
	mu  sync.Mutex
	all []camera.Transition
}

func (tr *transitions) add(t camera.Transition) {
	tr.mu.Lock()
	tr.all = append(tr.all, t)
	tr.mu.Unlock()
}

func newManager(t *testing.T, tr *transitions) *camera.Manager {
	t.Helper()
	m := camera.NewManager(camera.Options{MaxConnecting: 8, BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second,
		StallAfter: time.Second, OfflineAfter: 2 * time.Second, Settle: time.Second, ProbeInterval: time.Second,
		ProbeTimeout: 3 * time.Second, SampleEvery: time.Second, OnTransition: tr.add})
	m.Start(context.Background())
	t.Cleanup(func() { m.Close() })
	return m
}

func waitState(t *testing.T, m *camera.Manager, id, state, cause string, within time.Duration) camera.Status {
	t.Helper()
	var st camera.Status
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		st, _ = m.Status(id)
		if st.State == state && (cause == "" || st.Cause == cause) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: state %s (%s, last error %q), want %s (%s) within %s", id, st.State, st.Cause, st.LastError, state, cause, within)
	return st
}

func startSim(t *testing.T, cams ...simcam.Camera) *simcam.Server {
	t.Helper()
	s, err := simcam.New(simcam.Options{Listen: "127.0.0.1:0", Cameras: cams})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Each fault reaches the right state and cause; a camera that comes back is
// online again after the settle time.
func TestFaults(t *testing.T) {
	sim := startSim(t,
		simcam.Camera{Path: "/ok", Behaviour: simcam.Normal},
		simcam.Camera{Path: "/slow", Behaviour: simcam.LowFPS},
		simcam.Camera{Path: "/gone", Behaviour: simcam.Normal},
		simcam.Camera{Path: "/paused", Behaviour: simcam.Normal},
		simcam.Camera{Path: "/frozen", Behaviour: simcam.Normal},
		simcam.Camera{Path: "/down", Behaviour: simcam.Down},
	)
	// A port that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	closed := testenv.FreePort(t)
	tr := &transitions{}
	m := newManager(t, tr)
	m.Update([]camera.Spec{
		{ID: "ok", URL: sim.URL("/ok"), Transport: "tcp", Watch: true},
		{ID: "slow", URL: sim.URL("/slow"), Transport: "tcp", Watch: true, FPS: 25},
		{ID: "gone", URL: sim.URL("/gone"), Transport: "tcp", Watch: true},
		{ID: "paused", URL: sim.URL("/paused"), Transport: "tcp", Watch: true},
		{ID: "frozen", URL: sim.URL("/frozen"), Transport: "tcp", Watch: true},
		{ID: "down", URL: sim.URL("/down"), Transport: "tcp", Watch: true},
		{ID: "refused", URL: fmt.Sprintf("rtsp://127.0.0.1:%d/x", closed), Transport: "tcp", Watch: true},
		{ID: "silent", URL: "rtsp://" + silent.Addr().String() + "/x", Transport: "tcp", Watch: true},
		{ID: "probe", URL: sim.URL("/ok"), Transport: "tcp", Watch: false},
		{ID: "probe-down", URL: sim.URL("/down"), Transport: "tcp", Watch: false},
	})
	ok := waitState(t, m, "ok", camera.StateOnline, "", 10*time.Second)
	waitState(t, m, "slow", camera.StateDegraded, camera.CauseLowFPS, 15*time.Second)
	waitState(t, m, "down", camera.StateOffline, camera.CauseNotFound, 10*time.Second)
	waitState(t, m, "refused", camera.StateOffline, camera.CauseRefused, 10*time.Second)
	waitState(t, m, "silent", camera.StateOffline, "", 15*time.Second)
	waitState(t, m, "probe", camera.StateOnline, "", 10*time.Second)
	waitState(t, m, "probe-down", camera.StateOffline, camera.CauseNotFound, 10*time.Second)
	if ok.Codec != "H264" || ok.Width != 480 || ok.Height != 270 {
		t.Errorf("ok: codec %s %dx%d", ok.Codec, ok.Width, ok.Height)
	}
	st := waitState(t, m, "ok", camera.StateOnline, "", time.Second)
	if st.FPS < 15 || st.FPS > 35 || st.BitrateKbps <= 0 {
		t.Errorf("ok: fps %.1f bitrate %.0f", st.FPS, st.BitrateKbps)
	}

	// Faults after a healthy start.
	waitState(t, m, "gone", camera.StateOnline, "", 10*time.Second)
	waitState(t, m, "paused", camera.StateOnline, "", 10*time.Second)
	waitState(t, m, "frozen", camera.StateOnline, "", 10*time.Second)
	sim.SetBehaviour("/gone", simcam.Down)
	sim.SetBehaviour("/paused", simcam.Paused)
	sim.SetBehaviour("/frozen", simcam.Frozen)
	waitState(t, m, "gone", camera.StateOffline, "", 5*time.Second)
	waitState(t, m, "paused", camera.StateOffline, camera.CauseStalled, 5*time.Second)
	waitState(t, m, "frozen", camera.StateOffline, camera.CauseStalled, 8*time.Second)

	// It comes back: online again, after the settle time.
	sim.SetBehaviour("/gone", simcam.Normal)
	back := waitState(t, m, "gone", camera.StateOnline, camera.CauseRecovered, 10*time.Second)
	if back.Reconnects == 0 {
		t.Error("gone: no reconnect counted")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var seq []string
	for _, x := range tr.all {
		if x.ID == "gone" {
			seq = append(seq, x.To)
		}
	}
	if strings.Join(seq, ",") != "online,offline,online" {
		t.Errorf("gone transitions = %v", seq)
	}
}

// A real RTSP server that is not gortsplib: GStreamer's, over each
// transport, with and without credentials.
func TestGStreamerCamera(t *testing.T) {
	open := testenv.StartGstRTSP(t, testenv.RTSPOptions{})
	hevc := testenv.StartGstRTSP(t, testenv.RTSPOptions{Codec: "h265"})
	auth := testenv.StartGstRTSP(t, testenv.RTSPOptions{User: "admin", Password: "s3cret-pass"})
	tr := &transitions{}
	m := newManager(t, tr)
	withCreds := strings.Replace(auth.URL, "rtsp://", "rtsp://admin:s3cret-pass@", 1)
	wrong := strings.Replace(auth.URL, "rtsp://", "rtsp://admin:wrong@", 1)
	m.Update([]camera.Spec{
		{ID: "tcp", URL: open.URL, Transport: "tcp", Watch: true},
		{ID: "udp", URL: open.URL, Transport: "udp", Watch: true},
		{ID: "auto", URL: open.URL, Transport: "auto", Watch: true},
		{ID: "auth", URL: withCreds, Transport: "tcp", Watch: true},
		{ID: "wrong", URL: wrong, Transport: "tcp", Watch: true},
		{ID: "h265", URL: hevc.URL, Transport: "tcp", Watch: true},
	})
	for _, id := range []string{"tcp", "udp", "auto", "auth", "h265"} {
		waitState(t, m, id, camera.StateOnline, "", 20*time.Second)
	}
	if st, _ := m.Status("h265"); st.Codec != "H265" {
		t.Errorf("h265 codec = %q", st.Codec)
	}
	st := waitState(t, m, "wrong", camera.StateOffline, camera.CauseAuth, 10*time.Second)
	if strings.Contains(st.LastError, "wrong") || strings.Contains(fmt.Sprint(m.Statuses()), "s3cret") {
		t.Fatalf("credentials leaked: %q", st.LastError)
	}
}

func openFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

// 200 cameras, 50 of them flapping: the steady ones stay online, attempts
// stay bounded by the backoff, and after Close goroutines and file
// descriptors are back where they started.
func TestManyCamerasFlapping(t *testing.T) {
	testenv.Short(t)
	var cams []simcam.Camera
	for i := 0; i < 200; i++ {
		b := simcam.Normal
		if i%4 == 0 {
			b = simcam.Flap
		}
		cams = append(cams, simcam.Camera{Path: fmt.Sprintf("/c%03d", i), Behaviour: b})
	}
	var amu sync.Mutex
	attempts := map[string][]time.Time{}
	s, err := simcam.New(simcam.Options{Listen: "127.0.0.1:0", Cameras: cams, FlapEvery: 4 * time.Second, FlapDown: 2 * time.Second,
		OnAttempt: func(path string, at time.Time) {
			amu.Lock()
			attempts[path] = append(attempts[path], at)
			amu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	time.Sleep(200 * time.Millisecond)
	g0, fd0 := runtime.NumGoroutine(), openFDs()

	m := camera.NewManager(camera.Options{MaxConnecting: 16, BackoffMin: 200 * time.Millisecond, BackoffMax: 2 * time.Second,
		StallAfter: time.Second, OfflineAfter: 2 * time.Second, Settle: time.Second})
	m.Start(context.Background())
	var specs []camera.Spec
	for i := 0; i < 200; i++ {
		specs = append(specs, camera.Spec{ID: fmt.Sprintf("c%03d", i), URL: s.URL(fmt.Sprintf("/c%03d", i)), Transport: "tcp", Watch: true})
	}
	m.Update(specs)
	time.Sleep(3 * time.Second) // the first connections of all 200
	// Attempts of the flapping cameras (the steady ones may reconnect too
	// when a loaded test machine delays their frames past stall_after).
	flapping := func() (n int64) {
		for i := 0; i < 200; i += 4 {
			n += s.DescribesOf(fmt.Sprintf("/c%03d", i))
		}
		return n
	}
	maxRate := int64(0)
	last := flapping()
	for sec := 0; sec < 12; sec++ {
		time.Sleep(time.Second)
		cur := flapping()
		maxRate = max(maxRate, cur-last)
		last = cur
	}
	steady := 0
	for _, st := range m.Statuses() {
		var n int
		fmt.Sscanf(st.ID, "c%03d", &n)
		if n%4 != 0 && st.State == camera.StateOnline {
			steady++
		}
	}
	if steady != 150 {
		t.Errorf("%d of 150 steady cameras online while 50 flap", steady)
	}
	// 50 flapping cameras, all dropping at the same instant, reconnect with
	// backoff (200 ms doubling to 2 s, full jitter): at most two attempts
	// per camera in any second, where a loop without backoff would make
	// thousands against a camera that answers 404 at once.
	if maxRate > 2*50 {
		t.Errorf("%d connection attempts in one second", maxRate)
	}
	t.Logf("most connection attempts in one second: %d", maxRate)
	// No synchronized restarts: the 50 cameras that dropped at the same
	// instant come back spread out by the jitter, not as one burst (which
	// would hit a township's uplink and the hub at once, every time).
	amu.Lock()
	var spreads []time.Duration
	for drop := s.Started().Add(4 * time.Second); drop.Before(time.Now().Add(-2 * time.Second)); drop = drop.Add(4 * time.Second) {
		var first []time.Duration
		for i := 0; i < 200; i += 4 {
			for _, at := range attempts[fmt.Sprintf("/c%03d", i)] {
				if at.After(drop) {
					first = append(first, at.Sub(drop))
					break
				}
			}
		}
		if len(first) < 40 {
			continue
		}
		sort.Slice(first, func(i, j int) bool { return first[i] < first[j] })
		spreads = append(spreads, first[len(first)*9/10]-first[len(first)/10])
	}
	amu.Unlock()
	if len(spreads) == 0 {
		t.Fatal("no drop of the flapping cameras observed")
	}
	for _, sp := range spreads {
		// Full jitter over at least the 200 ms minimum backoff spreads
		// the middle 80 % over ~140 ms or more; without jitter they come
		// back within a few ms of each other.
		if sp < 80*time.Millisecond {
			t.Errorf("restarts after a common drop spread over %s (10th to 90th percentile): synchronized", sp)
		}
	}
	t.Logf("restart spread after each common drop (p10..p90): %v", spreads)
	m.Close()
	testenv.WaitFor(t, 10*time.Second, "goroutines and fds back", func() bool {
		return runtime.NumGoroutine() <= g0+2 && openFDs() <= fd0+2
	})
}

// A probe-mode camera opened on the wall is pulled while watched and let go
// after the linger time.
func TestProbeCameraPulledOnDemand(t *testing.T) {
	sim := startSim(t, simcam.Camera{Path: "/p", Behaviour: simcam.Normal})
	m := camera.NewManager(camera.Options{ProbeInterval: time.Hour, ViewerLinger: time.Second, BackoffMin: 200 * time.Millisecond})
	m.Start(context.Background())
	defer m.Close()
	m.Update([]camera.Spec{{ID: "p", URL: sim.URL("/p"), Transport: "tcp"}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	v, err := m.Watch(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	init, err := v.Init(ctx)
	if err != nil || len(init) == 0 || v.Codec() == "" {
		t.Fatalf("init: %v", err)
	}
	for i := 0; i < 10; i++ {
		if _, err := v.Next(ctx); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	before := sim.Describes()
	v.Close()
	time.Sleep(4 * time.Second) // linger 1 s, then released: no more sessions
	after := sim.Describes()
	time.Sleep(2 * time.Second)
	if sim.Describes() != after {
		t.Fatalf("still pulling after the last viewer left (%d → %d → %d describes)", before, after, sim.Describes())
	}
}
