// Benchmark of the websocket fan-out: 500 clients on loopback receiving
// events at a steady rate, against a minimal gorilla hub in the chat
// example's pattern, in the same run; and the same with one stalled client.
//
//	go test -run '^$' -bench . ./bench/ws
package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

const (
	clients = 500
	rate    = 200 // events per second (500 clients × 1,000/s saturates 2 cores with the clients in-process)
	seconds = 3
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type result struct {
	p50, p99  time.Duration
	cpuPerMsg time.Duration
	delivered int
}

// run connects the clients to url, publishes with pub, and measures.
func run(b *testing.B, url string, pub func(i int, sentNs int64), stalled bool) result {
	var mu sync.Mutex
	var lat []time.Duration
	delivered := 0
	var conns []*websocket.Conn
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				var m struct {
					Data struct {
						LastError string `json:"last_error"`
					} `json:"data"`
					Sent int64 `json:"sent"`
				}
				json.Unmarshal(data, &m)
				var sent int64
				fmt.Sscan(m.Data.LastError, &sent)
				if sent == 0 {
					sent = m.Sent
				}
				if sent > 0 {
					d := time.Since(time.Unix(0, sent))
					mu.Lock()
					lat = append(lat, d)
					delivered++
					mu.Unlock()
				}
			}
		}()
	}
	if stalled { // a client that completes the handshake and never reads
		raw, _ := net.Dial("tcp", url[len("ws://"):len("ws://")+len(hostOf(url))])
		defer raw.Close()
		fmt.Fprintf(raw, "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", url[len("ws://")+len(hostOf(url)):])
	}
	time.Sleep(500 * time.Millisecond)
	c0 := cpu()
	next := time.Now()
	for i := 0; i < rate*seconds; i++ {
		pub(i, time.Now().UnixNano())
		next = next.Add(time.Second / rate)
		time.Sleep(time.Until(next))
	}
	time.Sleep(500 * time.Millisecond)
	used := cpu() - c0
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], cpuPerMsg: used / time.Duration(delivered), delivered: delivered}
}

func hostOf(url string) string {
	rest := url[len("ws://"):]
	for i, r := range rest {
		if r == '/' {
			return rest[:i]
		}
	}
	return rest
}

// chatHub is the gorilla chat example's pattern: a register/broadcast loop
// and one buffered channel per client, dropped when full.
type chatHub struct {
	broadcast chan []byte
	register  chan chan []byte
}

func newChatHub() *chatHub {
	h := &chatHub{broadcast: make(chan []byte, 256), register: make(chan chan []byte)}
	go func() {
		clients := map[chan []byte]bool{}
		for {
			select {
			case c := <-h.register:
				clients[c] = true
			case m := <-h.broadcast:
				for c := range clients {
					select {
					case c <- m:
					default:
						close(c)
						delete(clients, c)
					}
				}
			}
		}
	}()
	return h
}

func (h *chatHub) serve(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	send := make(chan []byte, 256)
	h.register <- send
	go func() {
		defer conn.Close()
		for m := range send {
			conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if conn.WriteMessage(websocket.TextMessage, m) != nil {
				return
			}
		}
	}()
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
}

func BenchmarkFanout(b *testing.B) {
	// Baseline: the chat pattern, same message sizes.
	ch := newChatHub()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go http.Serve(ln, http.HandlerFunc(ch.serve))
	base := run(b, "ws://"+ln.Addr().String()+"/", func(i int, sent int64) {
		m, _ := json.Marshal(map[string]any{"seq": i, "type": "camera", "data": event.CameraStatus{ID: "cam-1", Township: "t1", LastError: fmt.Sprint(sent)}})
		ch.broadcast <- m
	}, false)
	ln.Close()

	cfg := &configs.Config{Listen: "127.0.0.1:0", Dashboard: configs.DashboardConfig{History: 10000, ClientQueue: 256}}
	s, err := dashboard.New(dashboard.Options{Config: func() *configs.Config { return cfg },
		Auth: func(string) (auth.Principal, bool) { return auth.Principal{Name: "ops", Role: auth.RoleOperator}, true }})
	if err != nil {
		b.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	pub := func(i int, sent int64) {
		s.Publish(context.Background(), event.Event{Type: event.CameraSample, Township: "t1", Data: event.CameraStatus{ID: "cam-1", Township: "t1", LastError: fmt.Sprint(sent)}})
	}
	ours := run(b, "ws://"+s.Addr()+"/ws?token=x", pub, false)
	withStalled := run(b, "ws://"+s.Addr()+"/ws?token=x", pub, true)

	b.ReportMetric(float64(ours.p99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(base.p99.Microseconds()), "chat-p99-µs")
	b.ReportMetric(float64(withStalled.p99.Microseconds()), "stalled-p99-µs")
	b.ReportMetric(float64(ours.cpuPerMsg.Nanoseconds()), "cpu-ns/msg")
	b.ReportMetric(float64(base.cpuPerMsg.Nanoseconds()), "chat-cpu-ns/msg")
	b.ReportMetric(float64(ours.cpuPerMsg)/float64(base.cpuPerMsg), "cpu-ratio")
	b.ReportMetric(float64(ours.delivered), "delivered")
}
