package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"snowhub/camera/simcam"
	"snowhub/internal/test/testenv"
)

// truthEnv is a hub in-process on a configuration the test writes, with a
// real Mosquitto and InfluxDB and simulated cameras: what the people see
// (CSVs, figures, messages, outages) checked against what happened.
type truthEnv struct {
	*e2eEnv
	dir string
}

// truthYAML is the head of a truthEnv configuration: the caller appends
// townships, cameras, sensors and users. %s: listen, data_dir, broker,
// InfluxDB.
const truthYAML = `listen: %s
data_dir: %s
mqtt: {broker: %s, client_id: snowhub-truth}
influx: {url: %s, bucket: snowhub, flush_interval: 200ms}
county: {id: changwu, name: 长武县}
camera: {stall_after: 2s, offline_after: 3s, settle: 1s, probe_interval: 2s, backoff_max: 1s}
`

// startTruth starts the hub on truthYAML + body; sim serves the cameras
// (their urls: simBase + "/" + path). body gets the simulator's base URL
// for %[1]s.
func startTruth(t *testing.T, paths []string, body func(simBase string) string) *truthEnv {
	t.Helper()
	testenv.Short(t)
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t, "snowhub")
	var cams []simcam.Camera
	for _, p := range paths {
		cams = append(cams, simcam.Camera{Path: "/" + p, Behaviour: "normal"})
	}
	sim, err := simcam.New(simcam.Options{Listen: "127.0.0.1:0", Cameras: cams})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "snowhub.yaml")
	head := fmt.Sprintf(truthYAML, fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), filepath.Join(dir, "data"), mq.URL, db.URL)
	if err := os.WriteFile(path, []byte(head+body(strings.TrimSuffix(sim.URL("/"), "/"))), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &e2eEnv{t: t, mq: mq, db: db, sim: sim, path: path}
	e.start()
	t.Cleanup(e.stop)
	return &truthEnv{e2eEnv: e, dir: dir}
}

// raw GETs path with token and returns the status and the body.
func (e *truthEnv) raw(token, path string) (int, http.Header, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// waitTruth waits up to d for cond.
func waitTruth(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, d, what, cond)
}
