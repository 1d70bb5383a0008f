package simsensor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snowhub/configs"
	"snowhub/internal/test/testenv"
)

// The demo's sensors stop at once even when the broker has already gone
// (it is the hub's embedded one, stopped first): they used to wait a second
// each for an "offline" the broker could no longer take.
func TestCloseAfterTheBrokerStoppedIsQuick(t *testing.T) {
	before := goleak.IgnoreCurrent()
	mq := testenv.StartMosquitto(t)
	var sensors []configs.Sensor
	for i := 0; i < 20; i++ {
		sensors = append(sensors, configs.Sensor{ID: fmt.Sprintf("smoke-%02d", i), Kind: "smoke", Village: "v1"})
	}
	s, err := New(Options{Broker: mq.URL, Sensors: sensors, Every: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mq.Kill()
	start := time.Now()
	s.Close()
	// Twenty sensors each waiting its own second took 20 s; one shared
	// half-second deadline is well inside the demo's one-second stop.
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Close took %s with the broker gone", took)
	}
	// paho's reconnect loop ends at its next retry tick (1 s) after
	// Disconnect: wait for it, then nothing of ours may be left.
	testenv.WaitFor(t, 5*time.Second, "every goroutine ended", func() bool { return goleak.Find(before) == nil })
}
