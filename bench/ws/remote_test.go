package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// The clients of BenchmarkFanoutRemote run in a child process (this test
// binary again, told so by the environment), so the CPU measured in the
// benchmark's process is the server's alone.
const remoteEnv = "SNOWHUB_WSBENCH_CLIENTS"

func TestMain(m *testing.M) {
	if url := os.Getenv(remoteEnv); url != "" {
		n, _ := strconv.Atoi(os.Getenv(remoteEnv + "_N"))
		remoteClients(url, n)
		return
	}
	os.Exit(m.Run())
}

// remoteClients connects n clients to url, says "ready" on stdout, reads
// until stdin closes, then prints the latencies' p50, p99 (ns) and the
// messages delivered.
func remoteClients(url string, n int) {
	var mu sync.Mutex
	var lat []time.Duration
	var conns []*websocket.Conn
	var wg sync.WaitGroup
	for range n {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		conns = append(conns, c)
		wg.Go(func() {
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				// The send time rides in last_error; found without decoding
				// the message, so the clients' process stays light.
				i := bytes.Index(data, []byte(`"last_error":"`))
				if i < 0 {
					continue
				}
				rest := data[i+len(`"last_error":"`):]
				j := bytes.IndexByte(rest, '"')
				if j < 0 {
					continue
				}
				if sent, err := strconv.ParseInt(string(rest[:j]), 10, 64); err == nil && sent > 0 {
					d := time.Since(time.Unix(0, sent))
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}
		})
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	time.Sleep(300 * time.Millisecond) // the last messages in flight
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		fmt.Println("0 0 0")
		return
	}
	fmt.Println(int64(lat[len(lat)/2]), int64(lat[len(lat)*99/100]), len(lat))
}

// runRemote starts the clients' process against url, publishes rate*secs
// messages with pub once they are connected, and returns the server
// process's CPU per delivered message with the clients' figures.
func runRemote(b *testing.B, url string, n, rate, secs int, pub func(sent int64)) result {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), remoteEnv+"="+url, remoteEnv+"_N="+strconv.Itoa(n))
	in, _ := cmd.StdinPipe()
	outp, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	out := bufio.NewScanner(outp)
	if !out.Scan() || out.Text() != "ready" {
		b.Fatalf("clients: %q", out.Text())
	}
	time.Sleep(300 * time.Millisecond)
	c0 := cpu()
	next := time.Now()
	for range rate * secs {
		pub(time.Now().UnixNano())
		next = next.Add(time.Second / time.Duration(rate))
		time.Sleep(time.Until(next))
	}
	time.Sleep(300 * time.Millisecond)
	used := cpu() - c0
	in.Close()
	var p50, p99 int64
	var delivered int
	if !out.Scan() {
		b.Fatal("clients: no figures")
	}
	fmt.Sscan(out.Text(), &p50, &p99, &delivered)
	cmd.Wait()
	if delivered == 0 {
		b.Fatal("clients: nothing delivered")
	}
	return result{p50: time.Duration(p50), p99: time.Duration(p99), cpuPerMsg: used / time.Duration(delivered), delivered: delivered}
}

// BenchmarkFanoutRemote: 500 clients in another process receive camera
// samples at 100/s (50,000 deliveries a second, which the 2-core box
// carries with both processes on it) from the hub's fan-out and
// from the gorilla chat pattern, the same message, alternately twice; the
// lower CPU of each side is kept (the machine is shared).
//
//	go test -run '^$' -bench FanoutRemote -benchtime 1x ./bench/ws
func BenchmarkFanoutRemote(b *testing.B) {
	const n, rate, secs = 500, 100, 5
	sample := func(sent int64) event.CameraStatus {
		return event.CameraStatus{ID: "cam-0001", Township: "t1", Village: "v1", State: "online", FPS: 25, BitrateKbps: 2048, LastError: strconv.FormatInt(sent, 10)}
	}

	ch := newChatHub()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go http.Serve(ln, http.HandlerFunc(ch.serve))
	defer ln.Close()
	seq := 0
	chat := func() result {
		return runRemote(b, "ws://"+ln.Addr().String()+"/", n, rate, secs, func(sent int64) {
			seq++
			m, _ := json.Marshal(map[string]any{"seq": seq, "type": "camera", "data": sample(sent)})
			ch.broadcast <- m
		})
	}

	cfg := &configs.Config{Listen: "127.0.0.1:0", Dashboard: configs.DashboardConfig{History: 10000, ClientQueue: 256}}
	s, err := dashboard.New(dashboard.Options{Config: func() *configs.Config { return cfg },
		Auth: func(string) (auth.Principal, bool) { return auth.Principal{Name: "ops", Role: auth.RoleOperator}, true }})
	if err != nil {
		b.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	hub := func() result {
		return runRemote(b, "ws://"+s.Addr()+"/ws?token=x", n, rate, secs, func(sent int64) {
			s.Publish(context.Background(), event.Event{Type: event.CameraSample, Township: "t1", Village: "v1", Data: sample(sent)})
		})
	}

	best := func(a, c result) result {
		if c.cpuPerMsg < a.cpuPerMsg {
			return c
		}
		return a
	}
	var ours, base result
	for i := range 2 {
		o, c := hub(), chat()
		if i == 0 {
			ours, base = o, c
		} else {
			ours, base = best(ours, o), best(base, c)
		}
	}
	b.ReportMetric(float64(ours.cpuPerMsg.Nanoseconds()), "cpu-ns/msg")
	b.ReportMetric(float64(base.cpuPerMsg.Nanoseconds()), "chat-cpu-ns/msg")
	b.ReportMetric(float64(ours.cpuPerMsg)/float64(base.cpuPerMsg), "cpu-ratio")
	b.ReportMetric(float64(ours.p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(base.p50.Microseconds()), "chat-p50-µs")
	b.ReportMetric(float64(ours.p99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(base.p99.Microseconds()), "chat-p99-µs")
	b.ReportMetric(float64(ours.delivered), "delivered")
	b.ReportMetric(float64(base.delivered), "chat-delivered")
}
