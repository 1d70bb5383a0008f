package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"snowhub/configs"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// TestGBChannelsAreCameras: the wiring. A device registers, answers the
// hub's Catalog query with three channels: one whose CivilCode is a
// village's, one of a township's code reported OFF, one of no configured
// code. The first two are cameras in GET /api/v1/cameras (source gb28181,
// their catalog names, placed, their state), beside the configured RTSP
// camera; the third is listed at GET /api/v1/gb28181/unplaced. The device
// unregisters: its cameras go offline with its cause.
func TestGBChannelsAreCameras(t *testing.T) {
	const (
		hubID  = "61042800002000000001"
		dev    = "61042800001180000001"
		pass   = "gb-device-pass"
		inV1   = "61042800001310000001"
		inT1   = "61042800001320000002"
		nowere = "61042800001310000003"
		token  = "ops-token-0123456789"
	)
	dir := t.TempDir()
	y := fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
mqtt: {broker: "", embedded_listen: "127.0.0.1:%d"}
influx: {url: "http://127.0.0.1:1"}
county: {id: c, name: C}
townships:
  - id: t1
    name: T1
    civil_code: "610428101"
    villages:
      - {id: v1, name: V1, civil_code: "610428101201"}
cameras:
  - {id: cam-1, village: v1, url: "rtsp://127.0.0.1:1/x"}
users:
  - {name: ops, role: operator, token: %s}
gb28181:
  id: "%s"
  domain: "6104280000"
  listen: 127.0.0.1:0
  password: %s
  devices:
    - {id: "%s", township: t1}
`, filepath.Join(dir, "data"), testenv.FreePort(t), token, hubID, pass, dev)
	path := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		h.Close()
		t.Fatal(err)
	}
	defer h.Close()
	get := func(p string, out any) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+h.Addr()+p, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", p, res.StatusCode, b)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
	}
	cameras := func() map[string]event.CameraStatus {
		var list []event.CameraStatus
		get("/api/v1/cameras", &list)
		m := map[string]event.CameraStatus{}
		for _, c := range list {
			m[c.ID] = c
		}
		return m
	}

	// The device: sipgo's client registers; a server on the same user
	// agent answers the hub's query on the same socket.
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(dev), sipgo.WithUserAgentHostname("6104280000"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	sns := make(chan string, 4)
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		body := string(req.Body())
		if i, j := strings.Index(body, "<SN>"), strings.Index(body, "</SN>"); strings.Contains(body, "<CmdType>Catalog</CmdType>") && i >= 0 && j > i {
			sns <- body[i+4 : j]
		}
	})
	host, port, _ := net.SplitHostPort(h.gb.Addr())
	p, _ := strconv.Atoi(port)
	hub := sip.Uri{Scheme: "sip", User: hubID, Host: host, Port: p}
	register := func(expires int) {
		t.Helper()
		req := sip.NewRequest(sip.REGISTER, hub)
		req.AppendHeader(sip.NewHeader("Contact", "<sip:"+dev+"@127.0.0.1>"))
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
		res, err := c.Do(ctx, req, sipgo.ClientRequestRegisterBuild)
		if err == nil && res.StatusCode == 401 {
			res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: dev, Password: pass})
		}
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("register %d: %v %v", expires, res, err)
		}
	}
	register(3600)
	var sn string
	select {
	case sn = <-sns:
	case <-time.After(3 * time.Second):
		t.Fatal("no Catalog query after the REGISTER")
	}
	item := func(id, name, civil, status string) string {
		return "<Item><DeviceID>" + id + "</DeviceID><Name>" + name + "</Name><CivilCode>" + civil + "</CivilCode><Status>" + status + "</Status></Item>"
	}
	req := sip.NewRequest(sip.MESSAGE, hub)
	req.AppendHeader(sip.NewHeader("Content-Type", "Application/MANSCDP+xml"))
	req.SetBody([]byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><CmdType>Catalog</CmdType><SN>" + sn + "</SN><DeviceID>" + dev +
		"</DeviceID><SumNum>3</SumNum><DeviceList Num=\"3\">" + item(inV1, "东街路口", "610428101201", "ON") + item(inT1, "镇政府", "610428101999", "OFF") +
		item(nowere, "无处", "999999", "ON") + "</DeviceList></Response>"))
	if res, err := c.Do(ctx, req); err != nil || res.StatusCode != 200 {
		t.Fatalf("catalog: %v %v", res, err)
	}

	testenv.WaitFor(t, 3*time.Second, "the placed channels as cameras", func() bool {
		m := cameras()
		a, b := m[inV1], m[inT1]
		return a.State == event.StateOnline && b.State == event.StateOffline
	})
	m := cameras()
	a, b := m[inV1], m[inT1]
	if a.Source != "gb28181" || a.Name != "东街路口" || a.Township != "t1" || a.Village != "v1" {
		t.Errorf("the village's channel: %+v", a)
	}
	if b.Source != "gb28181" || b.Township != "t1" || b.Village != "" || b.Cause != "gb_channel_off" {
		t.Errorf("the township's channel: %+v", b)
	}
	if _, ok := m[nowere]; ok {
		t.Errorf("the unplaced channel is a camera")
	}
	if r := m["cam-1"]; r.ID == "" || r.Source != "" {
		t.Errorf("the RTSP camera beside them: %+v", r)
	}
	var unplaced []struct{ ID, Device string }
	get("/api/v1/gb28181/unplaced", &unplaced)
	if len(unplaced) != 1 || unplaced[0].ID != nowere || unplaced[0].Device != dev {
		t.Errorf("unplaced: %+v", unplaced)
	}

	register(0)
	testenv.WaitFor(t, 3*time.Second, "the device's cameras offline with its cause", func() bool {
		a := cameras()[inV1]
		return a.State == event.StateOffline && a.Cause == "gb_unregistered"
	})
}
