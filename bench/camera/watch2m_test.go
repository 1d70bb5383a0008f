package camera_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"

	"snowhub/camera"
	"snowhub/camera/simcam"
	"snowhub/internal/test/testenv"
)

// clip2M is the 2 Mbit/s 720p clip (simcam.Clip2M), kept out of git in var/.
func clip2M(b *testing.B) string {
	path, err := simcam.Clip2M(filepath.Join("..", "..", "var"))
	if err != nil {
		b.Skip(err)
	}
	return path
}

func serveClip(b *testing.B, n int, clip string) string {
	bin := filepath.Join(b.TempDir(), "serve")
	if out, err := exec.Command("go", "build", "-o", bin, "./serve").CombinedOutput(); err != nil {
		b.Fatalf("build: %v %s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	cmd := exec.Command(bin, "-n", fmt.Sprint(n), "-listen", addr, "-clip", clip)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	bufio.NewReader(out).ReadString('\n')
	return "rtsp://" + addr
}

func rss() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkWatch2Mbit: watched 720p streams at 2 Mbit/s (GOP 25), 100 to
// 800 of them: the hub's CPU against the minimal reader's in the same run,
// and RSS per stream. SNOWHUB_CPUPROFILE=FILE profiles the hub's part at
// the largest count.
func BenchmarkWatch2Mbit(b *testing.B) {
	clip := clip2M(b)
	counts := []int{100, 200, 400, 800}
	if s := os.Getenv("SNOWHUB_WATCH_COUNTS"); s != "" {
		counts = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.Atoi(f)
			counts = append(counts, n)
		}
	}
	root := serveClip(b, counts[len(counts)-1], clip)
	const window = 10 * time.Second
	// The machine is shared: each side runs twice, alternating, and the
	// lower CPU of each side counts.
	runMinimal := func(n int) (cpuUsed time.Duration, rssUsed int64, pktRate float64) {
		var pkts atomic.Int64
		debug.FreeOSMemory()
		r0 := rss()
		var cs []*gortsplib.Client
		for i := 0; i < n; i++ {
			cs = append(cs, minimal(b, fmt.Sprintf("%s/cam-%04d", root, i), &pkts))
		}
		time.Sleep(3 * time.Second)
		p0 := pkts.Load()
		c0 := cpu()
		time.Sleep(window)
		cpuUsed = cpu() - c0
		pktRate = float64(pkts.Load()-p0) / window.Seconds() / float64(n)
		rssUsed = rss() - r0
		for _, c := range cs {
			c.Close()
		}
		time.Sleep(time.Second)
		return
	}
	runHub := func(n int, profile bool) (cpuUsed time.Duration, rssUsed int64, on int, kbps float64) {
		debug.FreeOSMemory()
		r0 := rss()
		m := camera.NewManager(camera.Options{MaxConnecting: 32})
		m.Start(context.Background())
		var specs []camera.Spec
		for i := 0; i < n; i++ {
			specs = append(specs, camera.Spec{ID: fmt.Sprintf("cam-%04d", i), URL: fmt.Sprintf("%s/cam-%04d", root, i), Transport: "tcp", Watch: true, FPS: 25})
		}
		m.Update(specs)
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			on = 0
			for _, s := range m.Statuses() {
				if s.State == camera.StateOnline {
					on++
				}
			}
			if on == n {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		var prof *os.File
		if f := os.Getenv("SNOWHUB_CPUPROFILE"); f != "" && profile {
			prof, _ = os.Create(f)
			pprof.StartCPUProfile(prof)
		}
		c0 := cpu()
		time.Sleep(window)
		cpuUsed = cpu() - c0
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
		}
		rssUsed = rss() - r0
		for _, s := range m.Statuses() {
			kbps += s.BitrateKbps
		}
		m.Close()
		time.Sleep(time.Second)
		return cpuUsed, rssUsed, on, kbps / float64(n)
	}
	for _, n := range counts {
		minCPU, minRSS, pktRate := runMinimal(n)
		hubCPU, hubRSS, on, kbps := runHub(n, n == counts[len(counts)-1])
		m2, _, _ := runMinimal(n)
		h2, _, _, _ := runHub(n, false)
		minCPU, hubCPU = min(minCPU, m2), min(hubCPU, h2)
		minPkts := pktRate
		b.ReportMetric(float64(hubCPU)/float64(window)/float64(n)*100, fmt.Sprintf("%%core/stream@%d", n))
		b.ReportMetric(float64(minCPU)/float64(window)/float64(n)*100, fmt.Sprintf("minimal-%%core/stream@%d", n))
		b.ReportMetric(float64(hubCPU)/float64(minCPU), fmt.Sprintf("cpu-ratio@%d", n))
		b.ReportMetric(float64(hubRSS)/float64(n)/1024, fmt.Sprintf("RSS-KiB/stream@%d", n))
		b.ReportMetric(float64(minRSS)/float64(n)/1024, fmt.Sprintf("minimal-RSS-KiB/stream@%d", n))
		b.ReportMetric(float64(on), fmt.Sprintf("online@%d", n))
		b.ReportMetric(kbps, fmt.Sprintf("kbps/stream@%d", n))
		b.ReportMetric(minPkts, fmt.Sprintf("pkts/s/stream@%d", n))
	}
}
