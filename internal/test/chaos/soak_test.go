package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/camera/simcam"
	"snowhub/internal/test/testenv"
)

// The soak's sampling and its verdict, on metrics text and series whose
// answer is known.
func TestSoakSampling(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 57
process_open_fds 23
process_resident_memory_bytes 4.2e+07
snowhub_ws_clients 3
`
	s, err := ParseSample(strings.NewReader(text), time.Unix(0, 0))
	if err != nil || s.Goroutines != 57 || s.FDs != 23 || s.RSS != 42e6 {
		t.Fatalf("ParseSample = %+v, %v", s, err)
	}
	if _, err := ParseSample(strings.NewReader("go_goroutines 5\n"), time.Now()); err == nil {
		t.Fatal("a sample missing fds and RSS was accepted")
	}
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	series := func(g func(i int) float64) []Sample {
		var out []Sample
		for i := 0; i <= 180; i++ { // 30 min, every 10 s
			v := g(i)
			out = append(out, Sample{At: t0.Add(time.Duration(i) * 10 * time.Second), Goroutines: v, FDs: 20, RSS: 50e6})
		}
		return out
	}
	// 2 goroutines more each minute: 120 an hour.
	leak := series(func(i int) float64 { return 100 + float64(i)/3 })
	if got := Slope(leak, func(s Sample) float64 { return s.Goroutines }); got < 119.9 || got > 120.1 {
		t.Fatalf("slope of a 120/h leak = %v", got)
	}
	if tr := Trends(leak, 0.05)[0]; tr.Flat {
		t.Fatalf("a leak judged flat: %v", tr)
	}
	// Clients coming and going: a sawtooth around a level is flat.
	saw := series(func(i int) float64 { return 100 + float64(i%6)*4 })
	for _, tr := range Trends(saw, 0.05) {
		if !tr.Flat {
			t.Fatalf("a steady sawtooth judged growing: %v", tr)
		}
	}
}

// TestSoak runs the hub for SNOWHUB_SOAK (say 30m; `make soak`) under
// camera churn (a camera dropping every 10 s), sensor floods and websocket
// clients connecting and leaving, sampling goroutines, open fds and RSS
// from /metrics every 10 s; each must stay flat.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("SNOWHUB_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("SNOWHUB_SOAK not set (make soak runs 30m)")
	}
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t, "snowhub")
	sim, err := simcam.New(simcam.Options{Listen: "127.0.0.1:0", FlapEvery: 10 * time.Second, FlapDown: 3 * time.Second,
		Cameras: []simcam.Camera{{Path: "/flap", Behaviour: simcam.Flap}, {Path: "/steady", Behaviour: simcam.Normal}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	h := newHub(t, spec{mqttURL: mq.URL, influxURL: db.URL, sensors: temps(50), deviceRate: 20,
		cameras: []string{"cam-flap " + sim.URL("/flap"), "cam-steady " + sim.URL("/steady")}})
	h.start()

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(2)
	go func() { // sensors: readings, and a QoS 0 flood from one of them
		defer wg.Done()
		pub := publisher(t, mq.URL, "soak-sensors")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for s := 0; s < 50; s++ {
				pub.Publish(fmt.Sprintf("snowbright/sensors/temp-%02d/event", s), 1, false, tsReading(time.Now(), i))
			}
			for k := 0; k < 200; k++ {
				pub.Publish("snowbright/sensors/temp-00/event", 0, false, `{"value":1}`)
			}
		}
	}()
	go func() { // walls connecting, reading a while, leaving
		defer wg.Done()
		ws := "ws://" + strings.TrimPrefix(h.base, "http://") + "/ws?token=" + opsToken
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, _, err := websocket.DefaultDialer.Dial(ws, nil)
			if err == nil {
				c.SetReadDeadline(time.Now().Add(time.Duration(1+time.Now().UnixNano()%3) * time.Second))
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						break
					}
				}
				c.Close()
			}
		}
	}()
	var samples []Sample
	tick := time.NewTicker(10 * time.Second)
	end := time.After(d)
sampling:
	for {
		select {
		case <-end:
			break sampling
		case now := <-tick.C:
			resp, err := http.Get(h.base + "/metrics")
			if err != nil {
				t.Fatalf("metrics: %v", err)
			}
			s, err := ParseSample(resp.Body, now)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			samples = append(samples, s)
		}
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	for _, tr := range Trends(samples, 0.05) {
		t.Logf("soak %s: %s", d, tr)
		if !tr.Flat {
			t.Errorf("not flat over %s: %s", d, tr)
		}
	}
}
