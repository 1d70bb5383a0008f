package timeseries

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

func recordReadings(t *testing.T, w *Writer, from, n int) {
	t.Helper()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := from; i < from+n; i++ {
		d := event.SensorReadingData{Sensor: "s-1", Kind: "water_level", Value: float64(i)}
		if err := w.Record(context.Background(), event.Event{Type: event.SensorReading, Time: base.Add(time.Duration(i) * time.Millisecond),
			Township: "t1", Village: "v1", Data: d}); err != nil {
			t.Fatal(err)
		}
	}
}

// A hung InfluxDB (stopped with SIGSTOP: connections accepted, nothing
// answered) makes the store unready while the write still hangs, well
// before the write's 30 s timeout; the earlier writer said ready until then.
func TestHungInfluxDBIsDegraded(t *testing.T) {
	db := testenv.StartInfluxDB(t, "snowhub")
	w := newTestWriter(t, db.URL, t.TempDir())
	defer w.Close()
	recordReadings(t, w, 0, 10)
	testenv.WaitFor(t, 20*time.Second, "first points written", func() bool { return w.Stats().Written >= 10 && w.Ready() == nil })
	pid := db.Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	recordReadings(t, w, 10, 10)
	testenv.WaitFor(t, 20*time.Second, "the hung store reported", func() bool { return w.Ready() != nil })
	if msg := w.Ready().Error(); !strings.Contains(msg, "slower") && !strings.Contains(msg, "not reachable") {
		t.Errorf("Ready() = %q, want it to say the write is slow or InfluxDB does not answer", msg)
	}
	syscall.Kill(pid, syscall.SIGCONT)
	testenv.WaitFor(t, 40*time.Second, "drained after the hang", func() bool { return w.Stats().Backlog == 0 && w.Ready() == nil })
}

// During an outage /readyz's count is the backlog now, not the one at the
// first failure; the writer checks InfluxDB each second, so the spool
// drains within 2 s of its return, however long the outage was (the
// earlier back-off had grown to 8-16 s by then).
func TestOutageCountsCurrentAndDrainsPromptly(t *testing.T) {
	db := testenv.StartInfluxDB(t, "snowhub")
	w := newTestWriter(t, db.URL, t.TempDir())
	defer w.Close()
	recordReadings(t, w, 0, 10)
	testenv.WaitFor(t, 20*time.Second, "first points written", func() bool { return w.Stats().Written >= 10 })
	db.Kill()
	recordReadings(t, w, 10, 100)
	testenv.WaitFor(t, 10*time.Second, "the outage seen", func() bool { return w.Ready() != nil })
	recordReadings(t, w, 110, 200)
	if msg := w.Ready().Error(); !strings.Contains(msg, fmt.Sprintf("%d points", w.Stats().Backlog)) || w.Stats().Backlog != 300 {
		t.Errorf("Ready() = %q with %d points in the spool, want the current count", msg, w.Stats().Backlog)
	}
	time.Sleep(25 * time.Second) // a long outage: the old back-off had grown to 16-30 s
	db.Start()
	testenv.WaitFor(t, 2*time.Second+pingTimeout, "drained within 2 s of InfluxDB's return", func() bool { return w.Stats().Backlog == 0 })
	if got := count(t, db, "SELECT count(value) FROM sensor_reading"); got != 310 {
		t.Errorf("InfluxDB holds %d readings, want 310", got)
	}
}
