package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/gorilla/websocket"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// actionsIn reads the actions of an incident message's data; nil when the
// message carries none.
func actionsIn(t *testing.T, m msg) []string {
	t.Helper()
	var d struct {
		ID      string    `json:"id"`
		Actions *[]string `json:"actions"`
	}
	if err := json.Unmarshal(m.Data, &d); err != nil {
		t.Fatalf("%s: %v", m.Data, err)
	}
	if d.Actions == nil {
		return nil
	}
	return *d.Actions
}

// Each websocket client is sent the steps its own caller may take on an
// incident, live and when it resumes from the history, and in its
// snapshot: the operator and the township desk see the same incident with
// different buttons, the technician with none (an empty list, not absent).
func TestIncidentMessagesCarryEachCallersActions(t *testing.T) {
	s := startServer(t, 100, 16)
	want := map[string][]string{"ops-token": {"dispatch", "acknowledge"}, "zhaoren-token": {"accept"}, "tech-token": {}}
	conns := map[string]*wsConn{}
	for tok := range want {
		c := dial(t, s, tok, "")
		snap := read(t, c)
		var data struct{ Incidents []event.Incident }
		if err := json.Unmarshal(snap.Data, &data); err != nil {
			t.Fatal(err)
		}
		for _, inc := range data.Incidents {
			if inc.Actions == nil {
				t.Errorf("%s: snapshot incident %s without actions", tok, inc.ID)
			}
		}
		conns[tok] = &wsConn{c: c, seq: snap.Seq}
	}
	ev := event.Event{Type: event.IncidentStep, Township: "zhaoren",
		Data: event.Incident{ID: "INC-9", Township: "zhaoren", State: "opened", Actions: []string{"stale"}}}
	s.Publish(context.Background(), ev)
	for tok, w := range want {
		m := read(t, conns[tok].c)
		got := actionsIn(t, m)
		if got == nil || !slices.Equal(got, w) {
			t.Errorf("%s: live actions %v, want %v (%s)", tok, got, w, m.Data)
		}
	}
	// A resume replays the history with the resuming caller's actions.
	for tok, w := range want {
		c := dial(t, s, tok, fmt.Sprintf("&since=%d&epoch=%d", conns[tok].seq, s.hub.epoch))
		if m := read(t, c); m.Type != "resume" {
			t.Fatalf("%s: %s first, want resume", tok, m.Type)
		}
		m := read(t, c)
		if got := actionsIn(t, m); got == nil || !slices.Equal(got, w) {
			t.Errorf("%s: resumed actions %v, want %v (%s)", tok, got, w, m.Data)
		}
	}
}

type wsConn struct {
	c   *websocket.Conn
	seq uint64
}

// subscribeTest registers a client that reads nothing (its queue is read
// by the test), without a snapshot.
func (h *hub) subscribeTest(p auth.Principal) *client {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &client{p: p, send: make(chan []byte, h.queue), closed: make(chan struct{})}
	h.clients[c] = struct{}{}
	return c
}

// One encoding per distinct list of steps, not per client: two desks of
// the same township are handed the same bytes.
func TestIncidentMessageEncodedOncePerActionList(t *testing.T) {
	h := newHub(10, 4, &fakeIncidents{})
	a := h.subscribeTest(principals["zhaoren-token"])
	b := h.subscribeTest(principals["zhaoren-token"])
	o := h.subscribeTest(principals["ops-token"])
	h.publish(event.Event{Type: event.IncidentStep, Township: "zhaoren", Data: event.Incident{ID: "INC-1", Township: "zhaoren", State: "opened"}})
	ba, bb, bo := <-a.send, <-b.send, <-o.send
	if &ba[0] != &bb[0] {
		t.Error("two clients with the same steps were sent two encodings")
	}
	if string(ba) == string(bo) {
		t.Error("the operator and the desk were sent the same actions")
	}
}
