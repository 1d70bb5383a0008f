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
	"sync"
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

	n := len(ids)
	stop := runSIPp(t, s.Addr(), func() {
		for _, id := range ids {
			d, _ := s.Device(id)
			t.Logf("%s: %s/%s %q interval %.3fs", id, d.State, d.Cause, d.Reason, d.KeepaliveInterval)
		}
	}, "-sf", scenario, "-inf", csv, "-d", itoa(int(every/time.Millisecond)), "-m", itoa(n), "-l", itoa(n), "-r", itoa(n))

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

// runSIPp starts SIPp against the hub at addr as devices on 127.0.0.1
// (UDP, the hub's id and domain as keys) with the scenario arguments; the
// returned stop kills it (also at the test's end). A failed test logs what
// onFail shows of the hub, then SIPp's output and error file.
func runSIPp(t *testing.T, addr string, onFail func(), args ...string) (stop func()) {
	t.Helper()
	sipp := testenv.Need(t, "sipp", os.Getenv("SNOWHUB_SIPP"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	errFile := t.TempDir() + "/errors.log"
	args = append(args, "-key", "hub_id", hubID, "-key", "hub_domain", hubDomain,
		"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-t", "u1", "-nostdin", "-trace_err", "-error_file", errFile, addr)
	cmd := exec.CommandContext(ctx, sipp, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("sipp: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
			cancel()
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			onFail()
			errs, _ := os.ReadFile(errFile)
			t.Logf("sipp:\n%s\nerrors:\n%s", tail(out.String(), 2000), tail(string(errs), 3000))
		}
	})
	return stop
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

// TestSIPpCatalog: the independent peer answers the hub's Catalog query.
// SIPp registers one device of devices.csv (register_keepalive.xml) and
// keeps it alive; the hub's query, a MESSAGE of its own dialog, reaches
// the out-of-call scenario catalog_answer.xml, which answers it with three
// channels over two MESSAGEs: one in a configured village, one whose
// CivilCode is only the county's (unplaced), one in the village but OFF.
// Once SIPp stops, the channels go offline with the device's
// keepalive_lost.
func TestSIPpCatalog(t *testing.T) {
	const (
		dir     = "../../testdata/gb28181/"
		every   = 150 * time.Millisecond
		misses  = 3
		placed  = "61042800001310000201"
		nowhere = "61042800001310000202"
		off     = "61042800001320000203"
	)
	dev := csvIDs(t, dir+"devices.csv")[0]
	s := startHub(t, gb28181.Options{Devices: []gb28181.DeviceConfig{{ID: dev, Password: "pw-" + dev, Township: "zhaoren"}},
		KeepaliveMisses: misses, KeepaliveInterval: time.Hour, CatalogTimeout: 5 * time.Second,
		Places: map[string]gb28181.Place{
			"610428101":    {Township: "zhaoren"},
			"610428101201": {Township: "zhaoren", Village: "v-zr-01"},
		}})

	stop := runSIPp(t, s.Addr(), func() {
		d, _ := s.Device(dev)
		t.Logf("%s: %+v", dev, d)
		for _, c := range s.Channels() {
			t.Logf("channel %+v", c)
		}
	}, "-sf", dir+"register_keepalive.xml", "-oocsf", dir+"catalog_answer.xml", "-inf", dir+"devices.csv",
		"-d", itoa(int(every/time.Millisecond)), "-m", "1", "-l", "1")

	byID := func() map[string]gb28181.Channel {
		m := map[string]gb28181.Channel{}
		for _, c := range s.Channels() {
			m[c.ID] = c
		}
		return m
	}
	testenv.WaitFor(t, 5*time.Second, "the SIPp device's catalog of 3 channels, the device kept alive", func() bool {
		d, _ := s.Device(dev)
		return len(byID()) == 3 && d.State == gb28181.StateOnline && !d.LastKeepalive.IsZero()
	})
	m := byID()
	if c := m[placed]; !c.Placed || c.Village != "v-zr-01" || c.Township != "zhaoren" || c.Name != "东街路口" || c.Manufacturer != "Hikvision" ||
		c.State != gb28181.StateOnline || c.Device != dev || c.Longitude != 108.1 {
		t.Errorf("the village's channel: %+v", c)
	}
	if c := m[nowhere]; c.Placed || c.Township != "" || c.Name != "西街" {
		t.Errorf("the county-coded channel is placed: %+v", c)
	}
	if c := m[off]; !c.Placed || c.Status != gb28181.ChannelOff || c.State != gb28181.StateOffline || c.Cause != gb28181.CauseChannelOff {
		t.Errorf("the OFF channel: %+v", c)
	}
	if d, _ := s.Device(dev); d.Channels != 3 || d.CatalogError != "" || d.CatalogErrors != 0 {
		t.Errorf("the device after its catalog: channels %d, error %q, malformed %d", d.Channels, d.CatalogError, d.CatalogErrors)
	}

	time.Sleep(3 * every) // a few keepalives: the learned interval settles
	stop()
	waitState(t, s, dev, gb28181.StateOffline, gb28181.CauseKeepaliveLost, misses*3*every/2+time.Second)
	for id, c := range byID() {
		if c.State != gb28181.StateOffline || c.Cause != gb28181.CauseKeepaliveLost || !strings.Contains(c.Reason, "心跳中断") {
			t.Errorf("%s after SIPp stopped: %s/%s %q, want offline/keepalive_lost with the device's reason", id, c.State, c.Cause, c.Reason)
		}
	}
}
