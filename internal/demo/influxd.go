// Package demo builds the demo county and the local services it runs on: an
// InfluxDB 1.8 child process, simulated cameras and sensors.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// InfluxdPath is where `make run` builds influxd (SNOWHUB_INFLUXD overrides).
func InfluxdPath() string {
	if p := os.Getenv("SNOWHUB_INFLUXD"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "snowhub", "influxdb", "influxd")
}

// Influxd is an InfluxDB 1.8 child process with its data under a directory.
type Influxd struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartInfluxd starts influxd on loopback (port 8086 when free), waits until
// it answers, and creates the database. It stops with ctx or Stop.
func StartInfluxd(ctx context.Context, bin, dir, database string, log *slog.Logger) (*Influxd, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("influxd not found at %s (make run builds it: scripts/peers.sh influxd): %w", bin, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	httpAddr, err := loopbackAddr(8086)
	if err != nil {
		return nil, err
	}
	rpcAddr, err := loopbackAddr(8088)
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "influxdb.conf")
	body := fmt.Sprintf(`reporting-disabled = true
bind-address = %q
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = %q
  flux-enabled = true
  log-enabled = false
[monitor]
  store-enabled = false
`, rpcAddr, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpAddr)
	if err := os.WriteFile(conf, []byte(body), 0o640); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "influxd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-config", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, and killed with us if we die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start influxd: %w", err)
	}
	d := &Influxd{URL: "http://" + httpAddr, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(d.done) }()
	log.Info("starting InfluxDB", "url", d.URL, "data", dir)

	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := d.query("CREATE DATABASE " + database); err == nil {
			break
		} else if time.Now().After(deadline) || ctx.Err() != nil {
			d.Stop()
			return nil, fmt.Errorf("influxd did not become ready (see %s): %w", filepath.Join(dir, "influxd.log"), err)
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("influxd exited at start (see %s)", filepath.Join(dir, "influxd.log"))
		case <-time.After(200 * time.Millisecond):
		}
	}
	return d, nil
}

func (d *Influxd) query(q string) error {
	resp, err := http.PostForm(d.URL+"/query", url.Values{"q": {q}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), `"error"`) {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return nil
}

// Stop ends influxd (SIGTERM, then SIGKILL after 10 s).
func (d *Influxd) Stop() {
	if d == nil || d.cmd == nil {
		return
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}

// loopbackAddr returns 127.0.0.1:preferred when free, else a free port.
func loopbackAddr(preferred int) (string, error) {
	for _, p := range []int{preferred, 0} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		l.Close()
		return addr, nil
	}
	return "", errors.New("no free loopback port")
}

// FreeAddr is loopbackAddr for the demo's other listeners.
func FreeAddr(preferred int) (string, error) { return loopbackAddr(preferred) }
