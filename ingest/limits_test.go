package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// Devices publishing with 30,000-character ids: nothing of them is kept
// (before: 354 MB, then 1.3 GB and a 300 MB answer), the log stays small
// (before: 287 MB), and the list of unknown devices is bounded and expires.
func TestUnknownDevicesBoundedInBytes(t *testing.T) {
	cfg := county(2)
	logw := &countingWriter{}
	t0 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	now := t0
	in, err := New(Options{Config: cfg, Sink: newRecorder(), Logger: slog.New(slog.NewTextHandler(logw, nil)), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 2000
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%05d", i) + strings.Repeat("x", 30000)
		for _, topic := range []string{"snowbright/sensors/" + id + "/event", "zigbee2mqtt/" + id, "snowbright/cameras/" + id + "/event"} {
			if err := in.handleRaw(context.Background(), topic, []byte(`{"value":1,"kind":"motion"}`), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	const heapCeiling, logCeiling = 16 << 20, 4 << 20
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew %.1f MiB (ceiling %d MiB)", float64(grew)/(1<<20), heapCeiling>>20)
	if grew > heapCeiling {
		t.Errorf("heap grew %d MiB for %d long ids; ceiling %d MiB", grew>>20, n, heapCeiling>>20)
	}
	if got := logw.n.Load(); got > logCeiling {
		t.Errorf("log grew %d KiB; ceiling %d KiB", got>>10, logCeiling>>10)
	}
	if u := in.Unknown(); len(u) != 0 {
		t.Errorf("%d over-long ids listed as unknown devices", len(u))
	}

	// Short unknown ids: listed up to the bound, then expire.
	for i := 0; i < maxUnknown+500; i++ {
		in.handleRaw(context.Background(), fmt.Sprintf("snowbright/sensors/ghost-%d/event", i), []byte(`{"value":1}`), false)
	}
	if got := len(in.Unknown()); got != maxUnknown {
		t.Fatalf("%d unknown devices listed; bound %d", got, maxUnknown)
	}
	b, _ := json.Marshal(in.Unknown())
	if len(b) > maxUnknown*256 {
		t.Fatalf("the unknown list is %d bytes", len(b))
	}
	now = t0.Add(unknownTTL + time.Minute)
	in.CheckSilence(now)
	if got := len(in.Unknown()); got != 0 {
		t.Fatalf("%d unknown devices kept after %v of silence", got, unknownTTL)
	}
}

// A camera event's detail is trimmed to MaxDetailBytes and flagged; the
// walls' history holds thousands of them (before: 60 KB each, 658 MB).
func TestCameraEventDetailTrimmed(t *testing.T) {
	now := time.Now()
	big := map[string]any{"plate": "陕D12345", "lane": 2, "image": strings.Repeat("A", 60000)}
	for i := 0; i < 200; i++ {
		big[fmt.Sprintf("k%03d", i)] = strings.Repeat("v", 40)
	}
	payload, _ := json.Marshal(map[string]any{"kind": "plate", "detail": big})
	ev, err := ParseCameraEvent(payload, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ev.Detail)
	if len(b) > MaxDetailBytes {
		t.Fatalf("detail is %d bytes; limit %d", len(b), MaxDetailBytes)
	}
	if ev.Detail["image"] != nil || ev.Detail["lane"] == nil {
		t.Fatalf("trimmed detail: %s", b)
	}
	if len(ev.Flags) == 0 || ev.Flags[len(ev.Flags)-1] != FlagDetailTrimmed {
		t.Fatalf("flags %v", ev.Flags)
	}
	small, _ := ParseCameraEvent([]byte(`{"kind":"plate","detail":{"plate":"陕D12345"}}`), now)
	if small.Detail["plate"] != "陕D12345" || len(small.Flags) != 0 {
		t.Fatalf("a small detail was changed: %+v", small)
	}
}
