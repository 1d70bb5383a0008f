package notify

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"snowhub/configs"
)

// baseYAML is a small valid county the notify sections are added to.
const baseYAML = `county: {id: changwu, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages: [{id: v-zr-01, name: 东街社区}]
  - id: xianggong
    name: 相公镇
    villages: [{id: v-xg-01, name: 相公村}]
people:
  - {id: li, name: 李网格, role: grid_worker, village: v-zr-01, phone: "13800000001"}
  - {id: wang, name: 王书记, role: cadre, village: v-xg-01, phone: "13800000002"}
users:
  - {name: ops, role: operator, token: "0123456789abcdef0123"}
`

// parseNotify loads notify YAML (indented under "notify:") through the real
// loader, so tests run on what a county's file gives.
func parseNotify(t testing.TB, notifyYAML string) configs.NotifyConfig {
	t.Helper()
	cfg, err := configs.Parse("test.yaml", []byte(baseYAML+"notify:\n"+notifyYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg.Notify
}

type testNames struct{}

func (testNames) Township(id string) string {
	return map[string]string{"zhaoren": "昭仁街道", "xianggong": "相公镇"}[id]
}
func (testNames) Village(id string) string {
	return map[string]string{"v-zr-01": "东街社区", "v-xg-01": "相公村"}[id]
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("NOTIFY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startNotifier builds and starts a notifier on dir; Close is left to the
// test when it restarts, else registered as cleanup.
func startNotifier(t testing.TB, dir string, cfg configs.NotifyConfig, src Source, mod func(*Options)) *Notifier {
	t.Helper()
	o := Options{Config: cfg, DataDir: dir, Source: src, Names: testNames{}, Logger: testLogger(t),
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, DingTalkBlock: time.Second,
		People: func(id string) (Person, bool) {
			p, ok := map[string]Person{"li": {ID: "li", Name: "李网格", Phone: "13800000001"},
				"wang": {ID: "wang", Name: "王书记", Phone: "13800000002"}}[id]
			return p, ok
		}}
	if mod != nil {
		mod(&o)
	}
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func openStep(i int, township string, sev string) Step {
	v := map[string]string{"zhaoren": "v-zr-01", "xianggong": "v-xg-01"}[township]
	return Step{ID: fmt.Sprintf("s%d", i), Incident: fmt.Sprintf("INC-%s-%04d", township[:2], i), Action: "open",
		At: time.Now(), Severity: sev, Kind: "smoke", Title: "烟雾报警", Township: township, Village: v,
		State: "opened", Deadline: time.Now().Add(5 * time.Minute)}
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allIn reports the ids not found in any of texts.
func missing(ids []string, texts []string) []string {
	all := strings.Join(texts, "\n")
	var out []string
	for _, id := range ids {
		if !strings.Contains(all, id) {
			out = append(out, id)
		}
	}
	return out
}
