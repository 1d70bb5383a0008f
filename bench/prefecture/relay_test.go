package prefecture

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/camera/simcam"
	"snowhub/internal/test/testenv"
)

// Live video through a view: what relaying another hub's cameras costs
// the view, against what serving the same streams costs their owner, in
// the same run. One owner hub pulls N cameras (720p at 2 Mbit/s, GOP 25,
// from the serve command in its own process); one view hub; the readers
// are websocket clients in this process that read and drop every segment.
//
// Phase direct (the baseline): one reader per camera on the owner.
// Phase relay: one reader per camera on the view; the view pulls each
// camera once from the owner.
// Phase walls: four readers per camera on the view (four walls); the owner
// still serves one stream per camera.
//
//	flock /tmp/heavy.lock go test -run '^$' -bench Relay -benchtime 1x -timeout 10m ./bench/prefecture
//
// SNOWHUB_RELAY_STREAMS sets N (default 50).

const relayHubToken = "bench-view-hub-token-0001"

func relayConfig(id, section, listen, dir, broker, rtsp string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\ndata_dir: %s\nmqtt: {broker: %q, client_id: %s}\ninflux: {url: \"http://127.0.0.1:9\"}\n", listen, dir, broker, id)
	b.WriteString("camera: {viewer_linger: 2s}\ncounty: {id: c, name: 县}\ntownships:\n  - id: t0\n    name: 镇\n    villages:\n      - {id: v0, name: 村}\ncameras:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {id: cam-%04d, village: v0, url: \"%s/cam-%04d\", transport: tcp, watch: false, fps: 25}\n", i, rtsp, i)
	}
	fmt.Fprintf(&b, "users:\n  - {name: ops, role: operator, token: %s}\n  - {name: view, role: hub, token: %s}\n%s\n", token, relayHubToken, section)
	return b.String()
}

func BenchmarkRelay(b *testing.B) {
	testenv.Short(b)
	bin := build(b)
	n := 50
	if s := os.Getenv("SNOWHUB_RELAY_STREAMS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	clip, err := simcam.Clip2M(filepath.Join(testenv.RepoRoot(), "var"))
	if err != nil {
		b.Skip(err)
	}
	serve := filepath.Join(b.TempDir(), "serve")
	cmd := exec.Command("go", "build", "-o", serve, "snowhub/bench/camera/serve")
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build serve: %v %s", err, out)
	}
	rtspAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	cams := exec.Command(serve, "-n", strconv.Itoa(n), "-listen", rtspAddr, "-clip", clip)
	out, _ := cams.StdoutPipe()
	if err := cams.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cams.Process.Kill(); cams.Wait() }()
	bufio.NewReader(out).ReadString('\n')

	mq := testenv.StartMosquitto(b)
	start := func(id, section, addr string) *testenv.Process {
		dir := b.TempDir()
		path := filepath.Join(dir, "snowhub.yaml")
		if err := os.WriteFile(path, []byte(relayConfig(id, section, addr, filepath.Join(dir, "data"), mq.URL, "rtsp://"+rtspAddr, n)), 0o644); err != nil {
			b.Fatal(err)
		}
		return testenv.StartProcess(b, addr, bin, "-config", path)
	}
	ownerAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	owner := start("owner", fmt.Sprintf("hub: {id: owner, townships: [t0], url: \"http://%s\"}", ownerAddr), ownerAddr)
	viewAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	view := start("view", "hub: {id: view, view: [all]}", viewAddr)
	deadline := time.Now().Add(30 * time.Second)
	for listed, _ := listCameras(viewAddr); listed < n; listed, _ = listCameras(viewAddr) {
		if time.Now().After(deadline) {
			b.Fatalf("the view lists %d of the owner's %d cameras", listed, n)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// watch opens per readers on each camera at addr, reading and dropping;
	// it returns the bytes read and a stop.
	watch := func(addr string, per int) (*atomic.Int64, func()) {
		var bytes atomic.Int64
		var conns []*websocket.Conn
		for i := 0; i < n; i++ {
			for k := 0; k < per; k++ {
				c, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/api/v1/cameras/cam-%04d/live?token=%s", addr, i, token), nil)
				if err != nil {
					b.Fatalf("live cam-%04d at %s: %v", i, addr, err)
				}
				conns = append(conns, c)
			}
		}
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, m, err := c.ReadMessage()
					if err != nil {
						return
					}
					bytes.Add(int64(len(m)))
				}
			}()
		}
		return &bytes, func() {
			for _, c := range conns {
				c.Close()
			}
			wg.Wait()
		}
	}
	const warm, window = 4 * time.Second, 10 * time.Second
	type phase struct {
		name              string
		ownerMs, viewMs   float64 // CPU ms per second of the window
		ownerRSS, viewRSS int     // KiB
		mbit              float64 // per stream read by this process
		hubViewers        float64 // the owner's snowhub_live_viewers{by="hub"}
	}
	measure := func(name, addr string, per int) phase {
		bytes, stop := watch(addr, per)
		time.Sleep(warm)
		o0, _ := usage(owner.Pid())
		v0, _ := usage(view.Pid())
		b0 := bytes.Load()
		time.Sleep(window)
		o1, orss := usage(owner.Pid())
		v1, vrss := usage(view.Pid())
		p := phase{name: name, ownerMs: float64((o1 - o0).Milliseconds()) / window.Seconds(), viewMs: float64((v1 - v0).Milliseconds()) / window.Seconds(),
			ownerRSS: orss, viewRSS: vrss, mbit: float64(bytes.Load()-b0) * 8 / 1e6 / window.Seconds() / float64(n*per),
			hubViewers: metric(ownerAddr, `snowhub_live_viewers{by="hub"}`)}
		stop()
		time.Sleep(4 * time.Second) // the linger (2 s) passes: upstreams let go
		return p
	}
	_, viewIdleRSS := usage(view.Pid())
	direct := measure("direct", ownerAddr, 1)
	relay := measure("relay", viewAddr, 1)
	walls := measure("walls", viewAddr, 4)
	for _, p := range []phase{direct, relay, walls} {
		b.Logf("%-6s owner %6.1f ms/s RSS %6d KiB · view %6.1f ms/s RSS %6d KiB · %.2f Mbit/s per reader · owner serves hubs %v",
			p.name, p.ownerMs, p.ownerRSS, p.viewMs, p.viewRSS, p.mbit, p.hubViewers)
	}
	if relay.hubViewers != float64(n) || walls.hubViewers != float64(n) {
		b.Errorf("the owner served %v / %v streams to the view, want %d (one per camera)", relay.hubViewers, walls.hubViewers, n)
	}
	b.ReportMetric(direct.ownerMs/float64(n), "owner_cpu_ms/s/stream")
	b.ReportMetric(relay.viewMs/float64(n), "view_cpu_ms/s/relayed")
	b.ReportMetric((walls.viewMs-relay.viewMs)/float64(3*n), "view_cpu_ms/s/extra_viewer")
	b.ReportMetric(float64(relay.viewRSS-viewIdleRSS)/float64(n), "view_KiB/relayed")
	b.ReportMetric(relay.mbit, "Mbit/s/stream")
}
