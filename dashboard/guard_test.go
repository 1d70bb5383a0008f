package dashboard

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// countingIncidents counts what reaches the incident service.
type countingIncidents struct {
	fakeIncidents
	acts atomic.Int64
	ids  atomic.Int64 // bytes of ids that reached it
}

func (c *countingIncidents) Act(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error) {
	c.acts.Add(1)
	c.ids.Add(int64(len(id) + len(action)))
	return c.fakeIncidents.Act(ctx, p, id, action, req)
}

func (c *countingIncidents) Get(p auth.Principal, id string) (event.Incident, error) {
	c.ids.Add(int64(len(id)))
	return c.fakeIncidents.Get(p, id)
}

func post(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"note":"x"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// Incident ids of 900 KB in action URLs (before: the audit log grew 101 MB
// in 40 requests) are refused with 400 before the incident service, the
// store or the audit log see them; so are actions that are not words.
func TestPathIDsValidatedBeforeUse(t *testing.T) {
	s := startServer(t, 10, 10)
	inc := &countingIncidents{}
	s.o.Incidents = inc
	// 900 KB is over the header limit (431); 10 KB is refused as an id (400).
	if code := post(t, "http://"+s.Addr()+"/api/v1/incidents/"+strings.Repeat("A", 900<<10)+"/accept", "ops-token"); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("900 KB id: %d, want 431", code)
	}
	for _, path := range []string{
		"/api/v1/incidents/" + strings.Repeat("A", 10<<10) + "/accept",
		"/api/v1/incidents/" + strings.Repeat("A", 65) + "/accept",
		"/api/v1/incidents/INC-1/" + strings.Repeat("a", 100),
		"/api/v1/incidents/INC%0A1/accept",
		"/api/v1/incidents/%3Cscript%3E/accept",
	} {
		if code := post(t, "http://"+s.Addr()+path, "ops-token"); code != http.StatusBadRequest {
			t.Errorf("%.60s: %d, want 400", path, code)
		}
	}
	req, _ := http.NewRequest("GET", "http://"+s.Addr()+"/api/v1/incidents/"+strings.Repeat("B", 2000), nil)
	req.Header.Set("Authorization", "Bearer ops-token")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusBadRequest {
		t.Errorf("GET with a 2,000-byte id: %v %v", res.StatusCode, err)
	}
	if n, b := inc.acts.Load(), inc.ids.Load(); n != 0 || b != 0 {
		t.Fatalf("%d calls with %d bytes of ids reached the incident service", n, b)
	}
	if code := post(t, "http://"+s.Addr()+"/api/v1/incidents/INC-20261124-0001/accept", "ops-token"); code != http.StatusOK {
		t.Fatalf("a good id: %d", code)
	}
}

// A user's refused requests are rate-limited: past the burst they answer
// 429 without reaching the service; another user is not affected.
func TestRefusedAttemptsRateLimitedPerUser(t *testing.T) {
	s := startServer(t, 10, 10)
	inc := &countingIncidents{}
	s.o.Incidents = inc
	codes := map[int]int{}
	for i := 0; i < 100; i++ {
		codes[post(t, "http://"+s.Addr()+"/api/v1/incidents/INC-1/accept", "tech-token")]++
	}
	burst := DefaultLimits.RefusalBurst
	if codes[http.StatusForbidden] < burst || codes[http.StatusForbidden] > burst+2 || codes[http.StatusTooManyRequests] < 100-burst-2 {
		t.Fatalf("answers %v; want about %d × 403 then 429", codes, burst)
	}
	if n := inc.acts.Load(); n > int64(burst+2) {
		t.Fatalf("%d refused attempts reached the service", n)
	}
	if code := post(t, "http://"+s.Addr()+"/api/v1/incidents/INC-1/accept", "ops-token"); code != http.StatusOK {
		t.Fatalf("another user: %d", code)
	}
}

// Ids in bodies are checked like ids in paths, before the service sees them.
func TestBodyIDsValidated(t *testing.T) {
	s := startLimited(t, Limits{})
	m := &recordingMaintenance{}
	s.o.Maintenance = m
	for _, body := range []string{
		`{"device":"` + strings.Repeat("d", 30000) + `","until":"2026-12-01T00:00:00Z"}`,
		`{"village":"v1\u0000x","until":"2026-12-01T00:00:00Z"}`,
	} {
		req, _ := http.NewRequest("POST", "http://"+s.Addr()+"/api/v1/maintenance", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer ops-token")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || len(b) > 512 {
			t.Errorf("%.40s: %d, %d bytes answered", body, res.StatusCode, len(b))
		}
	}
	if m.calls.Load() != 0 {
		t.Fatalf("%d bad ids reached the maintenance service", m.calls.Load())
	}
}

type recordingMaintenance struct{ calls atomic.Int64 }

func (r *recordingMaintenance) Set(_ context.Context, _ auth.Principal, m event.Maintenance) (event.Maintenance, error) {
	r.calls.Add(1)
	return m, nil
}
func (r *recordingMaintenance) End(context.Context, auth.Principal, string) error { return nil }
func (r *recordingMaintenance) List(auth.Principal, time.Time) []event.Maintenance {
	return nil
}
