package gb28181_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"snowhub/camera/gb28181"
	"snowhub/internal/test/testenv"
)

// TestSIPpDevices: the independent peer. SIPp (Debian sip-tester) plays
// the devices of testdata/gb28181/devices.csv with the repository's
// scenario: REGISTER with digest (401, then 200) and a MANSCDP Keepalive
// every 150 ms. They must all be online; when SIPp is stopped exactly
// those devices, and not a configured one that never spoke, turn offline
// with keepalive_lost within keepalive_misses × the learned interval plus
// slack.
func TestSIPpDevices(t *testing.T) {
	sipp := testenv.Need(t, "sipp", os.Getenv("SNOWHUB_SIPP"))
	const (
		scenario = "../../testdata/gb28181/register_keepalive.xml"
		csv      = "../../testdata/gb28181/devices.csv"
		every    = 150 * time.Millisecond
		misses   = 3
	)
	ids := csvIDs(t, csv)
	cfg := devices(ids...)
	const silent = "61042800001320000199" // configured, never speaks
	cfg = append(cfg, gb28181.DeviceConfig{ID: silent, Password: "pw-" + silent})
	s := startHub(t, gb28181.Options{Devices: cfg, KeepaliveMisses: misses, KeepaliveInterval: time.Hour})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := len(ids)
	errFile := t.TempDir() + "/errors.log"
	cmd := exec.CommandContext(ctx, sipp, "-sf", scenario, "-inf", csv,
		"-key", "hub_id", hubID, "-key", "hub_domain", hubDomain,
		"-d", itoa(int(every/time.Millisecond)),
		"-m", itoa(n), "-l", itoa(n), "-r", itoa(n),
		"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-t", "u1", "-nostdin", "-trace_err", "-error_file", errFile,
		s.Addr())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("sipp: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	defer stop()
	t.Cleanup(func() {
		if t.Failed() {
			for _, id := range ids {
				d, _ := s.Device(id)
				t.Logf("%s: %s/%s %q interval %.3fs", id, d.State, d.Cause, d.Reason, d.KeepaliveInterval)
			}
			errs, _ := os.ReadFile(errFile)
			t.Logf("sipp:\n%s\nerrors:\n%s", tail(out.String(), 2000), tail(string(errs), 3000))
		}
	})

	// Online, with the interval learned from their keepalives (the assumed
	// one is an hour).
	testenv.WaitFor(t, 10*time.Second, "every SIPp device online with a learned interval", func() bool {
		for _, id := range ids {
			d, _ := s.Device(id)
			if d.State != gb28181.StateOnline || !d.Registered || d.KeepaliveInterval <= 0 ||
				d.KeepaliveInterval > 3*every.Seconds() {
				return false
			}
		}
		return true
	})
	time.Sleep(3 * every) // a few more keepalives: the median settles
	stop()
	gone := time.Now()

	limit := misses*3*every/2 + time.Second // misses × interval (with SIPp's lag) + slack
	for _, id := range ids {
		d := waitState(t, s, id, gb28181.StateOffline, gb28181.CauseKeepaliveLost, limit)
		if !strings.Contains(d.Reason, "心跳中断") {
			t.Errorf("%s: reason %q", id, d.Reason)
		}
	}
	took := time.Since(gone)
	if took < (misses-1)*every {
		t.Fatalf("offline %s after SIPp stopped: before %d intervals had passed", took, misses)
	}
	t.Logf("%d SIPp devices offline %s after SIPp stopped (%d × %s)", n, took.Round(time.Millisecond), misses, every)
	if d, _ := s.Device(silent); d.State != gb28181.StateUnknown || d.Cause != gb28181.CauseNeverRegistered {
		t.Fatalf("the silent device: %s/%s, want unknown/gb_never_registered", d.State, d.Cause)
	}
}

func csvIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id, _, ok := strings.Cut(sc.Text(), ";"); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Fatalf("%s: no devices", path)
	}
	return ids
}

func itoa(n int) string { return strconv.Itoa(n) }

// freeUDPPort is a UDP port of 127.0.0.1 free a moment ago: SIPp would
// otherwise take 5060, which the machine's other programs may hold.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
