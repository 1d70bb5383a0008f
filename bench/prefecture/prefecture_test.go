// Package prefecture measures a prefecture on this box: N owner hubs and
// one view hub (real snowhub processes) on one Mosquitto. Each owner gets a
// burst of alarms, one per sensor; every alarm becomes an incident with two
// steps (open, automatic dispatch) that the owner's feed carries to the
// view. Reported per N: alarm → view websocket latency p50/p99, the feed
// rate the view took, and the view's and the broker's CPU and memory.
//
//	flock /tmp/heavy.lock go test -run '^$' -bench Prefecture -benchtime 1x ./bench/prefecture
package prefecture

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"

	"snowhub/internal/test/testenv"
)

const token = "bench-operator-token-0001"

// sensorsPerOwner alarms per owner in one burst.
const sensorsPerOwner = 500

func config(n int, id, section, listen, dir, broker string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\ndata_dir: %s\nmqtt: {broker: %q, client_id: %s, device_rate: 1000}\ninflux: {url: \"http://127.0.0.1:9\"}\n", listen, dir, broker, id)
	b.WriteString("county: {id: c, name: C}\ntownships:\n")
	for o := 0; o < n; o++ {
		fmt.Fprintf(&b, "  - id: t%d\n    name: T%d\n    villages:\n      - {id: v%d, name: V%d}\n", o, o, o, o)
	}
	b.WriteString("sensors:\n")
	for o := 0; o < n; o++ {
		for s := 0; s < sensorsPerOwner; s++ {
			fmt.Fprintf(&b, "  - {id: s%d-%03d, kind: smoke, village: v%d}\n", o, s, o)
		}
	}
	// The burst is measured as one incident per alarm through the feed:
	// smoke stays per device instead of joining a storm (alerts.storm).
	b.WriteString("alerts: {storm: {per_device: [smoke]}}\n")
	fmt.Fprintf(&b, "users:\n  - {name: ops, role: operator, token: %s}\n%s\n", token, section)
	return b.String()
}

var (
	binOnce sync.Once
	bin     string
	binErr  error
)

func build(b *testing.B) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bench-prefecture")
		if err != nil {
			binErr = err
			return
		}
		bin = filepath.Join(dir, "snowhub")
		cmd := exec.Command("go", "build", "-o", bin, "snowhub/cmd/snowhub")
		cmd.Dir = testenv.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return bin
}

// usage is a process's CPU time (user+system) and resident memory.
func usage(pid int) (cpu time.Duration, rssKB int) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	cpu = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rssKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return cpu, rssKB
}

func BenchmarkPrefecture(b *testing.B) {
	testenv.Short(b)
	bin := build(b)
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("owners=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				run(b, bin, n)
			}
		})
	}
}

func run(b *testing.B, bin string, n int) {
	mq := testenv.StartMosquitto(b)
	start := func(id, section string) (*testenv.Process, string) {
		dir := b.TempDir()
		addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
		path := filepath.Join(dir, "snowhub.yaml")
		if err := os.WriteFile(path, []byte(config(n, id, section, addr, filepath.Join(dir, "data"), mq.URL)), 0o644); err != nil {
			b.Fatal(err)
		}
		return testenv.StartProcess(b, addr, bin, "-config", path), addr
	}
	for o := 0; o < n; o++ {
		start(fmt.Sprintf("o%d", o), fmt.Sprintf("hub: {id: o%d, townships: [t%d]}", o, o))
	}
	view, viewAddr := start("view", "hub: {id: view, view: [all]}")

	ws, _, err := websocket.DefaultDialer.Dial("ws://"+viewAddr+"/ws?token="+token, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	total := n * sensorsPerOwner
	arrived := make(map[string]time.Time, total)
	done := make(chan struct{})
	var mu sync.Mutex
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				b.Logf("websocket: %v", err)
				return
			}
			var m struct {
				Type string `json:"type"`
				Data struct {
					Device string `json:"device"`
				} `json:"data"`
			}
			if json.Unmarshal(data, &m) != nil || m.Type != "incident" {
				continue
			}
			mu.Lock()
			if _, ok := arrived[m.Data.Device]; !ok {
				arrived[m.Data.Device] = time.Now()
				if len(arrived) == total {
					close(done)
				}
			}
			mu.Unlock()
		}
	}()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL).SetClientID("bench-devices").SetMaxResumePubInFlight(100))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	time.Sleep(time.Second) // the view has every owner's retained status

	vCPU0, vRSS0 := usage(view.Pid())
	bCPU0, _ := usage(mq.Pid())
	sent := make(map[string]time.Time, total)
	t0 := time.Now()
	var toks []paho.Token
	for s := 0; s < sensorsPerOwner; s++ {
		for o := 0; o < n; o++ {
			id := fmt.Sprintf("s%d-%03d", o, s)
			sent[id] = time.Now()
			toks = append(toks, pub.Publish("snowbright/sensors/"+id+"/event", 1, false, `{"value":true}`))
		}
	}
	for _, t := range toks {
		t.WaitTimeout(30 * time.Second)
	}
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		mu.Lock()
		got := len(arrived)
		mu.Unlock()
		b.Fatalf("%d of %d alarms reached the view", got, total)
	}
	wall := time.Since(t0)
	vCPU1, vRSS1 := usage(view.Pid())
	bCPU1, _ := usage(mq.Pid())

	mu.Lock()
	lat := make([]time.Duration, 0, total)
	for id, at := range arrived {
		lat = append(lat, at.Sub(sent[id]))
	}
	mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	// Each alarm is two steps on the feed (open, dispatch); the view may
	// coalesce none of them.
	feedEvents := float64(2 * total)
	b.ReportMetric(float64(p(0.5).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(p(0.99).Microseconds())/1000, "p99_ms")
	b.ReportMetric(feedEvents/wall.Seconds(), "feed_events/s")
	b.ReportMetric((vCPU1-vCPU0).Seconds()*1000/feedEvents*1000, "view_cpu_ms/1k_events")
	b.ReportMetric((bCPU1-bCPU0).Seconds()*1000/feedEvents*1000, "broker_cpu_ms/1k_events")
	b.ReportMetric(float64(vRSS1)/1024, "view_rss_MiB")
	b.ReportMetric(float64(vRSS1-vRSS0)/1024, "view_rss_growth_MiB")
}
