package app

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
	"snowhub/internal/test/testenv"
)

// A view's wall in Chromium plays another hub's camera, relayed from its
// owner; when the owner stops, the tile says the hub is unreachable
// instead of staying black.
func TestViewWallPlaysAnotherHubsCamera(t *testing.T) {
	testenv.Short(t)
	mq := testenv.StartMosquitto(t)
	big, _, _ := simcam.Clip() // 480×270
	sdp := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:trackID=1\r\n")
	srv, err := rawrtsp.Start(func(p string) *rawrtsp.Camera {
		return &rawrtsp.Camera{Headers: []byte("Content-Type: application/sdp\r\n"), SDP: sdp, Codec: "H264", AUs: big}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)

	northAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	hub := func(id, listen, section string) *e2eEnv {
		dir := t.TempDir()
		path := filepath.Join(dir, "snowhub.yaml")
		cfg := fmt.Sprintf(`listen: %s
data_dir: %s
mqtt: {broker: %s, client_id: snowhub-%s}
influx: {url: "http://127.0.0.1:9"}
county: {id: changwu, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages: [{id: v-zr-01, name: 东街社区}]
cameras:
  - {id: cam-n, name: 北区东街路口, village: v-zr-01, url: %q, transport: tcp, watch: false}
users:
  - {name: county-ops, role: operator, token: %s}
  - {name: city, role: hub, token: city-hub-token-0123456}
%s
`, listen, filepath.Join(dir, "data"), mq.URL, id, srv.URL("/cam"), opsToken, section)
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		e := &e2eEnv{t: t, path: path}
		e.start()
		t.Cleanup(e.stop)
		return e
	}
	north := hub("north", northAddr, `hub: {id: north, townships: [zhaoren], url: "http://`+northAddr+`"}`)
	city := hub("city", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), "hub: {id: city, view: [all]}")
	testenv.WaitFor(t, 20*time.Second, "the view to know north's camera", func() bool {
		_, ok := city.cameras(opsToken)["cam-n"]
		return ok
	})

	b := newBrowser(t)
	b.open(city.base + "/?layout=1&token=" + opsToken)
	tile := `document.querySelector('.tile[data-slot]')`
	b.waitJS("the view's tile plays north's camera at 480×270", `(() => { const t = `+tile+`; if (!t || !t.textContent.includes('北区东街路口')) return false;
	  const v = t.querySelector('video'); return v.videoWidth === 480 && v.currentTime > 0.5; })()`, 20*time.Second)
	b.screenshot("view-wall-relayed")
	// A second wall on the view: still one stream from the owner.
	b2 := b.tab()
	b2.open(city.base + "/?layout=1&token=" + opsToken)
	b2.waitJS("the second wall plays it too", `(() => { const v = document.querySelector('.tile[data-slot] video'); return v && v.currentTime > 0.5; })()`, 20*time.Second)
	if n := liveViewers(t, north.base, "hub"); n != 1 {
		t.Errorf("the owner serves %v streams to the view for two walls, want 1", n)
	}
	if n := liveViewers(t, city.base, "person"); n != 2 {
		t.Errorf("the view serves %v streams, want 2", n)
	}

	north.stop()
	b.waitJS("the tile says north is unreachable", `(() => { const t = `+tile+`; return t.classList.contains('unsupported') && t.querySelector('.note').textContent.includes('不可达'); })()`, 20*time.Second)
	b.waitJS("its badge says the hub is away, not that the camera is offline", `(() => { const t = `+tile+`; return t.querySelector('.badge').textContent === '中心不可达' && !t.classList.contains('offline'); })()`, 5*time.Second)
	b.waitJS("a banner names the township and the time", `(() => { const b = document.getElementById('hubs'); return b && b.classList.contains('show') && b.textContent.includes('昭仁街道') && b.textContent.includes('north 自'); })()`, 5*time.Second)
	if got := eval[string](b, `document.getElementById('status').textContent`); !strings.Contains(got, "在线 0") || !strings.Contains(got, "中心不可达 1") {
		t.Errorf("the wall's count: %q, want the camera counted as its hub unreachable, not online", got)
	}
	b.screenshot("view-wall-owner-down")

	// The owner back: the banner goes, the tile plays again.
	north.start()
	b.waitJS("the banner gone and the tile playing again", `(() => { const t = `+tile+`; const b = document.getElementById('hubs');
	  return !b.classList.contains('show') && !t.classList.contains('unsupported') && t.querySelector('.badge').textContent !== '中心不可达' && t.querySelector('video').currentTime > 0.5; })()`, 30*time.Second)
}

// liveViewers reads snowhub_live_viewers{by} from a hub's /metrics.
func liveViewers(t *testing.T, base, by string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, `snowhub_live_viewers{by="`+by+`"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}
