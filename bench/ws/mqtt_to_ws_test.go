package ws_test

import (
	"bufio"
	"context"
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

	"snowhub/internal/app"
	"snowhub/internal/test/testenv"
)

// BenchmarkMQTTToWebsocket: a sensor report published to Mosquitto, to the
// wall's websocket through the whole hub (parse, spool, rules, fan-out), at
// 1,000 msg/s, against mosquitto_sub receiving the same messages.
func BenchmarkMQTTToWebsocket(b *testing.B) {
	mq := testenv.StartMosquitto(b)
	sub := testenv.Need(b, "mosquitto_sub", "/usr/bin/mosquitto_sub")
	dir := b.TempDir()
	port := testenv.FreePort(b)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "listen: 127.0.0.1:%d\ndata_dir: %s\nmqtt: {broker: %q, client_id: bench-hub, device_rate: 1000}\n", port, filepath.Join(dir, "data"), mq.URL)
	cfg.WriteString("influx: {url: \"http://127.0.0.1:1\"}\ncounty: {id: c, name: C}\ntownships:\n  - id: t1\n    name: T1\n    villages:\n      - {id: v1, name: V1}\nsensors:\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&cfg, "  - {id: s-%03d, kind: water_level, village: v1}\n", i)
	}
	cfg.WriteString("users:\n  - {name: ops, role: operator, token: bench-token-0123456789}\n")
	path := filepath.Join(dir, "snowhub.yaml")
	os.WriteFile(path, []byte(cfg.String()), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *app.Hub, 1)
	go app.Run(ctx, app.Options{ConfigPath: path, Ready: func(h *app.Hub) { ready <- h }})
	<-ready
	time.Sleep(time.Second) // subscribed

	t0 := time.Now()
	since := func(v float64) time.Duration { return time.Since(t0.Add(time.Duration(v) * time.Microsecond)) }
	var mu sync.Mutex
	var wsLat, subLat []time.Duration

	ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://127.0.0.1:%d/ws?token=bench-token-0123456789", port), nil)
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
				Data struct {
					LastValue *float64 `json:"last_value"`
					Kind      string   `json:"kind"`
				} `json:"data"`
			}
			json.Unmarshal(data, &m)
			if m.Type == "sensor" && m.Data.Kind != "" && m.Data.LastValue != nil && *m.Data.LastValue > 0 {
				d := since(*m.Data.LastValue)
				mu.Lock()
				wsLat = append(wsLat, d)
				mu.Unlock()
			}
		}
	}()
	host, p, _ := strings.Cut(strings.TrimPrefix(mq.URL, "tcp://"), ":")
	cmd := exec.Command(sub, "-h", host, "-p", p, "-q", "1", "-t", "snowbright/sensors/+/event")
	out, _ := cmd.StdoutPipe()
	cmd.Start()
	defer cmd.Process.Kill()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			i := strings.Index(line, `"value":`)
			if i < 0 {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimRight(line[i+8:], "}"), 64)
			if err == nil {
				d := since(v)
				mu.Lock()
				subLat = append(subLat, d)
				mu.Unlock()
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL).SetClientID("bench-pub"))
	pub.Connect().Wait()
	b.ResetTimer()
	const n = 5000
	next := time.Now()
	for i := 0; i < n; i++ {
		v := float64(time.Since(t0).Microseconds())
		pub.Publish(fmt.Sprintf("snowbright/sensors/s-%03d/event", i%100), 1, false, fmt.Sprintf(`{"value":%.0f}`, v))
		next = next.Add(time.Millisecond)
		time.Sleep(time.Until(next))
	}
	time.Sleep(2 * time.Second)
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	p99 := func(l []time.Duration) (time.Duration, time.Duration) {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		if len(l) == 0 {
			return 0, 0
		}
		return l[len(l)/2], l[len(l)*99/100]
	}
	w50, w99 := p99(wsLat)
	s50, s99 := p99(subLat)
	b.ReportMetric(float64(len(wsLat)), "ws-received")
	b.ReportMetric(float64(w50.Microseconds()), "ws-p50-µs")
	b.ReportMetric(float64(w99.Microseconds()), "ws-p99-µs")
	b.ReportMetric(float64(s50.Microseconds()), "sub-p50-µs")
	b.ReportMetric(float64(s99.Microseconds()), "sub-p99-µs")
}
