package timeseries_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
	"snowhub/internal/timeseries"
)

// reading is one of 3,000 sensors' readings, i microseconds after base.
func reading(i int, base time.Time) event.Event {
	return event.Event{Type: event.SensorReading, Time: base.Add(time.Duration(i) * time.Microsecond), Township: "t1", Village: fmt.Sprintf("v%02d", i%60),
		Data: event.SensorReadingData{Sensor: fmt.Sprintf("s-%04d", i%3000), Kind: "water_level", Value: float64(i % 1000)}}
}

// BenchmarkOutageDrain: InfluxDB is down for 30 s while 300,000 readings
// arrive (10,000 a second), then comes back. Measured from the moment it
// answers again: the writer's first point written (target ≤ 2 s) and the
// whole backlog drained, end to end, against the same 300,000 lines posted
// as bulk gzip'd line protocol of 5,000 lines into the same InfluxDB in the
// same run (target ≥ 0.8× its rate). Bulk goes first, into a database of
// its own, so the writer drains into an InfluxDB just restarted, as a
// county's would be.
//
//	go test -run '^$' -bench OutageDrain -benchtime 1x -timeout 15m ./bench/timeseries
func BenchmarkOutageDrain(b *testing.B) {
	const n, outage = 300000, 30 * time.Second
	db := testenv.StartInfluxDB(b, "snowhub", "bulk")
	base := time.Now().Add(-2 * time.Hour)

	// The bulk writer's lines: the very lines the writer sends, from a
	// spool filled with InfluxDB unreachable.
	dir := b.TempDir()
	w0, _ := timeseries.New(timeseries.Options{Config: configs.InfluxConfig{URL: "http://127.0.0.1:1", Bucket: "snowhub"}, Dir: dir})
	for i := 0; i < n; i++ {
		w0.Record(context.Background(), reading(i, base))
	}
	w0.Close()
	lines := readSpool(b, filepath.Join(dir, "events"))
	if len(lines) != n {
		b.Fatalf("spool holds %d lines", len(lines))
	}

	for range b.N {
		start := time.Now()
		bulkPost(b, db.URL, lines)
		bulk := time.Since(start)

		// The hub's writer, up and writing, then InfluxDB away for 30 s
		// while the readings arrive at 10,000 a second.
		w, err := timeseries.New(timeseries.Options{Config: configs.InfluxConfig{URL: db.URL, Bucket: "snowhub", BatchSize: 5000}, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		w.Start(context.Background())
		db.Stop()
		tick := time.NewTicker(outage / 30)
		for s := 0; s < 30; s++ {
			for i := s * n / 30; i < (s+1)*n/30; i++ {
				if err := w.Record(context.Background(), reading(i, base.Add(time.Hour))); err != nil {
					b.Fatal(err)
				}
			}
			<-tick.C
		}
		tick.Stop()
		if bl := w.Stats().Backlog; bl != n {
			b.Fatalf("backlog %d after the outage, want %d", bl, n)
		}
		db.Start() // returns once InfluxDB answers /ping
		back := time.Now()
		var first time.Duration
		for w.Stats().Backlog > 0 {
			if first == 0 && w.Stats().Written > 0 {
				first = time.Since(back)
			}
			time.Sleep(2 * time.Millisecond)
		}
		drain := time.Since(back)
		if first == 0 {
			first = drain
		}
		w.Close()
		b.ReportMetric(first.Seconds(), "first-write-s")
		b.ReportMetric(drain.Seconds(), "drain-s")
		b.ReportMetric(bulk.Seconds(), "bulk-s")
		b.ReportMetric(bulk.Seconds()/drain.Seconds(), "ratio")
	}
}
