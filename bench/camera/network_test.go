package camera_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"snowhub/camera"
	"snowhub/configs"
)

// networkRun is what 10,000 probe-mode cameras at the hub's defaults
// (60 s interval, the default slots for 10,000) showed behind one network.
type networkRun struct {
	name                 string
	knownAll, known99    time.Duration // until no camera, or under 1 %, is unknown
	maxOffline, offlineT int           // most offline at once; transitions to offline (every stream is up: all false)
	online               int           // at the end
	cpuShare             float64       // of one core over the last interval
	checks               float64       // checks started per second over it
	limit                int           // the slots' limit at the end
}

func runNetwork(b *testing.B, name, root string, observe time.Duration) networkRun {
	r := networkRun{name: name, knownAll: -1, known99: -1}
	var offline atomic.Int64
	m := camera.NewManager(camera.Options{MaxConnecting: configs.DefaultMaxConnecting(probeCams),
		OnTransition: func(t camera.Transition) {
			if t.To == camera.StateOffline {
				offline.Add(1)
			}
		}})
	m.Start(context.Background())
	defer m.Close()
	start := time.Now()
	m.Update(probeSpecs(root))
	var c0 time.Duration
	var s0 uint64
	measureFrom := observe - time.Minute
	for time.Since(start) < observe {
		el := time.Since(start)
		// Over the measured last interval the observer looks every 10 s, not
		// every second: copying 10,000 statuses a second is the benchmark's
		// cost, not probe mode's, and it is charged to the same process.
		// (Offline transitions are counted as they happen, not sampled.)
		if el >= measureFrom {
			time.Sleep(10 * time.Second)
		} else {
			time.Sleep(time.Second)
		}
		el = time.Since(start)
		if c0 == 0 && el >= measureFrom {
			c0, s0 = cpu(), m.CheckStats().Checks
			continue
		}
		st := map[string]int{}
		for _, s := range m.Statuses() {
			st[s.State]++
		}
		r.maxOffline = max(r.maxOffline, st[camera.StateOffline])
		if r.known99 < 0 && st[camera.StateUnknown] < probeCams/100 {
			r.known99 = el
		}
		if r.knownAll < 0 && st[camera.StateUnknown] == 0 {
			r.knownAll = el
		}
		r.online = st[camera.StateOnline]
	}
	r.cpuShare = float64(cpu()-c0) / float64(time.Since(start)-measureFrom)
	st := m.CheckStats()
	r.checks = float64(st.Checks-s0) / (time.Since(start) - measureFrom).Seconds()
	r.limit = st.ConnectionLimit
	r.offlineT = int(offline.Load())
	return r
}

// bareLoop is the peer: a minimal Go loop doing gortsplib DESCRIBEs at a
// given rate (32 workers, paced), for its CPU share of one core.
func bareLoop(root string, rate float64, d time.Duration) float64 {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	jobs := make(chan int, 1024)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				u, _ := base.ParseURL(fmt.Sprintf("%s/cam-%05d", root, j%probeCams))
				c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
				if c.Start2() != nil {
					continue
				}
				c.Describe(u)
				c.Close()
			}
		}()
	}
	c0, t0 := cpu(), time.Now()
	for j := 0; time.Since(t0) < d; j++ {
		<-tick.C
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	return float64(cpu()-c0) / float64(time.Since(t0))
}

// BenchmarkProbeNetworks: 10,000 probe-mode cameras at the hub's defaults
// behind a clean network, one that closes 10 % of the connections at
// accept, and one that answers every DESCRIBE after 3-8 s; every stream is
// up, so every offline is false. Time until every camera is known, the
// most offline at once and the transitions to offline over three
// intervals; in the clean run, the hub's CPU over the last interval
// against a bare gortsplib DESCRIBE loop at the same rate, in the same run.
func BenchmarkProbeNetworks(b *testing.B) {
	const observe = 3 * time.Minute
	report := func(b *testing.B, r networkRun) {
		b.Logf("%-14s known (99%%) %6s, all %6s; offline at most %d, %d transitions to offline; %d online at %s; %.1f checks/s, %.1f %% of a core; slots %d",
			r.name, r.known99.Round(time.Second), r.knownAll.Round(time.Second), r.maxOffline, r.offlineT, r.online, observe,
			r.checks, r.cpuShare*100, r.limit)
		b.ReportMetric(r.knownAll.Seconds(), "s-known")
		b.ReportMetric(float64(r.offlineT), "false-offline")
	}
	// -bench 'ProbeNetworks/clean' runs the clean network and the CPU
	// comparison alone (four minutes).
	b.Run("clean", func(b *testing.B) {
		clean := serveRaw(b)
		r := runNetwork(b, "clean", clean, observe)
		bare := bareLoop(clean, r.checks, time.Minute)
		report(b, r)
		b.Logf("bare gortsplib DESCRIBE loop at %.1f/s: %.1f %% of a core; probe mode %.2f×", r.checks, bare*100, r.cpuShare/bare)
		b.ReportMetric(r.cpuShare/bare, "cpu-ratio-vs-bare")
	})
	b.Run("drop-10", func(b *testing.B) {
		report(b, runNetwork(b, "drop 10%", serveRaw(b, "-drop", "0.1"), observe))
	})
	b.Run("answers-3-8s", func(b *testing.B) {
		report(b, runNetwork(b, "answers 3-8 s", serveRaw(b, "-delay-min", "3s", "-delay-max", "8s"), observe))
	})
}
