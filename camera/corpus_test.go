package camera_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"snowhub/camera"
	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
)

func loadVendor(t *testing.T, name, codec string, pt uint8) *rawrtsp.Camera {
	t.Helper()
	dir := filepath.Join("..", "testdata", "rtsp")
	hdr, err := os.ReadFile(filepath.Join(dir, name+".headers"))
	if err != nil {
		t.Fatal(err)
	}
	sdp, err := os.ReadFile(filepath.Join(dir, name+".sdp"))
	if err != nil {
		t.Fatal(err)
	}
	c := &rawrtsp.Camera{Headers: hdr, SDP: sdp, Codec: codec, PayloadType: pt}
	if codec == "H265" {
		c.AUs, _ = readClip(t, "h265-480x270.h265", "H265")
	} else {
		c.AUs, _, _ = simcam.Clip()
	}
	return c
}

func readClip(t *testing.T, file, codec string) ([][][]byte, [][]byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "rtsp", "media", file))
	if err != nil {
		t.Fatal(err)
	}
	aus, params := rawrtsp.SplitAnnexB(b, codec)
	return aus, params
}

// The vendors' recorded answers, served byte for byte by a server that is
// not gortsplib's, are working cameras to the hub: online, with codec and
// resolution. docs/cameras.md lists what each one shows.
func TestVendorCamerasOnline(t *testing.T) {
	vendors := []struct {
		name, codec string
		pt          uint8
		w, h        int
	}{
		{"hikvision", "H264", 96, 480, 270},
		{"hikvision-h265", "H265", 96, 480, 270},
		{"dahua", "H264", 96, 480, 270},
		{"dahua-inband", "H264", 96, 480, 270},
		{"uniview", "H264", 105, 480, 270},
		{"backchannel-mislabelled", "H264", 96, 480, 270},
	}
	cams := map[string]*rawrtsp.Camera{}
	for _, v := range vendors {
		cams["/"+v.name] = loadVendor(t, v.name, v.codec, v.pt)
	}
	cams["/auth"] = loadVendor(t, "hikvision", "H264", 96)
	cams["/auth"].User, cams["/auth"].Pwd = "admin", "Hik12345"
	s, err := rawrtsp.Start(func(p string) *rawrtsp.Camera { return cams[p] })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := &transitions{}
	m := newManager(t, tr)
	var specs []camera.Spec
	for _, v := range vendors {
		specs = append(specs, camera.Spec{ID: v.name, URL: s.URL("/" + v.name), Transport: "auto", Watch: true})
	}
	specs = append(specs,
		camera.Spec{ID: "auth", URL: strings.Replace(s.URL("/auth"), "rtsp://", "rtsp://admin:Hik12345@", 1), Transport: "tcp", Watch: true},
		camera.Spec{ID: "auth-probe", URL: strings.Replace(s.URL("/auth"), "rtsp://", "rtsp://admin:Hik12345@", 1), Transport: "tcp"},
		camera.Spec{ID: "uniview-probe", URL: s.URL("/uniview"), Transport: "tcp"})
	m.Update(specs)
	for _, v := range vendors {
		st := waitState(t, m, v.name, camera.StateOnline, "", 15*time.Second)
		if st.Codec != v.codec || st.Width != v.w || st.Height != v.h {
			t.Errorf("%s: %s %dx%d, want %s %dx%d", v.name, st.Codec, st.Width, st.Height, v.codec, v.w, v.h)
		}
	}
	for _, id := range []string{"auth", "auth-probe", "uniview-probe"} {
		waitState(t, m, id, camera.StateOnline, "", 15*time.Second)
	}
}

// A camera that changes resolution mid-stream (a new SPS in-band): the
// viewer gets a new init segment in its stream, then media at the new
// size, and the status shows it.
func TestResolutionChangeSendsNewInit(t *testing.T) {
	big, _, _ := simcam.Clip()
	small, _ := readClip(t, "h264-320x180.h264", "H264")
	c := &rawrtsp.Camera{Headers: []byte("Content-Type: application/sdp\r\n"), Codec: "H264", AUs: big, Switch: small, SwitchAt: 75,
		SDP: []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:trackID=1\r\n")}
	s, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return c })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := newManager(t, &transitions{})
	m.Update([]camera.Spec{{ID: "c", URL: s.URL("/c"), Transport: "tcp", Watch: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	v, err := m.Watch(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	first, err := v.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codec1 := v.Codec()
	media := 0
	for {
		seg, err := v.Next(ctx)
		if err != nil {
			t.Fatalf("no new init segment after the change (%d media segments): %v", media, err)
		}
		if camera.IsInit(seg) {
			if string(seg) == string(first) {
				t.Fatal("the new init segment is the old one")
			}
			break
		}
		media++
	}
	if media == 0 {
		t.Fatal("no media before the change")
	}
	next, err := v.Next(ctx)
	if err != nil || camera.IsInit(next) {
		t.Fatalf("after the new init: %v", err)
	}
	if st, _ := m.Status("c"); st.Width != 320 || st.Height != 180 {
		t.Errorf("status %dx%d after the change, want 320x180", st.Width, st.Height)
	}
	t.Logf("codec %s → %s", codec1, v.Codec())
}

// An H.265 camera feeds the fan-out: the viewer gets an hvc1 init segment
// and media, where the live view used to wait for ever.
func TestH265LiveView(t *testing.T) {
	c := loadVendor(t, "hikvision-h265", "H265", 96)
	s, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return c })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := newManager(t, &transitions{})
	m.Update([]camera.Spec{{ID: "c", URL: s.URL("/c"), Transport: "tcp", Watch: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := m.Watch(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	init, err := v.Init(ctx)
	if err != nil || !camera.IsInit(init) || !strings.HasPrefix(v.Codec(), "hvc1.") {
		t.Fatalf("init %d bytes, codec %q: %v", len(init), v.Codec(), err)
	}
	if !strings.Contains(string(init), "hvcC") {
		t.Fatal("init segment has no hvcC box")
	}
	for i := 0; i < 5; i++ {
		if _, err := v.Next(ctx); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	t.Logf("codec %s", v.Codec())
}
