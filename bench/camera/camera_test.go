// Benchmarks of camera ingest: CPU and memory per watched stream (served
// from a separate process), against a minimal gortsplib client that only
// counts packets, and probes per second.
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"snowhub/camera"
	"snowhub/internal/testenv"
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

// BenchmarkProbe: probes per second with the connection cap (32), each a
// DESCRIBE, SETUP, PLAY until the first keyframe, TEARDOWN; and heap per
// probe-mode camera.
func BenchmarkProbe(b *testing.B) {
	root := serve(b, 100)
	const cams = 2000
	h0 := heap()
	m := camera.NewManager(camera.Options{MaxConnecting: 32, ProbeInterval: 20 * time.Second, ProbeTimeout: 5 * time.Second})
	m.Start(context.Background())
	var specs []camera.Spec
	for i := 0; i < cams; i++ {
		specs = append(specs, camera.Spec{ID: fmt.Sprintf("p-%05d", i), URL: fmt.Sprintf("%s/cam-%04d", root, i%100), Transport: "tcp"})
	}
	c0 := cpu()
	start := time.Now()
	m.Update(specs)
	for {
		on := 0
		for _, s := range m.Statuses() {
			if s.State == camera.StateOnline {
				on++
			}
		}
		if on == cams || time.Since(start) > 60*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	used := cpu() - c0
	hp := heap() - h0
	m.Close()
	b.ReportMetric(float64(cams)/took.Seconds(), "probes/s")
	b.ReportMetric(float64(cams)/used.Seconds(), "probes/cpu-s")
	b.ReportMetric(float64(hp)/cams/1024, "KiB/camera")
}
