package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A wall that saw events up to N from one hub process resumes with
// ?since=N against the next process: whatever the new process's sequence,
// it gets a snapshot (holding every open incident), never a replay that
// starts at N of the new numbering and skips what was raised before.
func TestResumeAfterRestartGetsSnapshot(t *testing.T) {
	before := startServer(t, 1000, 64)
	c := dial(t, before, "ops-token", "")
	last := read(t, c)
	for i := 0; i < 20; i++ {
		before.Publish(context.Background(), incident(i, "zhaoren"))
		last = read(t, c)
	}
	before.Close()
	var epochBefore struct{ Epoch uint64 }

	after := startServer(t, 1000, 64) // the restarted hub
	// The critical alarm raised at start-up, then more: the new process's
	// numbers pass the old since.
	for i := 0; i < 40; i++ {
		after.Publish(context.Background(), incident(100+i, "zhaoren"))
	}
	for _, q := range []string{fmt.Sprintf("&since=%d", last.Seq), fmt.Sprintf("&since=%d&epoch=%d", last.Seq, epochBefore.Epoch+1)} {
		w := dial(t, after, "ops-token", q)
		m := read(t, w)
		if m.Type != "snapshot" {
			t.Fatalf("resume %s after a restart got %q, want a snapshot", q, m.Type)
		}
	}
	// Within one process, since and epoch resume as before.
	w := dial(t, after, "ops-token", "")
	snap := read(t, w)
	var e struct {
		Epoch uint64 `json:"epoch"`
	}
	after.Publish(context.Background(), incident(999, "zhaoren"))
	w.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, ev, err := w.ReadMessage()
	if err != nil || json.Unmarshal(ev, &e) != nil || e.Epoch == 0 {
		t.Fatalf("message without epoch: %s %v", ev, err)
	}
	r := dial(t, after, "ops-token", fmt.Sprintf("&since=%d&epoch=%d", snap.Seq, e.Epoch))
	if m := read(t, r); m.Type != "resume" {
		t.Fatalf("resume in the same process got %q", m.Type)
	}
	if m := read(t, r); m.Type != "incident" || !strings.Contains(string(m.Data), "INC-999") {
		t.Fatalf("after resume got %s %s", m.Type, m.Data)
	}
}
