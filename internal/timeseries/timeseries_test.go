package timeseries

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

func TestSpoolSurvivesRestartAndTornTail(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 200) // tiny segments: force rollover
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := s.append([]byte(fmt.Sprintf("m v=%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	recs, cur, err := s.read(5)
	if err != nil || len(recs) != 5 || string(recs[0]) != "m v=0" {
		t.Fatalf("read = %q %v", recs, err)
	}
	if err := s.commit(cur, len(recs)); err != nil {
		t.Fatal(err)
	}
	s.close()
	// A crash mid-append leaves half a record at the end of the last segment.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	last := segs[len(segs)-1]
	f, _ := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{9, 0, 0, 0, 1, 2})
	f.Close()

	s, err = openSpool(dir, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var got []string
	for {
		recs, cur, err := s.read(3)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			got = append(got, string(r))
		}
		s.commit(cur, len(recs))
	}
	if len(got) != 15 || got[0] != "m v=5" || got[14] != "m v=19" {
		t.Fatalf("after restart read %d records %q", len(got), got)
	}
	if err := s.append([]byte("m v=20")); err != nil {
		t.Fatal(err)
	}
	recs, _, _ = s.read(10)
	if len(recs) != 1 || string(recs[0]) != "m v=20" {
		t.Fatalf("append after torn tail: %q", recs)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(left) > 2 {
		t.Errorf("%d segments left after everything was delivered", len(left))
	}
}

func TestSpoolCapDropsSamplesNeverEvents(t *testing.T) {
	w, err := New(Options{Config: configs.InfluxConfig{URL: "http://127.0.0.1:1", Bucket: "x", SpoolMaxBytes: 1}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	w.samples.segSize, w.events.segSize = 300, 300
	for i := 0; i < 50; i++ {
		at := time.Unix(int64(1000+i), 0)
		w.Record(context.Background(), event.Event{Type: event.CameraSample, Time: at, Data: event.CameraStatus{ID: "cam-1", FPS: 25}})
		w.Record(context.Background(), event.Event{Type: event.CameraState, Time: at, Data: event.CameraStatus{ID: "cam-1", State: "online"}})
	}
	if w.Stats().DroppedBytes == 0 {
		t.Fatal("no sample dropped at the cap")
	}
	var events int
	for {
		recs, cur, _ := w.events.read(100)
		if len(recs) == 0 {
			break
		}
		events += len(recs)
		w.events.commit(cur, len(recs))
	}
	if events != 50 {
		t.Fatalf("%d of 50 transitions kept", events)
	}
	w.Close()
}

func TestComputeUptime(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return t0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	q := UptimeQuery{From: t0, To: at(10, 0), Cameras: []CameraInfo{
		{ID: "a", Township: "t1", TownshipName: "T1"},
		{ID: "b", Township: "t1", TownshipName: "T1"},
		{ID: "c", Township: "t2", TownshipName: "T2"},
		{ID: "d", Township: "t2", TownshipName: "T2"},
		{ID: "e", Township: "t3", TownshipName: "T3"},
	}}
	by := map[string][]transition{
		// online since before the range; down 1 h; back.
		"a": {{at(-5, 0), "online", ""}, {at(2, 0), "offline", "timeout"}, {at(3, 0), "online", "recovered"}},
		// down before the range and all through it.
		"b": {{at(-1, 0), "offline", "refused"}},
		// 2 h maintenance window, otherwise online; degraded 30 min counts as up.
		"c": {{at(0, 0), "online", ""}, {at(4, 0), "maintenance", "maintenance"}, {at(6, 0), "online", ""}, {at(8, 0), "degraded", "low_fps"}, {at(8, 30), "online", ""}},
		// never seen.
		// first recorded 3 h into the range: no data before.
		"e": {{at(3, 0), "online", ""}},
	}
	r := computeUptime(q, by)
	cam := map[string]event.CameraUptime{}
	for _, c := range r.Cameras {
		cam[c.ID] = c
	}
	if a := cam["a"]; a.OnlineSec != 9*3600 || a.OfflineSec != 3600 || a.Uptime != 0.9 || len(a.Outages) != 1 ||
		!a.Outages[0].From.Equal(at(2, 0)) || !a.Outages[0].To.Equal(at(3, 0)) || a.Outages[0].Cause != "timeout" {
		t.Errorf("a = %+v", a)
	}
	if b := cam["b"]; b.Uptime != 0 || b.OfflineSec != 36000 || len(b.Outages) != 1 || !b.Outages[0].From.Equal(t0) || !b.Outages[0].To.IsZero() || b.State != "offline" {
		t.Errorf("b = %+v", b)
	}
	if c := cam["c"]; c.MaintSec != 7200 || c.DegradedSec != 1800 || c.Uptime != 1 {
		t.Errorf("c = %+v", c)
	}
	if d := cam["d"]; d.UnknownSec != 36000 || d.Uptime != 0 || d.State != "unknown" || len(d.NoData) != 1 || !d.NoData[0].From.Equal(t0) || !d.NoData[0].To.Equal(at(10, 0)) {
		t.Errorf("d = %+v", d)
	}
	// The timeline's no-data spans: where the data starts, and none for a
	// camera known all along.
	if e := cam["e"]; len(e.NoData) != 1 || !e.NoData[0].From.Equal(t0) || !e.NoData[0].To.Equal(at(3, 0)) || e.Uptime != 1 {
		t.Errorf("e = %+v, want no data until 03:00", e)
	}
	if a := cam["a"]; len(a.NoData) != 0 {
		t.Errorf("a has no-data spans %+v", a.NoData)
	}
	// t1: (9 h + 0) / (10 h + 10 h) = 0.45; t2: c's 8 h known all up, d unknown: 1.
	if b := r.Cameras[1]; b.Uptime != 0 || len(b.Outages) != 1 || !b.Outages[0].From.Equal(t0) || b.Outages[0].Cause != "refused" || b.UnknownSec != 0 {
		t.Errorf("b = %+v, want down all along from From, cause refused", b)
	}
	if r.Townships[0].OnlineRate != 0.45 || r.Townships[0].DownNow != 1 || r.Townships[1].OnlineRate != 1 {
		t.Errorf("townships = %+v", r.Townships)
	}
	if strings.Join(r.Worst, ",") != "b,a,c,e" {
		t.Errorf("worst = %v", r.Worst)
	}
}

func newTestWriter(t *testing.T, url, dir string) *Writer {
	t.Helper()
	w, err := New(Options{Config: configs.InfluxConfig{URL: url, Bucket: "snowhub", Org: "snowbright", BatchSize: 500, FlushInterval: 100 * time.Millisecond}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w.Start(context.Background())
	return w
}

func count(t *testing.T, db *testenv.InfluxDB, q string) int {
	t.Helper()
	b, err := db.Query("snowhub", q)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	json.Unmarshal(b, &res)
	if len(res.Results) == 0 || len(res.Results[0].Series) == 0 {
		return 0
	}
	return int(res.Results[0].Series[0].Values[0][1].(float64))
}

// InfluxDB goes away while cameras and sensors produce, and the hub
// restarts during the outage: afterwards InfluxDB holds every point once.
func TestOutageAndRestartLoseNothing(t *testing.T) {
	db := testenv.StartInfluxDB(t, "snowhub")
	dir := t.TempDir()
	w := newTestWriter(t, db.URL, dir)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	produced := 0
	produce := func(w *Writer, round int) {
		for c := 0; c < 200; c++ {
			st := event.CameraStatus{ID: fmt.Sprintf("cam-%03d", c), Township: "t1", Village: "v1", FPS: 25, State: "online"}
			// Several samples at the very same instant: none may overwrite another.
			if err := w.Record(context.Background(), event.Event{Type: event.CameraSample, Time: base.Add(time.Duration(round) * time.Second), Data: st}); err != nil {
				t.Fatal(err)
			}
			produced++
		}
		for s := 0; s < 500; s++ {
			d := event.SensorReadingData{Sensor: fmt.Sprintf("s-%03d", s), Kind: "water_level", Value: float64(round)}
			if err := w.Record(context.Background(), event.Event{Type: event.SensorReading, Time: base.Add(time.Duration(round) * time.Second), Township: "t1", Village: "v1", Data: d}); err != nil {
				t.Fatal(err)
			}
			produced++
		}
	}
	produce(w, 0)
	testenv.WaitFor(t, 20*time.Second, "first round written", func() bool { return w.Stats().Written >= 700 })
	db.Kill()
	produce(w, 1)
	produce(w, 1) // the same instant again
	w.Close()     // the hub restarts while InfluxDB is down
	w = newTestWriter(t, db.URL, dir)
	produce(w, 2)
	if err := w.Ready(); err == nil {
		t.Error("Ready() = nil while InfluxDB is down")
	}
	db.Start()
	testenv.WaitFor(t, 60*time.Second, "spool drained", func() bool { return w.Stats().Backlog == 0 && w.Ready() == nil })
	w.Close()
	got := count(t, db, "SELECT count(fps) FROM camera_health") + count(t, db, "SELECT count(value) FROM sensor_reading")
	if got != produced {
		t.Fatalf("InfluxDB holds %d points, %d were produced", got, produced)
	}
}

func TestMalformedPointIsRejectedNotBlocking(t *testing.T) {
	db := testenv.StartInfluxDB(t, "snowhub")
	dir := t.TempDir()
	// The field "state" is a string in camera_health; make it an integer.
	db.MustQuery(t, "CREATE DATABASE snowhub")
	if _, err := db.Query("snowhub", "SELECT 1"); err != nil {
		t.Log(err)
	}
	w := newTestWriter(t, db.URL, dir)
	defer w.Close()
	w.events.append([]byte("camera_health,camera=x state=1i 1000000000"))
	w.Record(context.Background(), event.Event{Type: event.CameraSample, Time: time.Unix(2, 0), Data: event.CameraStatus{ID: "x", State: "online"}})
	w.Record(context.Background(), event.Event{Type: event.CameraState, Time: time.Unix(3, 0), Data: event.CameraStatus{ID: "x", State: "online"}})
	testenv.WaitFor(t, 20*time.Second, "one point rejected", func() bool { return w.Stats().Rejected == 1 })
	testenv.WaitFor(t, 20*time.Second, "the rest written", func() bool { return w.Stats().Backlog == 0 })
	b, _ := os.ReadFile(filepath.Join(dir, "rejected.log"))
	if !strings.Contains(string(b), "field type conflict") {
		t.Fatalf("rejected.log = %s", b)
	}
	if n := count(t, db, "SELECT count(state) FROM device_state"); n != 1 {
		t.Fatalf("device_state points = %d", n)
	}
}

// A scripted timeline through the real InfluxDB and Flux gives the exact
// uptime and online rate.
func TestUptimeFromInfluxDB(t *testing.T) {
	db := testenv.StartInfluxDB(t, "snowhub")
	w := newTestWriter(t, db.URL, t.TempDir())
	defer w.Close()
	t0 := time.Now().Add(-48 * time.Hour).Truncate(time.Hour)
	at := func(h, m int) time.Time { return t0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	for _, tr := range []struct {
		cam, state, cause string
		at                time.Time
	}{
		{"a", "online", "", at(-5, 0)}, {"a", "offline", "timeout", at(-4, 0)}, // before From: only the last one counts
		{"a", "online", "", at(-3, 0)}, {"a", "offline", "timeout", at(2, 0)}, {"a", "online", "recovered", at(3, 0)},
		{"b", "online", "", at(-2, 0)}, {"b", "offline", "refused", at(-1, 0)},
		{"c", "online", "", at(0, 0)}, {"c", "maintenance", "maintenance", at(4, 0)}, {"c", "online", "", at(6, 0)},
		// down, then a restart of the hub finds it down again: one outage.
		{"d", "online", "", at(0, 0)}, {"d", "offline", "timeout", at(1, 0)}, {"d", "offline", "timeout", at(5, 0)},
		// down, unknown, down again: the outage it is in began the second time.
		{"e", "offline", "timeout", at(1, 0)}, {"e", "unknown", "", at(2, 0)}, {"e", "offline", "refused", at(3, 0)},
	} {
		w.Record(context.Background(), event.Event{Type: event.CameraState, Time: tr.at,
			Data: event.CameraStatus{ID: tr.cam, Township: map[string]string{"a": "t1", "b": "t1", "c": "t2"}[tr.cam], State: tr.state, Cause: tr.cause}})
	}
	testenv.WaitFor(t, 20*time.Second, "written", func() bool { return w.Stats().Written == 16 })
	// The outages still open, as the hub reads them back at start.
	open, err := w.OngoingOutages(context.Background(), at(10, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 3 || !open["b"].Equal(at(-1, 0)) || !open["d"].Equal(at(1, 0)) || !open["e"].Equal(at(3, 0)) {
		t.Errorf("ongoing outages = %v, want b since -1 h, d since 1 h (across the restart), e since 3 h", open)
	}
	r, err := w.Uptime(context.Background(), UptimeQuery{From: t0, To: at(10, 0), Cameras: []CameraInfo{
		{ID: "a", Township: "t1"}, {ID: "b", Township: "t1"}, {ID: "c", Township: "t2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if a := r.Cameras[0]; a.Uptime != 0.9 || len(a.Outages) != 1 || !a.Outages[0].From.Equal(at(2, 0)) {
		t.Errorf("a = %+v", a)
	}
	if b := r.Cameras[1]; b.Uptime != 0 || len(b.Outages) != 1 || !b.Outages[0].From.Equal(t0) || b.Outages[0].Cause != "refused" || b.UnknownSec != 0 {
		t.Errorf("b = %+v, want down all along from From, cause refused", b)
	}
	if r.Townships[0].OnlineRate != 0.45 || r.Townships[1].OnlineRate != 1 || r.Cameras[2].MaintSec != 7200 {
		t.Errorf("townships = %+v, c = %+v", r.Townships, r.Cameras[2])
	}
	// Only t1's cameras for a township query.
	r, err = w.Uptime(context.Background(), UptimeQuery{From: t0, To: at(10, 0), Township: "t2", Cameras: []CameraInfo{{ID: "c", Township: "t2"}}})
	if err != nil || len(r.Cameras) != 1 || r.Cameras[0].Uptime != 1 {
		t.Fatalf("t2 report = %+v %v", r, err)
	}
}

// A gateway sends an hour of buffered readings after the newest one, a
// device clock steps back, one reading comes from the future: each is stored
// at its own device time, and only two readings of one sensor at the very
// same instant are told apart, by a nanosecond.
func TestReadingKeepsItsDeviceTime(t *testing.T) {
	db := testenv.StartInfluxDB(t, "snowhub")
	w := newTestWriter(t, db.URL, t.TempDir())
	defer w.Close()
	now := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	reading := func(sensor string, at time.Time, v float64) {
		t.Helper()
		d := event.SensorReadingData{Sensor: sensor, Kind: "water_level", Value: v}
		if err := w.Record(context.Background(), event.Event{Type: event.SensorReading, Time: at, Township: "t1", Village: "v1", Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	reading("s-1", now, 1)
	reading("s-1", now.Add(-time.Hour), 2) // buffered: an hour older than the last
	reading("s-2", now.Add(5*time.Minute-time.Second), 3)
	reading("s-2", now, 4) // after a reading from the future
	reading("s-3", now, 5)
	reading("s-3", now, 6) // a tie: both kept
	testenv.WaitFor(t, 20*time.Second, "written", func() bool { return w.Stats().Written == 6 })
	b := db.MustQuery(t, "SELECT value FROM snowhub..sensor_reading GROUP BY sensor")
	var res struct {
		Results []struct {
			Series []struct {
				Tags   map[string]string `json:"tags"`
				Values [][]any           `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &res); err != nil || len(res.Results) == 0 {
		t.Fatalf("%s: %v", b, err)
	}
	got := map[float64]time.Time{}
	for _, s := range res.Results[0].Series {
		for _, v := range s.Values {
			at, err := time.Parse(time.RFC3339Nano, v[0].(string))
			if err != nil {
				t.Fatal(err)
			}
			got[v[1].(float64)] = at
		}
	}
	want := map[float64]time.Time{1: now, 2: now.Add(-time.Hour), 3: now.Add(5*time.Minute - time.Second), 4: now, 5: now, 6: now.Add(time.Nanosecond)}
	for v, at := range want {
		if g, ok := got[v]; !ok || !g.Equal(at) {
			t.Errorf("reading %v stored at %v, want its device time %v", v, g.UTC(), at.UTC())
		}
	}
}

// /readyz needs no token: the writer's readiness names no InfluxDB
// address, org or bucket.
func TestReadyNamesNoAddress(t *testing.T) {
	w, err := New(Options{Config: configs.InfluxConfig{URL: "http://127.0.0.1:1", Bucket: "secretdb", Org: "secretorg",
		FlushInterval: 50 * time.Millisecond}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	w.Start(context.Background())
	defer w.Close()
	w.Record(context.Background(), event.Event{Type: event.CameraState, Time: time.Now(), Data: event.CameraStatus{ID: "x", State: "online"}})
	testenv.WaitFor(t, 20*time.Second, "a failed write", func() bool { return w.Stats().LastError != "" })
	msg := w.Ready().Error()
	for _, s := range []string{"127.0.0.1:1", "secretdb", "secretorg"} {
		if strings.Contains(msg, s) {
			t.Errorf("Ready() = %q names %q", msg, s)
		}
	}
}
