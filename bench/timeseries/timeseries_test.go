// Benchmarks of the time-series writer against a real InfluxDB 1.8.
//
//	go test -run '^$' -bench . ./bench/timeseries
package timeseries_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
	"snowhub/internal/timeseries"
)

func sample(i int, at time.Time) event.Event {
	return event.Event{Type: event.CameraSample, Time: at, Data: event.CameraStatus{ID: fmt.Sprintf("cam-%04d", i%2000),
		Township: "t1", Village: fmt.Sprintf("v%02d", i%60), FPS: 25, BitrateKbps: 2048, State: "online"}}
}

// BenchmarkEnqueueInfluxDown: what a producer pays per point while InfluxDB
// is unreachable (everything goes to the spool).
func BenchmarkEnqueueInfluxDown(b *testing.B) {
	w, err := timeseries.New(timeseries.Options{Config: configs.InfluxConfig{URL: "http://127.0.0.1:1", Bucket: "x"}, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	w.Start(context.Background())
	defer w.Close()
	lat := make([]time.Duration, 0, b.N)
	base := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := w.Record(context.Background(), sample(i, base.Add(time.Duration(i)))); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1000, "max-µs")
	b.ReportMetric(float64(w.Stats().SpoolBytes)/float64(b.N), "spool-bytes/point")
}

// BenchmarkThroughput: the same points (health samples of 2,000 cameras)
// posted two ways into the same InfluxDB, in the same run: replayed by the
// writer from its spool (read, batch of 5,000, gzip, post, cursor), and as
// bulk gzip'd line-protocol POSTs of 5,000 lines. Bulk goes first, so the
// writer does not profit from a warm database.
func BenchmarkThroughput(b *testing.B) {
	db := testenv.StartInfluxDB(b, "snowhub", "bulk")
	const n = 200000
	base := time.Now().Add(-time.Hour)

	// Fill a spool while InfluxDB is "away".
	dir := b.TempDir()
	w, _ := timeseries.New(timeseries.Options{Config: configs.InfluxConfig{URL: "http://127.0.0.1:1", Bucket: "snowhub"}, Dir: dir})
	for i := 0; i < n; i++ {
		w.Record(context.Background(), sample(i, base.Add(time.Duration(i)*time.Microsecond)))
	}
	w.Close()
	lines := readSpool(b, filepath.Join(dir, "samples"))
	if len(lines) != n {
		b.Fatalf("spool holds %d lines", len(lines))
	}
	b.ResetTimer()

	start := time.Now()
	bulkPost(b, db.URL, lines)
	bulk := float64(n) / time.Since(start).Seconds()

	w2, _ := timeseries.New(timeseries.Options{Config: configs.InfluxConfig{URL: db.URL, Bucket: "snowhub", BatchSize: 5000}, Dir: dir})
	start = time.Now()
	w2.Start(context.Background())
	for w2.Stats().Backlog > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	writer := float64(n) / time.Since(start).Seconds()
	w2.Close()
	b.StopTimer()
	b.ReportMetric(writer, "writer-points/s")
	b.ReportMetric(bulk, "bulk-points/s")
	b.ReportMetric(writer/bulk, "ratio")
}

// readSpool reads every record of a spool lane (length, CRC, payload).
func readSpool(b *testing.B, dir string) [][]byte {
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	var out [][]byte
	for _, f := range segs {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for len(data) >= 8 {
			l := int(binary.LittleEndian.Uint32(data))
			out = append(out, data[8:8+l])
			data = data[8+l:]
		}
	}
	return out
}

// bulkPost writes lines to InfluxDB's bucket "bulk" as a bulk loader does
// (gzip, 5,000 lines a POST, one after another): the baseline the hub's
// writes are measured against.
func bulkPost(b *testing.B, url string, lines [][]byte) {
	b.Helper()
	for i := 0; i < len(lines); i += 5000 {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		for _, l := range lines[i:min(i+5000, len(lines))] {
			zw.Write(l)
			zw.Write([]byte{'\n'})
		}
		zw.Close()
		req, _ := http.NewRequest("POST", url+"/api/v2/write?bucket=bulk&precision=ns", &buf)
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 204 {
			b.Fatalf("bulk post: %v %v", err, resp)
		}
		resp.Body.Close()
	}
}
