package timeseries

import (
	"context"
	"net/http"
	"testing"
	"time"

	"snowhub/dashboard"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

func TestFluxString(t *testing.T) {
	for in, want := range map[string]string{
		`snowhub/autogen`:    `"snowhub/autogen"`,
		`a"b`:                `"a\"b"`,
		`a\b`:                `"a\\b"`,
		`${r._value}`:        `"\${r._value}"`,
		"line\nfeed\x00":     `"line\nfeed"`,
		`$ alone, {braces}$`: `"$ alone, {braces}$"`,
		`t1" or r.x != "`:    `"t1\" or r.x != \""`,
		"村\"}) |> drop() //": `"村\"}) |> drop() //"`,
	} {
		if got := fluxString(in); got != want {
			t.Errorf("fluxString(%q) = %s, want %s", in, got, want)
		}
	}
}

// The county and technicians could inject Flux through ?township= (it was
// put in the query with Go's %q, which leaves Flux's "${...}" string
// interpolation alive: "${r.township}" matched every township). Now anything but an
// id is a 400 and no query runs; an id still filters.
func TestUptimeTownshipIsNotInterpolated(t *testing.T) {
	db := testenv.StartInfluxDB(t, "snowhub")
	w := newTestWriter(t, db.URL, t.TempDir())
	defer w.Close()
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	for cam, tw := range map[string]string{"a": "t1", "c": "t2"} {
		w.Record(context.Background(), event.Event{Type: event.CameraState, Time: t0,
			Data: event.CameraStatus{ID: cam, Township: tw, State: "online"}})
	}
	testenv.WaitFor(t, 20*time.Second, "written", func() bool { return w.Stats().Written == 2 })
	cams := []CameraInfo{{ID: "a", Township: "t1"}, {ID: "c", Township: "t2"}}
	for _, bad := range []string{`t2" or r.township != "`, `${r.township}`, `${"t1"}`, "t2\n", `t2") |> drop(columns: ["device"]) //`} {
		_, err := w.Uptime(context.Background(), UptimeQuery{From: t0, To: t0.Add(time.Hour), Township: bad, Cameras: cams})
		if dashboard.HTTPStatus(err) != http.StatusBadRequest {
			t.Errorf("township %q: %v, want 400", bad, err)
		}
	}
	r, err := w.Uptime(context.Background(), UptimeQuery{From: t0, To: t0.Add(time.Hour), Township: "t2", Cameras: cams})
	if err != nil {
		t.Fatal(err)
	}
	if r.Cameras[0].OnlineSec != 0 || r.Cameras[1].OnlineSec != 3600 {
		t.Fatalf("the t2 query saw: a=%v s online, c=%v s online", r.Cameras[0].OnlineSec, r.Cameras[1].OnlineSec)
	}
}
