package timeseries_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"snowhub/configs"
	"snowhub/internal/test/testenv"
	"snowhub/internal/timeseries"
)

// BenchmarkUptimeLookback: a day's uptime report for 1,000 cameras whose
// state changes 5 times a day, with 91 days of transitions before it (the
// report looks back 90 days for the state in force at its start). The
// report's time against, in the same run, one Flux query reading every
// transition of the lookback and the day (what the report read before it
// asked only for each camera's last state before the day).
//
//	flock /tmp/heavy.lock go test -run '^$' -bench UptimeLookback -benchtime 3x ./bench/timeseries
func BenchmarkUptimeLookback(b *testing.B) {
	db := testenv.StartInfluxDB(b, "snowhub")
	const cams, perDay, days = 1000, 5, 92
	end := time.Now().Truncate(time.Hour)
	start := end.Add(-days * 24 * time.Hour)
	step := 24 * time.Hour / perDay
	var buf bytes.Buffer
	n := 0
	post := func() {
		resp, err := http.Post(db.URL+"/write?db=snowhub&precision=ns", "text/plain", bytes.NewReader(buf.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			b.Fatalf("write: %s", resp.Status)
		}
		buf.Reset()
	}
	for c := 0; c < cams; c++ {
		off := time.Duration(c) * step / cams // out of step with each other
		for i := 0; start.Add(off + time.Duration(i)*step).Before(end); i++ {
			state, prev := "online", "offline"
			if i%2 == 1 {
				state, prev = prev, state
			}
			fmt.Fprintf(&buf, "device_state,device=cam-%04d,kind=camera,township=t%d,village=v%02d state=%q,prev=%q,cause=\"refused\" %d\n",
				c, c%8, c%60, state, prev, start.Add(off+time.Duration(i)*step).UnixNano())
			if n++; n%5000 == 0 {
				post()
			}
		}
	}
	post()

	w, err := timeseries.New(timeseries.Options{Config: configs.InfluxConfig{URL: db.URL, Bucket: "snowhub"}, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	q := timeseries.UptimeQuery{From: end.Add(-24 * time.Hour), To: end}
	for c := 0; c < cams; c++ {
		q.Cameras = append(q.Cameras, timeseries.CameraInfo{ID: fmt.Sprintf("cam-%04d", c), Township: fmt.Sprintf("t%d", c%8)})
	}
	client := influxdb2.NewClient(db.URL, "")
	defer client.Close()
	full := fmt.Sprintf(`from(bucket: "snowhub/autogen")
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == "device_state" and r.kind == "camera" and (r._field == "state" or r._field == "cause"))
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> keep(columns: ["_time", "device", "state", "cause"])`,
		q.From.Add(-90*24*time.Hour).UTC().Format(time.RFC3339Nano), q.To.UTC().Format(time.RFC3339Nano))

	var report, scan []time.Duration
	rows := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		rep, err := w.Uptime(context.Background(), q)
		if err != nil {
			b.Fatal(err)
		}
		report = append(report, time.Since(t0))
		if len(rep.Cameras) != cams || rep.Cameras[0].State == "unknown" {
			b.Fatalf("report: %d cameras, the first %+v", len(rep.Cameras), rep.Cameras[0])
		}

		t0 = time.Now()
		res, err := client.QueryAPI("").Query(context.Background(), full)
		if err != nil {
			b.Fatal(err)
		}
		rows = 0
		for res.Next() {
			rows++
		}
		res.Close()
		scan = append(scan, time.Since(t0))
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)/2].Milliseconds())
	}
	b.ReportMetric(float64(n), "points")
	b.ReportMetric(med(report), "report-ms")
	b.ReportMetric(med(scan), "full-read-ms")
	b.ReportMetric(float64(rows), "full-read-rows")
}
