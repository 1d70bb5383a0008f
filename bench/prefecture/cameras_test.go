package prefecture

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
	"snowhub/internal/test/testenv"
)

// The owners' cost per camera: three owner hubs in one run, with 0 (the
// baseline), 2,000 and 5,000 probe-mode cameras at the default probe
// interval (60 s), one view over all of them, a real Mosquitto and a real
// InfluxDB 1.8 that every hub writes to. The cameras are one rawrtsp
// server (camera/simcam.ProbeCamera, not gortsplib) in this process, so
// the owners' CPU, read from /proc, is theirs alone.
//
// Phase A (steady): every camera online, nothing changes; the owners' CPU
// and memory, against the 0-camera owner, give the cost per 1,000 cameras.
// Phase B (churn): 5 % of the cameras flap (each answers for a probe
// interval, then refuses for one, out of step with the others), so each
// flapping camera changes state about once a minute; what the view, the
// broker, InfluxDB and the owners spend on top of phase A, per camera
// state change on the feed.
//
//	flock /tmp/heavy.lock go test -run '^$' -bench OwnerCameras -benchtime 1x -timeout 20m ./bench/prefecture

// ownerCams are the owners' camera counts; the first is the baseline.
var ownerCams = []int{0, 2000, 5000}

const (
	probeInterval = time.Minute // the default (configs/defaults.go), not shortened
	villagesPer   = 50          // per owner's township
	sensorsPer    = 100         // per owner, silent: every owner carries the same
	flapEvery     = 20          // one camera in 20 flaps (5 %)
	steadyWindow  = time.Minute
	churnWindow   = 2 * time.Minute
)

func camID(o, i int) string { return fmt.Sprintf("c%d-%04d", o, i) }

func camerasConfig(id, section, listen, dir, broker, influx, rtsp string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\ndata_dir: %s\nmqtt: {broker: %q, client_id: %s, device_rate: 1000}\ninflux: {url: %q, bucket: snowhub}\n",
		listen, dir, broker, id, influx)
	// Every camera's first media check (a PLAY to a keyframe, about a
	// second) holds a connection slot; 128 slots let 5,000 cameras reach
	// online within the first probe interval (at the default 32 the first
	// pass takes some 2.5 minutes). The steady state uses a few slots.
	b.WriteString("camera: {max_connecting: 128}\ncounty: {id: c, name: C}\ntownships:\n")
	for o := range ownerCams {
		fmt.Fprintf(&b, "  - id: t%d\n    name: T%d\n    villages:\n", o, o)
		for v := 0; v < villagesPer; v++ {
			fmt.Fprintf(&b, "      - {id: v%d-%02d, name: V%d-%02d}\n", o, v, o, v)
		}
	}
	b.WriteString("cameras:\n")
	for o, n := range ownerCams {
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  - {id: %s, village: v%d-%02d, url: \"%s/%s\", transport: tcp, watch: false}\n", camID(o, i), o, i%villagesPer, rtsp, camID(o, i))
		}
	}
	b.WriteString("sensors:\n")
	for o := range ownerCams {
		for s := 0; s < sensorsPer; s++ {
			fmt.Fprintf(&b, "  - {id: s%d-%03d, kind: smoke, village: v%d-%02d}\n", o, s, o, s%villagesPer)
		}
	}
	fmt.Fprintf(&b, "users:\n  - {name: ops, role: operator, token: %s}\n%s\n", token, section)
	return b.String()
}

// flapper decides which flapping camera refuses now: each has its own
// phase, and is down for one probe interval, then up for one, so the
// checks (one per interval at a fixed offset) see it change each time.
type flapper struct {
	on    atomic.Bool
	since time.Time
	phase map[string]time.Duration // by path; only the flapping cameras
}

func (f *flapper) down(path string) bool {
	ph, ok := f.phase[path]
	if !ok || !f.on.Load() {
		return false
	}
	return (time.Since(f.since)+ph)/probeInterval%2 == 1
}

// heapInuse reads the hub's Go heap in use from its /metrics.
func heapInuse(addr string) float64 { return max(metric(addr, "go_memstats_heap_inuse_bytes"), 0) }

// metric reads one sample (name with its labels, as /metrics writes it)
// from a hub's /metrics; -1 when absent.
func metric(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// onlineCameras counts the cameras a hub lists as online.
func onlineCameras(addr string) int {
	_, on := listCameras(addr)
	return on
}

// listCameras counts the cameras a hub lists, and of those the online ones.
func listCameras(addr string) (listed, online int) {
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/cameras", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	var list []struct {
		State string `json:"state"`
	}
	if json.NewDecoder(resp.Body).Decode(&list) != nil {
		return 0, 0
	}
	for _, c := range list {
		if c.State == "online" {
			online++
		}
	}
	return len(list), online
}

// points counts, per hub tag, the points of a measurement stamped within
// [t0, t1).
func points(b *testing.B, db *testenv.InfluxDB, meas, field string, t0, t1 time.Time) map[string]int {
	out, err := db.Query("snowhub", fmt.Sprintf(`SELECT count(%q) FROM %q WHERE time >= %d AND time < %d GROUP BY "hub"`,
		field, meas, t0.UnixNano(), t1.UnixNano()))
	if err != nil {
		b.Fatal(err)
	}
	var r struct {
		Results []struct {
			Series []struct {
				Tags   map[string]string `json:"tags"`
				Values [][]any           `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatal(err)
	}
	m := map[string]int{}
	for _, res := range r.Results {
		for _, s := range res.Series {
			if len(s.Values) > 0 && len(s.Values[0]) > 1 {
				n, _ := s.Values[0][1].(float64)
				m[s.Tags["hub"]] += int(n)
			}
		}
	}
	return m
}

func BenchmarkOwnerCameras(b *testing.B) {
	testenv.Short(b)
	bin := build(b)
	for i := 0; i < b.N; i++ {
		runCameras(b, bin)
	}
}

// sample is every process's CPU time and memory at one moment.
type sample struct {
	at                time.Time
	owners            []time.Duration
	ownerRSS          []int
	view, broker, ifx time.Duration
	viewRSS           int
	cams, incs        int64 // feed messages the view's websocket client had
}

func runCameras(b *testing.B, bin string) {
	mq := testenv.StartMosquitto(b)
	db := testenv.StartInfluxDB(b, "snowhub")
	fl := &flapper{phase: map[string]time.Duration{}}
	total, flapping := 0, 0
	for o, n := range ownerCams {
		total += n
		for i := 0; i < n; i += flapEvery {
			h := fnv.New64a()
			h.Write([]byte(camID(o, i)))
			fl.phase["/"+camID(o, i)] = time.Duration(h.Sum64() % uint64(2*probeInterval))
			flapping++
		}
	}
	cam := simcam.ProbeCamera()
	srv, err := rawrtsp.Start(func(path string) *rawrtsp.Camera {
		if fl.down(path) {
			return nil // 404: the check fails
		}
		return cam
	})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()

	start := func(id, section string) (*testenv.Process, string) {
		dir := b.TempDir()
		addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
		path := filepath.Join(dir, "snowhub.yaml")
		body := camerasConfig(id, section, addr, filepath.Join(dir, "data"), mq.URL, db.URL, "rtsp://"+srv.Addr())
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		return testenv.StartProcess(b, addr, bin, "-config", path), addr
	}
	view, viewAddr := start("view", "hub: {id: view, view: [all]}")
	time.Sleep(time.Second)
	_, viewRSS0 := usage(view.Pid())

	var cams, incs atomic.Int64
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+viewAddr+"/ws?token="+token, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var m struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(data, &m) != nil {
				continue
			}
			switch m.Type {
			case "camera":
				cams.Add(1)
			case "incident":
				incs.Add(1)
			}
		}
	}()

	var owners []*testenv.Process
	var ownerAddrs []string
	for o := range ownerCams {
		p, addr := start(fmt.Sprintf("o%d", o), fmt.Sprintf("hub: {id: o%d, townships: [t%d]}", o, o))
		owners = append(owners, p)
		ownerAddrs = append(ownerAddrs, addr)
	}
	settle := time.Now()
	for onlineCameras(viewAddr) < total {
		if time.Since(settle) > 4*probeInterval {
			b.Fatalf("%d of %d cameras online on the view after %v", onlineCameras(viewAddr), total, time.Since(settle))
		}
		time.Sleep(3 * time.Second)
	}
	b.Logf("%d cameras online on the view %.0f s after the owners started", total, time.Since(settle).Seconds())
	time.Sleep(10 * time.Second) // the last media checks and the writers' flushes

	snap := func() sample {
		s := sample{at: time.Now(), cams: cams.Load(), incs: incs.Load()}
		for _, p := range owners {
			c, r := usage(p.Pid())
			s.owners = append(s.owners, c)
			s.ownerRSS = append(s.ownerRSS, r)
		}
		s.view, s.viewRSS = usage(view.Pid())
		s.broker, _ = usage(mq.Pid())
		s.ifx, _ = usage(db.Pid())
		return s
	}

	// Phase A: steady.
	a0 := snap()
	time.Sleep(steadyWindow)
	a1 := snap()
	heaps := make([]float64, len(owners))
	for o, addr := range ownerAddrs {
		heaps[o] = heapInuse(addr)
	}

	// Phase B: churn.
	fl.since = time.Now()
	fl.on.Store(true)
	b0 := snap()
	time.Sleep(churnWindow)
	b1 := snap()
	fl.on.Store(false)
	time.Sleep(3 * time.Second) // the writers flush what the window stamped

	perSec := func(d time.Duration, from, to sample) float64 {
		return float64(d.Microseconds()) / 1000 / to.at.Sub(from.at).Seconds()
	}
	last := len(ownerCams) - 1
	base := perSec(a1.owners[0]-a0.owners[0], a0, a1)
	for o, n := range ownerCams {
		b.ReportMetric(perSec(a1.owners[o]-a0.owners[o], a0, a1), fmt.Sprintf("owner%d_cpu_ms/s", n))
		b.ReportMetric(float64(a1.ownerRSS[o])/1024, fmt.Sprintf("owner%d_rss_MiB", n))
		b.ReportMetric(heaps[o]/(1<<20), fmt.Sprintf("owner%d_heap_MiB", n))
	}
	k := float64(ownerCams[last]) / 1000
	b.ReportMetric((perSec(a1.owners[last]-a0.owners[last], a0, a1)-base)/k, "owner_cpu_ms/s_per_1k_cams")
	b.ReportMetric(float64(a1.ownerRSS[last]-a1.ownerRSS[0])/1024/k, "owner_rss_MiB_per_1k_cams")
	b.ReportMetric((heaps[last]-heaps[0])/(1<<10)/float64(ownerCams[last]), "owner_heap_KiB_per_cam")
	b.ReportMetric(float64(a1.viewRSS-viewRSS0)/1024/(float64(total)/1000), "view_rss_MiB_per_1k_cams")
	b.ReportMetric(perSec(a1.view-a0.view, a0, a1), "view_cpu_ms/s_steady")
	b.ReportMetric(perSec(a1.broker-a0.broker, a0, a1), "broker_cpu_ms/s_steady")
	b.ReportMetric(perSec(a1.ifx-a0.ifx, a0, a1), "influxd_cpu_ms/s_steady")

	// Churn: what phase B spent beyond phase A's rate, per camera state
	// change (the owners' transitions, counted in InfluxDB, where each is
	// one device_state point).
	var changes float64
	for _, n := range points(b, db, "device_state", "state", b0.at, b1.at) {
		changes += float64(n)
	}
	window := b1.at.Sub(b0.at).Seconds()
	extra := func(a, b time.Duration) float64 { // ms of CPU in B beyond A's rate
		return (perSec(b, b0, b1) - perSec(a, a0, a1)) * window
	}
	b.ReportMetric(float64(flapping), "flapping_cams")
	b.ReportMetric(changes/window, "camera_changes/s")
	b.ReportMetric(float64(b1.incs-b0.incs), "incident_msgs_in_churn")
	if changes > 0 {
		b.ReportMetric(float64(b1.cams-b0.cams)/changes, "view_ws_msgs_per_change")
		b.ReportMetric(extra(a1.view-a0.view, b1.view-b0.view)/changes*1000, "view_cpu_ms/1k_changes")
		b.ReportMetric(extra(a1.broker-a0.broker, b1.broker-b0.broker)/changes*1000, "broker_cpu_ms/1k_changes")
		b.ReportMetric(extra(a1.ifx-a0.ifx, b1.ifx-b0.ifx)/changes*1000, "influxd_cpu_ms/1k_changes")
		var own float64
		for o := range ownerCams {
			own += extra(a1.owners[o]-a0.owners[o], b1.owners[o]-b0.owners[o])
		}
		b.ReportMetric(own/changes*1000, "owners_cpu_ms/1k_changes")
	}

	// InfluxDB: the points each phase wrote, per hub.
	for _, m := range []struct{ meas, field string }{
		{"device_state", "state"}, {"camera_health", "fps"}, {"incident_step", "id"},
	} {
		pa := points(b, db, m.meas, m.field, a0.at, a1.at)
		pb := points(b, db, m.meas, m.field, b0.at, b1.at)
		var na, nb int
		for _, n := range pa {
			na += n
		}
		for _, n := range pb {
			nb += n
		}
		b.Logf("%s points: steady %v (%.2f/s), churn %v (%.2f/s)", m.meas, pa, float64(na)/a1.at.Sub(a0.at).Seconds(), pb, float64(nb)/b1.at.Sub(b0.at).Seconds())
		b.ReportMetric(float64(na)/a1.at.Sub(a0.at).Seconds(), m.meas+"_points/s_steady")
		b.ReportMetric(float64(nb)/b1.at.Sub(b0.at).Seconds(), m.meas+"_points/s_churn")
	}
}
