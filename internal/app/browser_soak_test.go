package app

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
)

// TestWallSoak plays a 4×4 wall of 16 live tiles for SNOWHUB_WALL_SOAK (for
// example 10m) and logs the page's CPU time and JS heap every minute, for
// docs/performance.md: flat, not growing, is the pass. Skipped unless set:
// it is a measurement, not a check for every run.
func TestWallSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("SNOWHUB_WALL_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("SNOWHUB_WALL_SOAK not set (e.g. 10m)")
	}
	e := startUI(t, uiOptions{extraCams: 13})
	b := newBrowser(t)
	b.open(e.base + "/?layout=4&token=" + uiOps)
	b.waitJS("16 tiles", `document.querySelectorAll('.tile[data-camera^="cam"]').length === 16`, 20*time.Second)
	b.waitJS("16 tiles playing", `[...document.querySelectorAll('video')].filter(v => v.currentTime > 1).length === 16`, 60*time.Second)
	if err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, performance.Enable, performance.EnableParams{})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	metrics := func() map[string]float64 {
		out := map[string]float64{}
		_ = chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			r, err := cdp.Call(ctx, tg, performance.GetMetrics, cdp.Empty{})
			for _, m := range r.Metrics {
				out[m.Name] = m.Value
			}
			return err
		}))
		return out
	}
	start, prev, prevAt, prevTicks := time.Now(), metrics(), time.Now(), chromiumTicks(b.dir)
	for time.Since(start) < d {
		time.Sleep(time.Minute)
		m, ticks := metrics(), chromiumTicks(b.dir)
		secs := time.Since(prevAt).Seconds()
		page := (m["TaskDuration"] - prev["TaskDuration"]) / secs
		all := float64(ticks.cpu-prevTicks.cpu) / 100 / secs // USER_HZ is 100 on Linux
		playing := eval[float64](b, `[...document.querySelectorAll('video')].filter(v => !v.paused && v.readyState >= 2).length`)
		t.Logf("wall soak %s: Chromium CPU %.0f %% of a core (page main thread %.0f %%), resident %.0f MiB in %d processes, JS heap %.1f MiB, DOM nodes %.0f, tiles playing %.0f",
			time.Since(start).Round(time.Minute), all*100, page*100, float64(ticks.rssKiB)/1024, ticks.procs, m["JSHeapUsedSize"]/(1<<20), m["Nodes"], playing)
		prev, prevAt, prevTicks = m, time.Now(), ticks
	}
}

type procTicks struct {
	cpu    int64 // utime + stime, in clock ticks
	rssKiB int64
	procs  int
}

// chromiumTicks sums CPU time and resident memory over the browser's
// processes (those whose command line names its profile directory).
func chromiumTicks(dir string) procTicks {
	var out procTicks
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmd), dir) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(f) < 22 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		rss, _ := strconv.ParseInt(f[21], 10, 64)
		out.cpu += ut + st
		out.rssKiB += rss * int64(os.Getpagesize()) / 1024
		out.procs++
	}
	return out
}
