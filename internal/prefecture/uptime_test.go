package prefecture_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// Uptime across hubs: two owners write their cameras' transitions to one
// shared InfluxDB 1.8, each point tagged with its hub; the view reports
// every camera of both from there, each owner only its own.

// uptimeCams: the cameras of the test and what they do. "up" is the
// GStreamer RTSP server, "down" a closed port, "gap" a second GStreamer
// server the test stops and starts again: one outage with an end.
var uptimeCams = []struct {
	id, village, kind string
}{
	{"cam-zr-up1", "v-zr-01", "up"},
	{"cam-zr-up2", "v-zr-01", "up"},
	{"cam-zr-gap", "v-zr-01", "gap"},
	{"cam-zr-down", "v-zr-01", "down"},
	{"cam-xg-up", "v-xg-01", "up"},
	{"cam-xg-down1", "v-xg-01", "down"},
	{"cam-xg-down2", "v-xg-01", "down"},
}

func camOwner(id string) string {
	if strings.HasPrefix(id, "cam-zr-") {
		return "north"
	}
	return "south"
}

func uptimeConfig(id, hubSection, listen, dataDir, broker, influx string, urls map[string]string) string {
	var cams strings.Builder
	for _, c := range uptimeCams {
		fmt.Fprintf(&cams, "  - {id: %s, village: %s, url: %q, transport: tcp, watch: false}\n", c.id, c.village, urls[c.kind])
	}
	return fmt.Sprintf(`listen: %s
data_dir: %s
mqtt: {broker: %s, client_id: snowhub-%s}
influx:
  url: %s
  bucket: snowhub
  flush_interval: 200ms
camera:
  probe_interval: 2s
  probe_timeout: 2s
  settle: 1s
  offline_after: 3s
  backoff_max: 2s
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
%susers:
  - {name: county-ops, role: operator, token: %s}
  - {name: zhaoren-desk, role: township, township: zhaoren, token: %s}
%s
`, listen, dataDir, broker, id, influx, cams.String(), opsToken, deskToken, hubSection)
}

func startUptimeHub(t *testing.T, id, section, broker, influx string, urls map[string]string) *hubProc {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	path := filepath.Join(dir, "snowhub.yaml")
	body := uptimeConfig(id, section, addr, filepath.Join(dir, "data"), broker, influx, urls)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return &hubProc{Process: testenv.StartProcess(t, addr, snowhubBin, "-config", path), base: "http://" + addr}
}

func uptime(t *testing.T, h *hubProc, token string, from time.Time, township string) event.UptimeReport {
	t.Helper()
	q := url.Values{"from": {from.UTC().Format(time.RFC3339)}, "to": {time.Now().Add(time.Second).UTC().Format(time.RFC3339)}}
	if township != "" {
		q.Set("township", township)
	}
	var rep event.UptimeReport
	if code := get(t, h.base, token, "/api/v1/uptime?"+q.Encode(), &rep); code != 200 {
		t.Fatalf("GET %s/api/v1/uptime: %d", h.base, code)
	}
	return rep
}

func reportIDs(rep event.UptimeReport) []string {
	var ids []string
	for _, c := range rep.Cameras {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	return ids
}

func wantIDs(keep func(id string) bool) []string {
	var ids []string
	for _, c := range uptimeCams {
		if keep(c.id) {
			ids = append(ids, c.id)
		}
	}
	sort.Strings(ids)
	return ids
}

// settled: every camera has its final state and outages in the report.
func settled(rep event.UptimeReport, gapEnded bool) bool {
	by := map[string]event.CameraUptime{}
	for _, c := range rep.Cameras {
		by[c.ID] = c
	}
	for _, c := range uptimeCams {
		u, ok := by[c.id]
		if !ok {
			continue
		}
		switch c.kind {
		case "up":
			if u.State != event.StateOnline {
				return false
			}
		case "down":
			if u.State != event.StateOffline {
				return false
			}
		case "gap":
			if gapEnded && (u.State != event.StateOnline || len(u.Outages) != 1 || u.Outages[0].To.IsZero()) {
				return false
			}
		}
	}
	return true
}

func TestUptimeAcrossHubs(t *testing.T) {
	testenv.Short(t)
	build(t)
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t, "snowhub")
	gst := testenv.StartGstRTSP(t, testenv.RTSPOptions{})
	gap := testenv.StartGstRTSP(t, testenv.RTSPOptions{})
	urls := map[string]string{"up": gst.URL, "gap": gap.URL, "down": fmt.Sprintf("rtsp://127.0.0.1:%d/cam", testenv.FreePort(t))}
	from := time.Now().Add(-time.Minute)

	north := startUptimeHub(t, "north", "hub: {id: north, townships: [zhaoren]}", mq.URL, db.URL, urls)
	south := startUptimeHub(t, "south", "hub: {id: south, townships: [xiangong]}", mq.URL, db.URL, urls)
	city := startUptimeHub(t, "city", "hub: {id: city, view: [all]}", mq.URL, db.URL, urls)

	all := func(string) bool { return true }
	testenv.WaitFor(t, 30*time.Second, "every camera's first state in the view's report", func() bool {
		rep := uptime(t, city, opsToken, from, "")
		return strings.Join(reportIDs(rep), ",") == strings.Join(wantIDs(all), ",") && settled(rep, false) &&
			func() bool {
				for _, c := range rep.Cameras {
					if c.ID == "cam-zr-gap" && c.State != event.StateOnline {
						return false
					}
				}
				return true
			}()
	})

	// cam-zr-gap's camera goes away for a while and comes back: one outage
	// with an end, recorded by north.
	gap.Stop()
	testenv.WaitFor(t, 20*time.Second, "north sees cam-zr-gap offline", func() bool {
		var cams []event.CameraStatus
		get(t, north.base, opsToken, "/api/v1/cameras", &cams)
		for _, c := range cams {
			if c.ID == "cam-zr-gap" {
				return c.State == event.StateOffline
			}
		}
		return false
	})
	time.Sleep(time.Second)
	gap.Start()
	var rep event.UptimeReport
	t.Cleanup(func() {
		if t.Failed() {
			var cams []event.CameraStatus
			get(t, north.base, opsToken, "/api/v1/cameras", &cams)
			t.Logf("north's cameras: %+v", cams)
			t.Logf("the view's report: %+v", rep)
		}
	})
	testenv.WaitFor(t, 30*time.Second, "cam-zr-gap's closed outage in the view's report", func() bool {
		rep = uptime(t, city, opsToken, from, "")
		return settled(rep, true)
	})

	// The view: every camera of both owners, each once, with its state and
	// outages.
	if got, want := reportIDs(rep), wantIDs(all); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("the view reports %v, want %v", got, want)
	}
	for _, c := range rep.Cameras {
		var kind string
		for _, u := range uptimeCams {
			if u.id == c.ID {
				kind = u.kind
			}
		}
		switch kind {
		case "up":
			if c.Uptime != 1 || len(c.Outages) != 0 || c.OnlineSec <= 0 {
				t.Errorf("%s (up): uptime %v, %d outages, online %.1f s", c.ID, c.Uptime, len(c.Outages), c.OnlineSec)
			}
		case "down":
			if c.Uptime != 0 || len(c.Outages) != 1 || !c.Outages[0].To.IsZero() || c.OfflineSec <= 0 {
				t.Errorf("%s (down): uptime %v, outages %+v; want 0 and one outage still open", c.ID, c.Uptime, c.Outages)
			}
		case "gap":
			o := c.Outages[0]
			if c.Uptime <= 0 || c.Uptime >= 1 || o.To.Sub(o.From) < time.Second || c.OfflineSec < 1 {
				t.Errorf("%s (gap): uptime %v, outage %+v, offline %.1f s", c.ID, c.Uptime, o, c.OfflineSec)
			}
		}
	}
	tw := map[string]event.TownshipUptime{}
	for _, x := range rep.Townships {
		tw[x.ID] = x
	}
	if z, x := tw["zhaoren"], tw["xiangong"]; len(rep.Townships) != 2 || z.Cameras != 4 || z.DownNow != 1 || x.Cameras != 3 || x.DownNow != 2 ||
		z.OnlineRate <= 0.5 || z.OnlineRate >= 1 || x.OnlineRate <= 0 || x.OnlineRate >= 0.5 {
		t.Errorf("the view's townships: %+v", rep.Townships)
	}

	// Per township on the view, and for zhaoren's desk (its own only).
	for _, tc := range []struct {
		name, token, township, want string
	}{
		{"view, township=zhaoren", opsToken, "zhaoren", "north"},
		{"view, township=xiangong", opsToken, "xiangong", "south"},
		{"view, zhaoren's desk", deskToken, "", "north"},
	} {
		r := uptime(t, city, tc.token, from, tc.township)
		if got, want := reportIDs(r), wantIDs(func(id string) bool { return camOwner(id) == tc.want }); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", tc.name, got, want)
		}
		if len(r.Townships) != 1 {
			t.Errorf("%s: townships %+v", tc.name, r.Townships)
		}
	}

	// Each owner reports its own cameras only, with the same figures as the
	// view for them.
	byID := map[string]event.CameraUptime{}
	for _, c := range rep.Cameras {
		byID[c.ID] = c
	}
	for name, h := range map[string]*hubProc{"north": north, "south": south} {
		r := uptime(t, h, opsToken, from, "")
		if got, want := reportIDs(r), wantIDs(func(id string) bool { return camOwner(id) == name }); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s reports %v, want %v", name, got, want)
		}
		for _, c := range r.Cameras {
			v := byID[c.ID]
			if c.State != v.State || len(c.Outages) != len(v.Outages) {
				t.Errorf("%s on %s: %s with %d outages; the view: %s with %d", c.ID, name, c.State, len(c.Outages), v.State, len(v.Outages))
			}
		}
		// Another owner's township is empty at an owner, not someone else's.
		other := map[string]string{"north": "xiangong", "south": "zhaoren"}[name]
		if r := uptime(t, h, opsToken, from, other); len(r.Cameras) != 0 {
			t.Errorf("%s reports %v for %s", name, reportIDs(r), other)
		}
	}

	// A view of north alone reports north's cameras, as its wall shows
	// them, not south's.
	nview := startUptimeHub(t, "nview", "hub: {id: nview, view: [north]}", mq.URL, db.URL, urls)
	northOnly := wantIDs(func(id string) bool { return camOwner(id) == "north" })
	testenv.WaitFor(t, 10*time.Second, "north's cameras in the report of a view of north", func() bool {
		return strings.Join(reportIDs(uptime(t, nview, opsToken, from, "")), ",") == strings.Join(northOnly, ",")
	})
	if r := uptime(t, nview, opsToken, from, "xiangong"); len(r.Cameras) != 0 {
		t.Errorf("a view of north reports %v for south's xiangong", reportIDs(r))
	}

	// In InfluxDB itself: every camera's transitions are tagged with its
	// owner's hub and no other (the view writes none).
	out, err := db.Query("snowhub", `SELECT count("state") FROM "device_state" WHERE "kind" = 'camera' GROUP BY "device", "hub"`)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Results []struct {
			Series []struct {
				Tags map[string]string `json:"tags"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	hubs := map[string][]string{}
	for _, r := range res.Results {
		for _, s := range r.Series {
			hubs[s.Tags["device"]] = append(hubs[s.Tags["device"]], s.Tags["hub"])
		}
	}
	for _, c := range uptimeCams {
		if got := hubs[c.id]; len(got) != 1 || got[0] != camOwner(c.id) {
			t.Errorf("%s's points carry hub tags %q, want only %q", c.id, got, camOwner(c.id))
		}
	}
	if len(hubs) != len(uptimeCams) {
		t.Errorf("device_state has cameras %v", hubs)
	}
}
