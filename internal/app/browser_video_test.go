package app

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
	"snowhub/internal/test/testenv"
)

// The wall's video in Chromium: an H.265 camera plays or says in Chinese
// that this browser cannot play it, within 3 s, never a black tile that
// seems to load; a camera that changes resolution mid-stream keeps its
// tile playing at the new size; a camera with a sub-stream plays it in the
// grid and its main stream when enlarged.
func TestWallVideo(t *testing.T) {
	testenv.Short(t)
	hevc := testenv.StartGstRTSP(t, testenv.RTSPOptions{Codec: "h265"})
	clip := func(name string) [][][]byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rtsp", "media", name))
		if err != nil {
			t.Fatal(err)
		}
		aus, _ := rawrtsp.SplitAnnexB(b, "H264")
		return aus
	}
	big, _, _ := simcam.Clip() // 480×270
	small := clip("h264-320x180.h264")
	sdp := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:trackID=1\r\n")
	hdr := []byte("Content-Type: application/sdp\r\n")
	cams := map[string]*rawrtsp.Camera{
		"/res":  {Headers: hdr, SDP: sdp, Codec: "H264", AUs: big, Switch: small, SwitchAt: 150},
		"/main": {Headers: hdr, SDP: sdp, Codec: "H264", AUs: big},
		"/sub":  {Headers: hdr, SDP: sdp, Codec: "H264", AUs: small},
	}
	srv, err := rawrtsp.Start(func(p string) *rawrtsp.Camera { return cams[p] })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	path := filepath.Join(dir, "snowhub.yaml")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
mqtt:
  embedded_listen: 127.0.0.1:%d
influx:
  url: http://127.0.0.1:%d
county: {id: changwu, name: 长武县}
camera:
  settle: 1s
townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: 东街社区}
cameras:
  - {id: cam-h265, name: 甲 H265, village: v-zr-01, url: %q, transport: tcp, watch: true}
  - {id: cam-res, name: 乙 变分辨率, village: v-zr-01, url: %q, transport: tcp, watch: true}
  - {id: cam-sub, name: 丙 子码流, village: v-zr-01, url: %q, substream_url: %q, transport: tcp, watch: true}
  - {id: cam-h265-sub, name: 丁 H265带子码流, village: v-zr-01, url: %q, substream_url: %q, transport: tcp, watch: true}
users:
  - {name: county-ops, role: operator, token: %s}
`, testenv.FreePort(t), filepath.Join(dir, "data"), testenv.FreePort(t), testenv.FreePort(t),
		hevc.URL, srv.URL("/res"), srv.URL("/main"), srv.URL("/sub"), hevc.URL, srv.URL("/sub"), opsToken)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &e2eEnv{t: t, path: path}
	e.start()
	t.Cleanup(e.stop)
	testenv.WaitFor(t, 30*time.Second, "cameras online", func() bool {
		m := e.cameras(opsToken)
		return m["cam-h265"].State == "online" && m["cam-res"].State == "online" && m["cam-sub"].State == "online"
	})

	b := newBrowser(t)
	b.open(e.base + "/?layout=2&token=" + opsToken)
	tile := func(name string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('.tile')].find(t => t.textContent.includes(%q))`, name)
	}
	b.waitJS("four cameras on tiles", `document.querySelectorAll('.tile[data-slot]:not(.empty)').length === 4`, 10*time.Second)
	start := time.Now()
	b.waitJS("the H.265 tile plays or says it cannot", `(() => { const t = `+tile("甲 H265")+`; if (!t) return false;
	  return t.querySelector('video').currentTime > 0 || (t.classList.contains('unsupported') && t.querySelector('.note').textContent.includes('无法播放')); })()`, 3*time.Second)
	t.Logf("H.265 tile answered after %s: %s", time.Since(start).Round(time.Millisecond),
		eval[string](b, `(() => { const t = `+tile("甲 H265")+`; return t.classList.contains('unsupported') ? 'notice: ' + t.querySelector('.note').textContent : 'playing'; })()`))

	b.waitJS("the resolution-changing tile plays at 480×270", `(() => { const v = `+tile("乙 变分辨率")+`.querySelector('video'); return v.videoWidth === 480 && v.currentTime > 0.5; })()`, 10*time.Second)
	b.waitJS("and keeps playing at 320×180 after the change", `(() => { const v = `+tile("乙 变分辨率")+`.querySelector('video'); return v.videoWidth === 320 && !v.paused; })()`, 20*time.Second)
	at := eval[float64](b, tile("乙 变分辨率")+`.querySelector('video').currentTime`)
	b.waitJS("time advancing after the change", fmt.Sprintf(`%s.querySelector('video').currentTime > %f + 1`, tile("乙 变分辨率"), at), 10*time.Second)

	b.waitJS("the grid tile plays the sub-stream (320×180)", `(() => { const v = `+tile("丙 子码流")+`.querySelector('video'); return v.videoWidth === 320 && v.currentTime > 0.5; })()`, 10*time.Second)
	eval[bool](b, `(() => { `+tile("丙 子码流")+`.dispatchEvent(new MouseEvent('dblclick', {bubbles: true})); return true; })()`)
	b.waitJS("enlarged, it plays the main stream (480×270)", `(() => { const ts = document.querySelectorAll('.tile[data-slot]'); if (ts.length !== 1) return false;
	  const v = ts[0].querySelector('video'); return ts[0].textContent.includes('丙 子码流') && v.videoWidth === 480 && v.currentTime > 0.5; })()`, 15*time.Second)
	if n := srv.Describes("/main"); n != 1 {
		t.Errorf("main stream pulled %d times", n)
	}
	b.screenshot("wall-video")

	// An H.265 camera with an H.264 sub-stream: its grid tile plays; enlarged
	// (the main stream) it says the browser cannot play H.265 and offers the
	// sub-stream, which then plays in the single tile.
	b.open(e.base + "/?layout=2&token=" + opsToken)
	b.waitJS("the H.265 camera's grid tile plays its sub-stream", `(() => { const t = `+tile("丁 H265带子码流")+`; if (!t) return false; const v = t.querySelector('video'); return v.videoWidth === 320 && v.currentTime > 0.5; })()`, 10*time.Second)
	eval[bool](b, `(() => { `+tile("丁 H265带子码流")+`.dispatchEvent(new MouseEvent('dblclick', {bubbles: true})); return true; })()`)
	b.waitJS("enlarged: the main stream plays, or the notice offers the sub-stream", `(() => { const ts = document.querySelectorAll('.tile[data-slot]'); if (ts.length !== 1) return false;
	  return ts[0].querySelector('video').currentTime > 0.5 || ts[0].querySelector('.note button') !== null; })()`, 5*time.Second)
	if eval[bool](b, `document.querySelector('.tile[data-slot] .note button') !== null`) {
		b.screenshot("wall-h265-notice")
		b.click(`.tile[data-slot] .note button`)
		b.waitJS("the sub-stream plays in the single tile", `(() => { const t = document.querySelector('.tile[data-slot]'); const v = t.querySelector('video');
		  return !t.classList.contains('unsupported') && v.videoWidth === 320 && v.currentTime > 0.5; })()`, 10*time.Second)
	}
}
