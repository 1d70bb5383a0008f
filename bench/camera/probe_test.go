package camera_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"snowhub/camera"
	"snowhub/internal/test/testenv"
)

// serveRaw runs the cheap net.Conn RTSP server in its own process: it
// answers OPTIONS and DESCRIBE on any path at once (or with the faults
// that args give: -drop, -delay-min, -delay-max).
func serveRaw(b *testing.B, args ...string) string {
	bin := filepath.Join(b.TempDir(), "serve")
	if out, err := exec.Command("go", "build", "-o", bin, "./serve").CombinedOutput(); err != nil {
		b.Fatalf("build: %v %s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	cmd := exec.Command(bin, append([]string{"-raw", "-listen", addr}, args...)...)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	bufio.NewReader(out).ReadString('\n')
	return "rtsp://" + addr
}

const probeCams = 10000

func probeSpecs(root string) []camera.Spec {
	specs := make([]camera.Spec, probeCams)
	for i := range specs {
		specs[i] = camera.Spec{ID: fmt.Sprintf("cam-%05d", i), URL: fmt.Sprintf("%s/cam-%05d", root, i), Transport: "tcp"}
	}
	return specs
}

// BenchmarkProbeLiveness: liveness checks (connect, OPTIONS, DESCRIBE, no
// media) per CPU-second, the hub's scheduler against a minimal Go loop
// doing the same DESCRIBE with gortsplib, in one run; then 10,000 cameras
// at a 60 s interval: the CPU share, heap per probed camera, and the
// lateness of the checks.
func BenchmarkProbeLiveness(b *testing.B) {
	root := serveRaw(b)
	const conc = 32
	const window = 10 * time.Second

	// The minimal loop: 32 goroutines, DESCRIBE after DESCRIBE.
	var n atomic.Int64
	stop := time.Now().Add(window)
	c0 := cpu()
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; time.Now().Before(stop); j++ {
				u, _ := base.ParseURL(fmt.Sprintf("%s/cam-%05d", root, (i*1000+j)%probeCams))
				c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
				if c.Start2() != nil {
					continue
				}
				if _, _, err := c.Describe(u); err == nil {
					n.Add(1)
				}
				c.Close()
			}
		}(i)
	}
	wg.Wait()
	minCPU := cpu() - c0
	minPerCPU := float64(n.Load()) / minCPU.Seconds()

	// The hub, saturated: 10,000 cameras at a 4 s interval ask for 2,500
	// checks/s; what it does per CPU-second is its cost per check.
	m := camera.NewManager(camera.Options{MaxConnecting: conc, ProbeInterval: 4 * time.Second, ProbeTimeout: 5 * time.Second,
		MediaCheckInterval: time.Hour, MediaSample: time.Nanosecond})
	m.Start(context.Background())
	m.Update(probeSpecs(root))
	time.Sleep(12 * time.Second) // past the first media checks
	s0 := m.CheckStats().Checks
	c0 = cpu()
	time.Sleep(window)
	hubCPU := cpu() - c0
	hubChecks := m.CheckStats().Checks - s0
	m.Close()
	hubPerCPU := float64(hubChecks) / hubCPU.Seconds()

	// 10,000 cameras at 60 s: one interval to settle (each camera's first
	// liveness and media check), then one measured.
	h0 := heap()
	m = camera.NewManager(camera.Options{MaxConnecting: conc, ProbeInterval: time.Minute, ProbeTimeout: 5 * time.Second,
		MediaSample: time.Nanosecond})
	m.Start(context.Background())
	m.Update(probeSpecs(root))
	time.Sleep(65 * time.Second)
	hp := heap() - h0
	s1 := m.CheckStats().Checks
	c0 = cpu()
	time.Sleep(time.Minute)
	share := float64(cpu()-c0) / float64(time.Minute)
	st := m.CheckStats()
	online := 0
	for _, s := range m.Statuses() {
		if s.State == camera.StateOnline {
			online++
		}
	}
	m.Close()

	b.ReportMetric(minPerCPU, "minimal-checks/cpu-s")
	b.ReportMetric(hubPerCPU, "checks/cpu-s")
	b.ReportMetric(hubPerCPU/minPerCPU, "ratio")
	b.ReportMetric(share*100, "%core@10k/60s")
	b.ReportMetric(float64(st.Checks-s1)/60, "checks/s@10k/60s")
	b.ReportMetric(float64(hp)/probeCams/1024, "KiB/camera")
	b.ReportMetric(st.LatenessP50.Seconds()*1000, "lateness-p50-ms")
	b.ReportMetric(st.LatenessP99.Seconds()*1000, "lateness-p99-ms")
	b.ReportMetric(float64(st.Skipped), "skipped")
	b.ReportMetric(float64(online), "online")
}
