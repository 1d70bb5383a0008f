package loglimit

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A key logs once per interval and says how many lines it left out; all
// keys together stay within the overall rate; a dropped attribute never
// reaches the log.
func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(Options{Every: 10 * time.Second, Rate: 1, Burst: 3, Now: func() time.Time { return now }})
	var buf bytes.Buffer
	log := slog.New(l.Handler(slog.NewTextHandler(&buf, nil), slog.LevelWarn, "pk"))
	for i := 0; i < 100; i++ {
		log.Warn("error processing packet", "error", "not authorized", "pk", "SECRET-PACKET")
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("100 lines of one key within 10 s logged %d times, want 1:\n%s", n, buf.String())
	}
	if strings.Contains(buf.String(), "SECRET-PACKET") {
		t.Error("a dropped attribute was logged")
	}
	now = now.Add(11 * time.Second)
	buf.Reset()
	log.Warn("error processing packet", "error", "not authorized")
	if !strings.Contains(buf.String(), "suppressed=99") {
		t.Errorf("the next line does not say how many were left out: %s", buf.String())
	}
	// Many keys at once: the overall burst holds.
	buf.Reset()
	for i := 0; i < 50; i++ {
		ok, _ := l.Allow(strings.Repeat("k", i+1))
		if ok {
			log.Info("passed")
		}
	}
	if n := strings.Count(buf.String(), "\n"); n > 3 {
		t.Errorf("50 keys at one instant passed %d lines, want at most the burst of 3", n)
	}
	// Info lines below the handler's level are not limited.
	buf.Reset()
	for i := 0; i < 5; i++ {
		log.Info("added hook")
	}
	if n := strings.Count(buf.String(), "\n"); n != 5 {
		t.Errorf("info lines limited: %d of 5", n)
	}
}
