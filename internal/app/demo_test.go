package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"snowhub/internal/demo"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// The demo starts without a single false incident (cameras connecting are
// not declared stalled, so no village outage), and stops promptly after
// Ctrl-C, its simulated sensors included.
func TestDemoStartsCleanAndStopsPromptly(t *testing.T) {
	testenv.Short(t)
	t.Chdir(t.TempDir()) // the demo keeps its data under ./var
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs lockedBuf
	ready := make(chan *Hub, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Demo: true, Listen: "127.0.0.1:0", Stdout: &logs, Stderr: &logs, Ready: func(h *Hub) { ready <- h }})
	}()
	var h *Hub
	select {
	case h = <-ready:
	case err := <-done:
		t.Fatalf("demo ended: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("demo not ready\n%s", logs.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("demo output:\n%s", logs.String())
		}
	})
	// What it prints is to paste: the alarm command with the broker's own
	// port, and a desk of each kind.
	out := logs.String()
	for _, want := range []string{demo.MQTTCommand(h.Config().MQTT.Broker), "/department?token=", "village desk"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo does not print %q", want)
		}
	}
	if strings.Contains(out, "-p PORT") {
		t.Error("the demo prints -p PORT")
	}
	var ops string
	for _, u := range h.Config().Users {
		if u.Role == "operator" {
			ops = u.Token
		}
	}
	// The simulated alarms start after 2.5 min at the earliest; every camera
	// connects, and the slowest (3 fps) is past its grace, well before that.
	time.Sleep(20 * time.Second)
	req, _ := http.NewRequest("GET", "http://"+h.Addr()+"/api/v1/incidents?state=all", nil)
	req.Header.Set("Authorization", "Bearer "+ops)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var incs []event.Incident
	json.NewDecoder(resp.Body).Decode(&incs)
	resp.Body.Close()
	for _, inc := range incs {
		t.Errorf("false incident at demo start: %s %s %s (%s)", inc.ID, inc.Kind, inc.Title, inc.Device)
	}

	stopAt := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop within 20 s of Ctrl-C")
	}
	took := time.Since(stopAt)
	t.Logf("figure: the demo stopped %s after Ctrl-C", took.Round(time.Millisecond))
	// It once took 22 s (each simulated sensor waiting a second on the
	// stopped broker); the bound is loose for a loaded 2-core machine.
	if took > 5*time.Second {
		t.Fatalf("the demo took %s to stop after Ctrl-C", took)
	}
}
