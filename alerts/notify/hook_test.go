package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// hookRecorder is a webhook receiver that checks the signature.
type hookRecorder struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][]WebhookBody // by step id header
}

func newHookRecorder(t *testing.T, secret string) *hookRecorder {
	h := &hookRecorder{bodies: map[string][]WebhookBody{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(SignatureHeader) != Sign(secret, body) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		var b WebhookBody
		if err := json.Unmarshal(body, &b); err != nil || b.StepID != r.Header.Get(StepHeader) {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.bodies[b.StepID] = append(h.bodies[b.StepID], b)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookRecorder) count(step string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies[step])
}

func (h *hookRecorder) repeats(step string) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, b := range h.bodies[step] {
		out = append(out, b.Repeat)
	}
	return out
}

// newStatusServer answers every request with status.
func newStatusServer(t *testing.T, status int) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"bad request"}`, status)
	}))
	t.Cleanup(s.Close)
	return s.URL
}
