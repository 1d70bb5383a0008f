package timeseries

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// TestBacklogInTwoFlightsLosesNothing: a backlog drains two batches at a
// time, and InfluxDB refuses one of a pair, once the later of the two (the
// cursor may move past the first only) and once the earlier (the cursor
// may not move at all, though the later was written). InfluxDB ends with
// every point once.
func TestBacklogInTwoFlightsLosesNothing(t *testing.T) {
	db := testenv.StartInfluxDB(t, "snowhub")
	target, _ := url.Parse(db.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	// Sensor x00500 opens the second batch (the later of the first pair),
	// x02000 the fifth (the earlier of the third pair).
	refuse := map[string]bool{"x00500,": true, "x02000,": true}
	var mu sync.Mutex
	var refused []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/write") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			plain := body
			if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
				plain, _ = io.ReadAll(zr)
			}
			mu.Lock()
			for k, on := range refuse {
				if on && bytes.Contains(plain, []byte(k)) {
					refuse[k] = false
					refused = append(refused, k)
					mu.Unlock()
					http.Error(w, "overloaded", http.StatusServiceUnavailable)
					return
				}
			}
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	const n, batch = 5000, 500
	w, err := New(Options{Config: configs.InfluxConfig{URL: front.URL, Bucket: "snowhub", Org: "snowbright", BatchSize: batch, FlushInterval: 100 * time.Millisecond}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range n {
		d := event.SensorReadingData{Sensor: fmt.Sprintf("x%05d", i), Kind: "water_level", Value: float64(i)}
		if err := w.Record(context.Background(), event.Event{Type: event.SensorReading, Time: base.Add(time.Duration(i) * time.Millisecond), Township: "t1", Village: "v1", Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	w.Start(context.Background())
	testenv.WaitFor(t, 60*time.Second, "backlog drained", func() bool { return w.Stats().Backlog == 0 })
	w.Close()
	mu.Lock()
	if len(refused) != 2 {
		t.Errorf("refused writes %v, want both marked batches refused once", refused)
	}
	mu.Unlock()
	if got := count(t, db, "SELECT count(value) FROM sensor_reading"); got != n {
		t.Fatalf("InfluxDB holds %d readings, %d were recorded", got, n)
	}
}
