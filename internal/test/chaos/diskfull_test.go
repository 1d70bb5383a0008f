package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"snowhub/internal/test/testenv"
)

// data_dir on a 2 MB tmpfs that fills during a burst of 3,000 QoS 1
// readings and a smoke alarm: nothing is acknowledged that was not stored
// (everything arrives once space returns), /readyz says why while the disk
// is full, and ingest resumes by itself.
func TestDiskFullDuringBurst(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t, "snowhub")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s): the short-write path is covered by internal/timeseries's TestSpoolShortWriteIsCutBack", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	const sensors, perSensor = 30, 100
	var list []string
	for i := 0; i < sensors; i++ {
		list = append(list, fmt.Sprintf("temp-%02d temperature", i))
	}
	list = append(list, "smoke-1 smoke")
	h := newHub(t, spec{mqttURL: mq.URL, influxURL: db.URL, sensors: list, dataDir: filepath.Join(mnt, "data"), deviceRate: 1000})
	h.start()

	// Leave the hub 64 KiB: the spool fills within the burst.
	var st syscall.Statfs_t
	syscall.Statfs(mnt, &st)
	free := int64(st.Bavail) * st.Bsize
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, max(free-64<<10, 0)), 0o644); err != nil && !strings.Contains(err.Error(), "no space") {
		t.Fatal(err)
	}

	pub := publisher(t, mq.URL, "chaos-disk")
	start := time.Now().Add(-10 * time.Minute)
	for seq := 0; seq < perSensor; seq++ {
		for s := 0; s < sensors; s++ {
			p := fmt.Sprintf(`{"ts":%q,"value":%d.5,"unit":"°C","battery":88}`, start.Add(time.Duration(seq)*time.Second).UTC().Format(time.RFC3339Nano), seq)
			pub.Publish(fmt.Sprintf("snowbright/sensors/temp-%02d/event", s), 1, false, p)
		}
	}
	var why map[string]string
	testenv.WaitFor(t, 30*time.Second, "/readyz says the disk is full", func() bool {
		why = h.ready()
		return strings.Contains(why["spool"], "no space") && strings.Contains(why["mqtt"], "unacknowledged")
	})
	t.Logf("/readyz while full: mqtt=%q spool=%q", why["mqtt"], why["spool"])
	publish(t, pub, "snowbright/sensors/smoke-1/event", `{"value":1}`) // an alarm while the disk is full
	time.Sleep(time.Second)
	if d, err := time.ParseDuration(os.Getenv("SNOWHUB_DISKFULL_HOLD")); err == nil {
		time.Sleep(d) // a long outage: past the MQTT keepalive
	}
	held := readings(t, db).total()

	os.Remove(filler) // space returns
	p := stable(t, db, sensors*perSensor+1, 120*time.Second)
	if got := p.total() - p.perSensor["smoke-1"]; got != sensors*perSensor || p.duplicates() != 0 {
		t.Fatalf("after space returned: %d of %d readings, %d duplicates", got, sensors*perSensor, p.duplicates())
	}
	if p.perSensor["smoke-1"] != 1 {
		t.Fatalf("the smoke alarm sent while the disk was full: %d readings", p.perSensor["smoke-1"])
	}
	testenv.WaitFor(t, 10*time.Second, "the smoke alarm's incident", func() bool { return len(h.incidents()) > 0 })
	testenv.WaitFor(t, 10*time.Second, "ready again", func() bool {
		r := h.ready()
		return r["mqtt"] == "ok" && r["spool"] == "ok"
	})
	t.Logf("figures: %d readings + 1 alarm published; %d in InfluxDB while the disk was full; %d after, duplicates 0, lost 0", sensors*perSensor, held, p.total())
}
