package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"snowhub/alerts/notify/vendorfake"
)

// helperSteps is the outbox both runs of the helper process read: the
// outbox is durable, so a restarted hub sees the same steps.
func helperSteps() []Step {
	var out []Step
	base := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	for i := range 150 {
		s := openStep(i, "zhaoren", []string{"critical", "major", "minor"}[i%3])
		s.At, s.Deadline, s.Seq = base.Add(time.Duration(i)*time.Second), base.Add(time.Hour), uint64(i+1)
		out = append(out, s)
	}
	return out
}

// TestHelperNotifier is the notify component as its own process, for the
// SIGKILL test; it does nothing in a normal run.
func TestHelperNotifier(t *testing.T) {
	if os.Getenv("NOTIFY_HELPER") == "" {
		t.Skip("helper process for TestSIGKILLMidStormLosesNothing")
	}
	cfg := parseNotify(t, `  channels:
    - {id: group, name: 昭仁街道群, type: wecom, url: "`+os.Getenv("NOTIFY_WECOM")+`", rate_window: 300ms}
    - {id: hook, name: 12345平台, type: webhook, url: "`+os.Getenv("NOTIFY_HOOK")+`", secret: hooksecret}
  routes:
    - {name: group, townships: [zhaoren], channels: [group]}
    - {name: hook, channels: [hook]}
`)
	src := NewMemSource()
	startNotifier(t, os.Getenv("NOTIFY_DIR"), cfg, src, nil)
	// The storm arrives over a second and a half; a restarted run finds
	// the same outbox (same seq, same ids) and resumes after its cursor.
	for _, s := range helperSteps() {
		src.Add(s)
		time.Sleep(10 * time.Millisecond)
	}
	select {} // until killed
}

// A SIGKILL of the notify process mid-storm loses no notice: after a
// restart on the same data directory every step reaches the group and the
// webhook at least once, and a step sent twice carries the same step id.
func TestSIGKILLMidStormLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	wc := vendorfake.NewWeCom()
	defer wc.Close()
	wc.Window = 300 * time.Millisecond
	wc.AddRobot("k")
	wc.SetDelay(15 * time.Millisecond)

	var mu sync.Mutex
	byStep := map[string]map[string]bool{} // step id → incidents it came with
	hits := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(SignatureHeader) != Sign("hooksecret", body) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		var b WebhookBody
		_ = json.Unmarshal(body, &b)
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		if byStep[r.Header.Get(StepHeader)] == nil {
			byStep[r.Header.Get(StepHeader)] = map[string]bool{}
		}
		byStep[r.Header.Get(StepHeader)][b.Incident] = true
		hits++
		mu.Unlock()
	}))
	defer hook.Close()

	dir := t.TempDir()
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNotifier$", "-test.count=1")
		cmd.Env = append(os.Environ(), "NOTIFY_HELPER=1", "NOTIFY_DIR="+dir,
			"NOTIFY_WECOM="+wc.RobotURL("k"), "NOTIFY_HOOK="+hook.URL)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() })
		return cmd
	}
	p := start()
	waitFor(t, 20*time.Second, "the storm under way", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return hits >= 20 && len(wc.Messages()) >= 5
	})
	_ = p.Process.Signal(syscall.SIGKILL)
	_, _ = p.Process.Wait()
	mu.Lock()
	before := hits
	mu.Unlock()
	start()

	steps := helperSteps()
	var ids []string
	for _, s := range steps {
		ids = append(ids, s.Incident)
	}
	waitFor(t, 30*time.Second, "every step after the restart", func() bool {
		mu.Lock()
		defer mu.Unlock()
		var texts []string
		for _, m := range wc.Messages() {
			texts = append(texts, m.Content)
		}
		return len(byStep) == len(steps) && len(missing(ids, texts)) == 0
	})
	mu.Lock()
	defer mu.Unlock()
	t.Logf("webhook: %d deliveries before the kill, %d in all for %d steps; group: %d messages",
		before, hits, len(steps), len(wc.Messages()))
	for _, s := range steps {
		got := byStep[s.ID]
		if len(got) != 1 || !got[s.Incident] {
			t.Errorf("step %s came with incidents %v, want only %s", s.ID, got, s.Incident)
		}
	}
	if got := vendorfake.MaxInWindow(wc.Messages(), "k", wc.Window); got > 20 {
		t.Errorf("the group got %d messages in one window across the restart", got)
	}
	if r := wc.Refused(); len(r) > 0 {
		t.Logf("WeCom refused across the restart: %v", r)
	}
}
