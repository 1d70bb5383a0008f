// Package testenv starts the real peers the integration tests talk to:
// Mosquitto, InfluxDB 1.8, GStreamer's RTSP server and Chromium.
//
// Each peer runs as a child process on a free loopback port, owned by the
// test that started it and stopped by t.Cleanup. When a peer's program is
// missing the test is skipped, unless SNOWHUB_PEERS=required (set by
// `make test` after scripts/peers.sh installed them), where it fails: CI must
// never pass by skipping.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Required reports whether missing peers are failures rather than skips.
func Required() bool { return os.Getenv("SNOWHUB_PEERS") == "required" }

// Need returns the path of program (or of the first existing candidate path),
// skipping or failing the test when it is absent.
func Need(t testing.TB, program string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c
		}
	}
	if p, err := exec.LookPath(program); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not installed (run scripts/peers.sh install)", program)
	if Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Short skips t under `go test -short`: integration tests take seconds.
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RepoRoot is the repository's top directory (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// WaitTCP waits until addr accepts connections or the timeout passes.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %s: %w", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Process is a peer program the test can stop and start again, keeping its
// port and data, to test outages.
type Process struct {
	t    testing.TB
	name string
	args []string
	addr string // waited for on Start

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *syncBuffer
}

func newProcess(t testing.TB, addr, name string, args ...string) *Process {
	p := &Process{t: t, name: name, args: args, addr: addr, log: &syncBuffer{}}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", filepath.Base(name), tail(p.log.String(), 4000))
		}
	})
	return p
}

// Start starts the program and waits for its port.
func (p *Process) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	cmd := exec.Command(p.name, p.args...)
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
	if p.addr != "" {
		if err := WaitTCP(p.addr, 60*time.Second); err != nil {
			p.t.Fatalf("%s: %v\n%s", p.name, err, tail(p.log.String(), 4000))
		}
	}
}

// Stop ends the program (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (p *Process) Stop() { p.signal(syscall.SIGTERM) }

// Kill ends the program with SIGKILL, as a crash or power cut would.
func (p *Process) Kill() { p.signal(syscall.SIGKILL) }

func (p *Process) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	p.cmd, p.done = nil, nil
}

// Output is what the program printed so far.
func (p *Process) Output() string { return p.log.String() }

// Mosquitto is a running Mosquitto broker.
type Mosquitto struct {
	*Process
	URL  string // tcp://127.0.0.1:PORT
	Addr string
}

// StartMosquitto starts a Mosquitto broker with persistence on a free port.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	Short(t)
	bin := Need(t, "mosquitto", "/usr/sbin/mosquitto")
	dir := t.TempDir()
	port := FreePort(t)
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
user root
persistence true
persistence_location %s/
autosave_interval 1
log_dest stderr
log_type error
log_type warning
max_queued_messages 100000
max_inflight_messages 100
`, port, dir)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	m := &Mosquitto{Process: newProcess(t, addr, bin, "-c", conf), URL: "tcp://" + addr, Addr: addr}
	m.Start()
	return m
}

// InfluxDB is a running InfluxDB 1.8 with Flux enabled.
type InfluxDB struct {
	*Process
	URL string // http://127.0.0.1:PORT
}

// InfluxdPath is where scripts/peers.sh and `make run` install influxd.
func InfluxdPath() string {
	if p := os.Getenv("SNOWHUB_INFLUXD"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "snowhub", "influxdb", "influxd")
}

// StartInfluxDB starts InfluxDB 1.8 on free loopback ports with its data in
// a temporary directory, and creates the databases named.
func StartInfluxDB(t testing.TB, databases ...string) *InfluxDB {
	t.Helper()
	Short(t)
	bin := Need(t, "influxd", InfluxdPath())
	dir := t.TempDir()
	httpPort, rpcPort := FreePort(t), FreePort(t)
	conf := filepath.Join(dir, "influxdb.conf")
	body := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = "%[2]s/meta"
[data]
  dir = "%[2]s/data"
  wal-dir = "%[2]s/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:%[3]d"
  flux-enabled = true
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
`, rpcPort, dir, httpPort)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", httpPort)
	db := &InfluxDB{Process: newProcess(t, addr, bin, "-config", conf), URL: "http://" + addr}
	db.Start()
	for _, name := range databases {
		db.MustQuery(t, "CREATE DATABASE "+quoteIdent(name))
	}
	return db
}

// Start starts InfluxDB again and waits until it answers /ping.
func (db *InfluxDB) Start() {
	db.Process.Start()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(db.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	db.t.Fatalf("influxd did not answer /ping\n%s", tail(db.Output(), 4000))
}

// Query runs an InfluxQL statement and returns the JSON answer.
func (db *InfluxDB) Query(database, q string) ([]byte, error) {
	v := url.Values{"q": {q}}
	if database != "" {
		v.Set("db", database)
	}
	resp, err := http.PostForm(db.URL+"/query", v)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 || bytes.Contains(b, []byte(`"error"`)) {
		return b, fmt.Errorf("influx query %q: %s: %s", q, resp.Status, b)
	}
	return b, nil
}

// MustQuery is Query that fails the test on error.
func (db *InfluxDB) MustQuery(t testing.TB, q string) []byte {
	t.Helper()
	b, err := db.Query("", q)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// RTSPOptions describes a GStreamer test camera.
type RTSPOptions struct {
	Codec    string // h264 (default) | h265
	FPS      int    // default 25
	User     string // basic auth when set
	Password string
	Path     string // default /cam
}

// RTSPServer is a running GStreamer RTSP server.
type RTSPServer struct {
	*Process
	URL  string // rtsp://127.0.0.1:PORT/path, without credentials
	Port int
}

// StartGstRTSP starts GStreamer's RTSP server (scripts/gst-rtsp-server.py)
// serving a live encoded test pattern. It is a camera not built on gortsplib.
func StartGstRTSP(t testing.TB, o RTSPOptions) *RTSPServer {
	t.Helper()
	Short(t)
	py := Need(t, "python3-gi", "/usr/bin/python3")
	if out, err := exec.Command(py, "-c", "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer").CombinedOutput(); err != nil {
		msg := "GStreamer RTSP server not installed (scripts/peers.sh install): " + strings.TrimSpace(string(out))
		if Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if o.Codec == "" {
		o.Codec = "h264"
	}
	if o.FPS == 0 {
		o.FPS = 25
	}
	if o.Path == "" {
		o.Path = "/cam"
	}
	port := FreePort(t)
	args := []string{filepath.Join(RepoRoot(), "scripts", "gst-rtsp-server.py"),
		"--port", fmt.Sprint(port), "--path", o.Path, "--codec", o.Codec, "--fps", fmt.Sprint(o.FPS)}
	if o.User != "" {
		args = append(args, "--user", o.User, "--password", o.Password)
	}
	s := &RTSPServer{Process: newProcess(t, fmt.Sprintf("127.0.0.1:%d", port), py, args...), Port: port,
		URL: fmt.Sprintf("rtsp://127.0.0.1:%d%s", port, o.Path)}
	s.Start()
	return s
}

// Chromium returns the path of a headless-capable Chromium or skips.
func Chromium(t testing.TB) string {
	t.Helper()
	Short(t)
	return Need(t, "chromium", os.Getenv("SNOWHUB_CHROMIUM"), "/usr/bin/chromium")
}

// ChromiumFlags are the flags Chromium needs on this kind of machine: no
// sandbox as root, and none of its background calls to the internet.
var ChromiumFlags = []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
	"--autoplay-policy=no-user-gesture-required"}

// ArtifactDir is where tests save screenshots and logs for people to look at
// ($SNOWHUB_ARTIFACTS, default testdata/artifacts under the repository).
func ArtifactDir(t testing.TB) string {
	d := os.Getenv("SNOWHUB_ARTIFACTS")
	if d == "" {
		d = filepath.Join(RepoRoot(), "var", "test-artifacts")
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// Patience is how long a test waits for what takes d on an idle machine
// before it gives up: three times d. make test runs two packages side by
// side under -race on two cores, and a wait that gives up while the
// machine is merely busy is a false failure; a wait that succeeds returns
// as soon as its condition holds, so the margin costs a passing test
// nothing. Tests assert what happens, never how fast.
func Patience(d time.Duration) time.Duration { return 3 * d }

// WaitFor polls cond every 20 ms until it is true or Patience(timeout)
// passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	timeout = Patience(timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep the tail only
		rest := s.b.Bytes()[s.b.Len()-(512<<10):]
		nb := append([]byte(nil), rest...)
		s.b.Reset()
		s.b.Write(nb)
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	sc := bufio.NewScanner(strings.NewReader(s[len(s)-n:]))
	sc.Scan() // drop the partial first line
	var b strings.Builder
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return b.String()
}

// StartMosquittoConf starts Mosquitto with the configuration conf(port)
// returns, for a free loopback port.
func StartMosquittoConf(t testing.TB, conf func(port int) string) *Mosquitto {
	t.Helper()
	Short(t)
	bin := Need(t, "mosquitto", "/usr/sbin/mosquitto")
	port := FreePort(t)
	path := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf(port)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	m := &Mosquitto{Process: newProcess(t, addr, bin, "-c", path), URL: "tcp://" + addr, Addr: addr}
	m.Start()
	return m
}
