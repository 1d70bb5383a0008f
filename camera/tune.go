package camera

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The connection slots are sized by latency, not by the number of
// cameras: a check waiting on a slow answer (a 4G uplink, an overloaded
// NVR) holds a socket and a goroutine, not CPU. While checks wait for a
// slot and the machine has idle CPU, the limit doubles, up to MaxChecks;
// when the CPU is nearly all used it shrinks back, never below
// MaxConnecting; and it drifts back down when most slots stand idle.
const (
	tuneEvery  = time.Second
	growIdle   = 0.15 // grow while at least this share of the machine's CPU is idle
	shrinkIdle = 0.05
)

// DefaultMaxChecks is the ceiling of the connection slots when none is
// configured: half the file descriptors the process may open (the rest
// are the pages', the broker's, the store's and the watched cameras'),
// at most 4,096.
func DefaultMaxChecks() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur == 0 {
		return 512
	}
	return int(min(max(r.Cur/2, 64), 4096))
}

// tune moves the slot limit every tuneEvery until ctx ends.
func (m *Manager) tune(ctx context.Context) {
	t := time.NewTicker(tuneEvery)
	defer t.Stop()
	cpu := newCPUMeter()
	busy := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		idle := cpu.idle()
		used, limit, waiting := m.slots.load()
		next := limit
		switch {
		case idle < shrinkIdle:
			if busy++; busy >= 3 {
				next = max(m.o.MaxConnecting, limit*3/4)
				busy = 0
			}
		case waiting > 0 && idle >= growIdle:
			busy = 0
			next = min(m.o.MaxChecks, limit*2) // waiting checks cost nothing: find the need fast
		case waiting == 0 && used < limit/4:
			busy = 0
			next = max(m.o.MaxConnecting, limit*7/8)
		default:
			busy = 0
		}
		if next != limit {
			m.slots.setLimit(next)
		}
	}
}

// cpuMeter measures the machine's idle share between calls, from
// /proc/stat; where that cannot be read, from the process's own CPU time
// against the machine's cores.
type cpuMeter struct {
	idleT, totalT uint64
	proc          time.Duration
	at            time.Time
}

func newCPUMeter() *cpuMeter {
	c := &cpuMeter{}
	c.idle()
	return c
}

func (c *cpuMeter) idle() float64 {
	if idleT, totalT, ok := procStat(); ok {
		di, dt := idleT-c.idleT, totalT-c.totalT
		first := c.totalT == 0
		c.idleT, c.totalT = idleT, totalT
		if first || dt == 0 {
			return 1
		}
		return float64(di) / float64(dt)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 1
	}
	proc := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	d, wall := proc-c.proc, now.Sub(c.at)
	first := c.at.IsZero()
	c.proc, c.at = proc, now
	if first || wall <= 0 {
		return 1
	}
	return max(0, 1-float64(d)/float64(wall)/float64(runtime.NumCPU()))
}

// procStat reads the machine's idle (idle + iowait) and total jiffies.
func procStat() (idle, total uint64, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, false
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range fields[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return idle, total, true
}
