package notify

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snowhub/alerts/notify/vendorfake"
)

// Start and Close leave no goroutine behind, with deliveries in flight and
// a reload between them.
func TestStartCloseLeaksNothing(t *testing.T) {
	wc := vendorfake.NewWeCom()
	defer wc.Close()
	wc.AddRobot("k")
	wc.SetDelay(50 * time.Millisecond)
	hook := newHookRecorder(t, "s3cret")
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := parseNotify(t, `  channels:
    - {id: g, type: wecom, url: "`+wc.RobotURL("k")+`"}
    - {id: hook, type: webhook, url: "`+hook.URL+`", secret: s3cret}
  routes:
    - {channels: [g]}
    - {channels: [hook], repeat_every: 10ms, repeat_max: 100}
`)
	src := NewMemSource()
	n, err := New(Options{Config: cfg, DataDir: t.TempDir(), Source: src, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		src.Add(openStep(i, "zhaoren", "major"))
	}
	time.Sleep(30 * time.Millisecond)
	if err := n.Update(cfg); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}
