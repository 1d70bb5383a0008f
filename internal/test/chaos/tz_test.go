package chaos

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/internal/test/testenv"
)

// offsetTime is an RFC 3339 time with a numeric offset: what no answer of
// the API, no export and no websocket message may carry (they are UTC, Z).
var offsetTime = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d`)

// TestTimesAreUTCUnderAnyTZ: a hub whose process runs with
// TZ=Asia/Shanghai, fed a device time written with +08:00 and asked with
// +08:00 in its query, answers every time in UTC RFC 3339 — the JSON, the
// CSV exports and the websocket — so scripts and sheets of several hubs
// never mix offsets (the pages show local time themselves).
func TestTimesAreUTCUnderAnyTZ(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t, "snowhub")
	h := newHub(t, spec{mqttURL: mq.URL, influxURL: db.URL, sensors: []string{"smoke-1 smoke"}, env: []string{"TZ=Asia/Shanghai"}})
	h.start()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	c := publisher(t, mq.URL, "tz-device")
	publish(t, c, "snowbright/sensors/smoke-1/event", `{"value":1,"ts":"`+time.Now().In(sh).Format(time.RFC3339)+`"}`)
	var id string
	testenv.WaitFor(t, 20*time.Second, "the smoke alarm's incident", func() bool {
		if l := h.incidents(); len(l) > 0 {
			id, _ = l[0]["id"].(string)
		}
		return id != ""
	})
	from := url.QueryEscape(time.Now().Add(-24 * time.Hour).In(sh).Format(time.RFC3339))
	to := url.QueryEscape(time.Now().Add(time.Hour).In(sh).Format(time.RFC3339))
	get := func(path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", h.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+opsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	zulu := 0
	for _, path := range []string{
		"/api/v1/incidents?state=all", "/api/v1/incidents/" + id, "/api/v1/sensors", "/api/v1/cameras",
		"/api/v1/stats?from=" + from + "&to=" + to, "/api/v1/stats?format=csv&from=" + from + "&to=" + to,
		"/api/v1/stats/backlog?from=" + from + "&to=" + to, "/api/v1/stats/backlog?format=csv&from=" + from + "&to=" + to,
		"/api/v1/uptime?from=" + from + "&to=" + to, "/api/v1/uptime?format=csv&from=" + from + "&to=" + to,
		"/api/v1/outbox?after=0", "/api/v1/audit", "/api/v1/maintenance", "/api/v1/hubs",
	} {
		body := get(path)
		if m := offsetTime.FindString(body); m != "" {
			t.Errorf("%s carries %s under TZ=Asia/Shanghai, want UTC (Z)", path, m)
		}
		zulu += strings.Count(body, "Z\"") + strings.Count(body, "Z,")
	}
	if zulu == 0 {
		t.Fatal("no UTC time in any answer: the check saw nothing")
	}

	// The websocket: its snapshot and the incident's next step.
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(h.base, "http", "ws", 1)+"/ws?token="+opsToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	req, _ := http.NewRequest("POST", h.base+"/api/v1/incidents/"+id+"/acknowledge", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+opsToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for n := 0; n < 3; n++ {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			break
		}
		if m := offsetTime.Find(msg); m != nil {
			t.Errorf("a websocket message carries %s under TZ=Asia/Shanghai: %.300s", m, msg)
		}
	}
}
