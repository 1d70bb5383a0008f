// Benchmarks of notify against the vendor fakes: a step's latency to the
// robot when nothing throttles it (against a bare POST to the same fake),
// a storm of 10,000 incidents into one group at the robots' documented 20
// messages per window, and what 10,000 queued notices cost.
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/notify
package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"snowhub/alerts/notify"
	"snowhub/alerts/notify/vendorfake"
	"snowhub/configs"
)

const base = `county: {id: c, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages: [{id: v-zr-01, name: 东街社区}]
users:
  - {name: ops, role: operator, token: "0123456789abcdef0123"}
notify:
`

func cfg(b *testing.B, y string) configs.NotifyConfig {
	c, err := configs.Parse("bench.yaml", []byte(base+y))
	if err != nil {
		b.Fatal(err)
	}
	return c.Notify
}

func start(b *testing.B, c configs.NotifyConfig, src notify.Source) *notify.Notifier {
	n, err := notify.New(notify.Options{Config: c, DataDir: b.TempDir(), Source: src})
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Close() })
	return n
}

func step(i int) notify.Step {
	return notify.Step{Incident: fmt.Sprintf("INC-%05d", i), Action: "open", At: time.Now(),
		Severity: []string{"critical", "major", "minor"}[i%3], Kind: "smoke", Title: "烟雾报警",
		Township: "zhaoren", Village: "v-zr-01", State: "opened", Deadline: time.Now().Add(5 * time.Minute)}
}

func percentiles(b *testing.B, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, "p99-ms")
}

const samples = 500

// BenchmarkAlarmToNotice: a committed step until the WeCom fake accepted
// its message, one at a time, with the rate limit out of the way; the
// baseline is a bare POST of a markdown message to the same fake.
func BenchmarkAlarmToNotice(b *testing.B) {
	b.Run("baseline-bare-post", func(b *testing.B) {
		wc := vendorfake.NewWeCom()
		defer wc.Close()
		wc.Limit = 1 << 30
		wc.AddRobot("k")
		body, _ := json.Marshal(map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": "### 【紧急】烟雾报警"}})
		for range b.N {
			var lat []time.Duration
			for range samples {
				t0 := time.Now()
				resp, err := http.Post(wc.RobotURL("k"), "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
			}
			percentiles(b, lat)
		}
	})
	b.Run("notify", func(b *testing.B) {
		wc := vendorfake.NewWeCom()
		defer wc.Close()
		wc.Limit = 1 << 30
		wc.AddRobot("k")
		got := make(chan struct{}, 1)
		wc.OnAccept(func(vendorfake.Received) { got <- struct{}{} })
		src := notify.NewMemSource()
		start(b, cfg(b, `  channels:
    - {id: g, type: wecom, url: "`+wc.RobotURL("k")+`", rate_limit: 1000000000}
  routes:
    - {channels: [g]}
`), src)
		i := 0
		for range b.N {
			var lat []time.Duration
			for range samples {
				i++
				t0 := time.Now()
				src.Add(step(i))
				<-got
				lat = append(lat, time.Since(t0))
			}
			percentiles(b, lat)
		}
	})
}

var idRE = regexp.MustCompile(`INC-\d{5}`)

// BenchmarkStorm10000: 10,000 incidents committed at once for one group,
// at the documented 20 messages per window (the window shortened to one
// second: multiply "windows" by a minute for the real robots). Reports the
// time until every id was in some accepted message.
func BenchmarkStorm10000(b *testing.B) {
	const n = 10000
	for _, vendor := range []string{"dingtalk", "wecom-markdown"} {
		b.Run(vendor, func(b *testing.B) {
			for range b.N {
				var url, chType, extra string
				var fake interface {
					OnAccept(func(vendorfake.Received))
					Messages() []vendorfake.Received
					Refused() map[string]int
				}
				switch vendor {
				case "dingtalk":
					d := vendorfake.NewDingTalk()
					defer d.Close()
					d.Window = time.Second
					d.AddRobot("t", "SECbench", "")
					url, chType, extra, fake = d.RobotURL("t"), "dingtalk", ", secret: SECbench", d
				default:
					w := vendorfake.NewWeCom()
					defer w.Close()
					w.Window = time.Second
					w.AddRobot("k")
					url, chType, fake = w.RobotURL("k"), "wecom", w
				}
				var mu sync.Mutex
				seen := map[string]bool{}
				done := make(chan time.Time, 1)
				fake.OnAccept(func(r vendorfake.Received) {
					mu.Lock()
					defer mu.Unlock()
					for _, id := range idRE.FindAllString(r.Content, -1) {
						seen[id] = true
					}
					if len(seen) == n {
						select {
						case done <- time.Now():
						default:
						}
					}
				})
				src := notify.NewMemSource()
				steps := make([]notify.Step, n)
				for i := range steps {
					steps[i] = step(i)
				}
				start(b, cfg(b, `  public_url: https://hub.example.cn
  channels:
    - {id: g, type: `+chType+`, url: "`+url+`", rate_window: 1s`+extra+`}
  routes:
    - {channels: [g]}
`), src)
				t0 := time.Now()
				src.Add(steps...)
				select {
				case t1 := <-done:
					el := t1.Sub(t0)
					b.ReportMetric(el.Seconds(), "s-all-delivered")
					b.ReportMetric(el.Seconds()/time.Second.Seconds(), "windows")
					b.ReportMetric(float64(len(fake.Messages())), "messages")
					b.ReportMetric(float64(vendorfake.MaxInWindow(fake.Messages(), "", time.Second)), "max-per-window")
				case <-time.After(2 * time.Minute):
					b.Fatalf("not every id delivered in 2 minutes")
				}
				if r := fake.Refused(); len(r) > 0 {
					b.Fatalf("the robot refused: %v", r)
				}
			}
		})
	}
}

// BenchmarkQueued10000: 10,000 notices queued behind a failing robot (its
// key refused): the heap they hold (they are on disk, read in batches) and
// the store's size.
func BenchmarkQueued10000(b *testing.B) {
	const n = 10000
	for range b.N {
		wc := vendorfake.NewWeCom()
		defer wc.Close() // no robot added: every key is refused (93000)
		src := notify.NewMemSource()
		steps := make([]notify.Step, n)
		for i := range steps {
			steps[i] = step(i)
		}
		src.Add(steps...)
		dir := b.TempDir()
		runtime.GC()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		nt, err := notify.New(notify.Options{Config: cfg(b, `  channels:
    - {id: g, type: wecom, url: "`+wc.URL+`/cgi-bin/webhook/send?key=nope"}
  routes:
    - {channels: [g]}
`), DataDir: dir, Source: src, BackoffMin: time.Hour, BackoffMax: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		if err := nt.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			st := nt.Status()
			if st[0].Queued == n && st[0].State == "failing" {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("status %+v", st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		runtime.GC()
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		fi, _ := os.Stat(filepath.Join(dir, "notify.db"))
		b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/(1<<20), "heap-MiB")
		b.ReportMetric(float64(fi.Size())/(1<<20), "store-MiB")
		_ = nt.Close()
	}
}
