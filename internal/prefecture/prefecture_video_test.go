package prefecture_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/camera"
	"snowhub/internal/test/testenv"
)

// Live video of one hub's camera on a view: the view pulls it from the
// owner over HTTP with its hub credential, once however many watch, and
// says why when it cannot.

const (
	cityHubToken = "pref-city-hub-token-00001"
	xgDeskToken  = "pref-xiangong-token-00001"
)

func videoHubYAML(id, section, listen, dataDir, broker, camURL string) string {
	return fmt.Sprintf(`listen: %s
data_dir: %s
mqtt:
  broker: %s
  client_id: snowhub-%s
influx:
  url: http://127.0.0.1:9
  bucket: snowhub
camera: {viewer_linger: 2s}
county: {id: changwu, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: 东街社区}
  - id: xiangong
    name: 相公镇
    villages:
      - {id: v-xg-01, name: 相公村}
cameras:
  - {id: cam-zr, name: 东街路口, village: v-zr-01, url: "%s", watch: false}
  - {id: cam-zr-gone, name: 东街北口, village: v-zr-01, url: "rtsp://127.0.0.1:1/x", watch: false}
users:
  - {name: county-ops, role: operator, token: %s}
  - {name: zhaoren-desk, role: township, township: zhaoren, token: %s}
  - {name: xiangong-desk, role: township, township: xiangong, token: %s}
  - {name: city, role: hub, token: %s}
%s
`, listen, dataDir, broker, id, camURL, opsToken, deskToken, xgDeskToken, cityHubToken, section)
}

func startVideoHub(t *testing.T, id, section, addr, broker, camURL string) *hubProc {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "snowhub.yaml")
	if err := os.WriteFile(path, []byte(videoHubYAML(id, section, addr, filepath.Join(dir, "data"), broker, camURL)), 0o644); err != nil {
		t.Fatal(err)
	}
	return &hubProc{Process: testenv.StartProcess(t, addr, snowhubBin, "-config", path), base: "http://" + addr}
}

// liveConn is one wall tile's live stream.
type liveConn struct {
	*websocket.Conn
}

func dialLive(t *testing.T, base, token, cam string) (*liveConn, *http.Response, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/cameras/" + cam + "/live?token=" + token
	c, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { c.Close() })
	return &liveConn{c}, resp, nil
}

// start reads the stream's start: the codec, the init segment, and a first
// media segment that begins with a keyframe.
func (c *liveConn) start(t *testing.T) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	typ, b, err := c.ReadMessage()
	if err != nil || typ != websocket.TextMessage {
		t.Fatalf("first message: %v %s", err, b)
	}
	var m struct{ Type, Codec, Error string }
	json.Unmarshal(b, &m)
	if m.Type != "init" || !strings.HasPrefix(m.Codec, "avc1.") {
		t.Fatalf("first message %s, want the init with an H.264 codec", b)
	}
	if typ, b, err = c.ReadMessage(); err != nil || typ != websocket.BinaryMessage || !camera.IsInit(b) {
		t.Fatalf("second message is not the init segment: %v", err)
	}
	for i := 0; i < 3; i++ {
		typ, b, err := c.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage {
			t.Fatalf("segment %d: %v", i, err)
		}
		key, err := camera.SegmentStartsWithKey(b)
		if err != nil {
			t.Fatalf("segment %d does not parse: %v", i, err)
		}
		if i == 0 && !key {
			t.Fatal("the relayed stream does not start at a keyframe")
		}
	}
	return m.Codec
}

// refusal reads what a stream that could not open says: the error message
// (whole, Chinese first) before the close.
func (c *liveConn) refusal(t *testing.T) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		typ, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("the stream closed without saying why: %v", err)
		}
		var m struct{ Type, Error string }
		if typ == websocket.TextMessage && json.Unmarshal(b, &m) == nil && m.Type == "error" {
			return m.Error
		}
	}
}

// gauge reads one sample of a metric from a hub's /metrics ("" labels: the
// unlabelled metric); -1 when absent.
func gauge(t *testing.T, base, name, labels string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	want := name
	if labels != "" {
		want += "{" + labels + "}"
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == want {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

func TestViewRelaysLiveVideo(t *testing.T) {
	testenv.Short(t)
	build(t)
	mq := testenv.StartMosquitto(t)
	cam := testenv.StartGstRTSP(t, testenv.RTSPOptions{})
	northAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	north := startVideoHub(t, "north", "hub: {id: north, townships: [zhaoren], url: \"http://"+northAddr+"\"}", northAddr, mq.URL, cam.URL)
	cityAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	city := startVideoHub(t, "city", "hub: {id: city, view: [all]}", cityAddr, mq.URL, cam.URL)
	testenv.WaitFor(t, 20*time.Second, "the view to list north's cameras", func() bool {
		var cams []struct{ ID string }
		get(t, city.base, opsToken, "/api/v1/cameras", &cams)
		return len(cams) == 2
	})

	// Three tiles on the view's wall, one pull at the owner.
	var tiles []*liveConn
	for i := 0; i < 3; i++ {
		c, resp, err := dialLive(t, city.base, opsToken, "cam-zr")
		if err != nil {
			t.Fatalf("tile %d: %v (%v)", i, err, resp)
		}
		c.start(t)
		tiles = append(tiles, c)
	}
	if got := gauge(t, north.base, "snowhub_live_viewers", `by="hub"`); got != 1 {
		t.Errorf("the owner serves %v streams to hubs, want 1 for three tiles on the view", got)
	}
	if got := gauge(t, north.base, "snowhub_live_viewers", `by="person"`); got > 0 {
		t.Errorf("the owner serves %v streams to people; nobody watches it directly", got)
	}
	if got := gauge(t, city.base, "snowhub_live_viewers", `by="person"`); got != 3 {
		t.Errorf("the view serves %v streams, want 3", got)
	}
	if got := gauge(t, city.base, "snowhub_relay_upstreams", ""); got != 1 {
		t.Errorf("the view pulls %v streams from other hubs, want 1", got)
	}
	// The owner's desk can watch it on the view; another township cannot.
	if c, resp, err := dialLive(t, city.base, deskToken, "cam-zr"); err != nil {
		t.Errorf("zhaoren's desk on the view: %v (%v)", err, resp)
	} else {
		c.start(t)
		c.Close()
	}
	if _, resp, err := dialLive(t, city.base, xgDeskToken, "cam-zr"); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("xiangong's desk watched zhaoren's camera on the view (%v)", resp)
	}
	// A hub watches only a hub's own cameras: never one it relays itself.
	if _, resp, err := dialLive(t, city.base, cityHubToken, "cam-zr"); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("a hub credential pulled a relayed camera from the view (%v)", resp)
	}
	// The hub credential watches video and reads nothing else at the owner.
	var incs, cams []json.RawMessage
	if code := get(t, north.base, cityHubToken, "/api/v1/cameras", &cams); code != 200 || len(cams) != 0 {
		t.Errorf("the hub credential lists %d cameras (%d)", len(cams), code)
	}
	if code := get(t, north.base, cityHubToken, "/api/v1/incidents", &incs); code == 200 && len(incs) > 0 {
		t.Errorf("the hub credential lists incidents")
	}

	// A camera the owner cannot reach: the view's tile says why.
	c, _, err := dialLive(t, city.base, opsToken, "cam-zr-gone")
	if err != nil {
		t.Fatal(err)
	}
	if why := c.refusal(t); !strings.Contains(why, "north") {
		t.Errorf("an unreachable camera of north: %q does not name the hub", why)
	}

	// Every tile closed: the upstream lingers, then the owner is let go.
	for _, c := range tiles {
		c.Close()
	}
	testenv.WaitFor(t, 15*time.Second, "the owner to stop serving the view", func() bool {
		return gauge(t, north.base, "snowhub_live_viewers", `by="hub"`) == 0 && gauge(t, city.base, "snowhub_relay_upstreams", "") == 0
	})

	// The owner killed: its last will makes the view say so on the tile.
	north.Kill()
	testenv.WaitFor(t, 20*time.Second, "the view to see north unreachable", func() bool {
		var hubs []struct{ ID, State string }
		get(t, city.base, opsToken, "/api/v1/hubs", &hubs)
		for _, h := range hubs {
			if h.ID == "north" && h.State == "unreachable" {
				return true
			}
		}
		return false
	})
	c, _, err = dialLive(t, city.base, opsToken, "cam-zr")
	if err != nil {
		t.Fatal(err)
	}
	if why := c.refusal(t); !strings.Contains(why, "不可达") || !strings.Contains(why, "north") {
		t.Errorf("with north down the tile says %q", why)
	}
	// Back: the same tile plays again.
	north.Start()
	testenv.WaitFor(t, 30*time.Second, "the view to play north's camera again", func() bool {
		c, _, err := dialLive(t, city.base, opsToken, "cam-zr")
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := c.ReadMessage()
		return err == nil && strings.Contains(string(b), `"init"`)
	})
}
