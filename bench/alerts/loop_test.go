package alerts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"snowhub/alerts"
	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

var ops = auth.Principal{Name: "ops", Role: auth.RoleOperator}

func pct(lat []time.Duration, p int) float64 {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(lat[len(lat)*p/100].Microseconds())
}

// BenchmarkActionThroughAPI: 制单 then 接单 over HTTP against the real
// server and engine (bbolt commit with fsync per step), with two baselines
// in the same run: GET /healthz (the HTTP round trip alone) and the same
// accept called on the engine directly (the commit alone).
func BenchmarkActionThroughAPI(b *testing.B) {
	cfg := county(b, 12, 1, 1)
	cfg.Listen = "127.0.0.1:0"
	e, err := alerts.New(alerts.Options{Config: cfg, DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	s, err := dashboard.New(dashboard.Options{Config: func() *configs.Config { return cfg },
		Auth:      func(tok string) (auth.Principal, bool) { return ops, tok == "ops-token-0123456789" },
		Incidents: e, IncidentQuery: e, IncidentCreate: e, Outbox: e, Stats: e, Backlog: e})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr()
	cl := &http.Client{}
	post := func(path string, body any) (int, []byte) {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(buf))
		req.Header.Set("Authorization", "Bearer ops-token-0123456789")
		resp, err := cl.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var out bytes.Buffer
		out.ReadFrom(resp.Body)
		return resp.StatusCode, out.Bytes()
	}
	var create, accept, health, direct []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		code, body := post("/api/v1/incidents", event.CreateRequest{Title: "路口打架", Village: fmt.Sprintf("v%03d", i%12), Source: "wall"})
		create = append(create, time.Since(t0))
		if code != 201 {
			b.Fatalf("create: %d %s", code, body)
		}
		var inc event.Incident
		json.Unmarshal(body, &inc)
		t0 = time.Now()
		if code, body := post("/api/v1/incidents/"+inc.ID+"/accept", map[string]string{"note": "到场"}); code != 200 {
			b.Fatalf("accept: %d %s", code, body)
		}
		accept = append(accept, time.Since(t0))

		t0 = time.Now()
		resp, err := cl.Get(base + "/healthz")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		health = append(health, time.Since(t0))

		i2, err := e.Create(ctx, ops, event.CreateRequest{Title: "x", Village: "v000"})
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if _, err := e.Act(ctx, ops, i2.ID, "accept", event.ActionRequest{}); err != nil {
			b.Fatal(err)
		}
		direct = append(direct, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(pct(accept, 50), "accept-p50-µs")
	b.ReportMetric(pct(accept, 99), "accept-p99-µs")
	b.ReportMetric(pct(create, 99), "create-p99-µs")
	b.ReportMetric(pct(health, 99), "healthz-p99-µs")
	b.ReportMetric(pct(direct, 50), "engine-accept-p50-µs")
	b.ReportMetric(pct(direct, 99), "engine-accept-p99-µs")
}

// writeIncidents puts n incidents spread over 30 days, in every state, into
// a store file directly (one transaction): what 100,000 steps through the
// API would leave, without waiting for 100,000 fsyncs.
func writeIncidents(b *testing.B, dir string, cfg *configs.Config, n int, start time.Time) {
	b.Helper()
	db, err := bbolt.Open(filepath.Join(dir, "incidents.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	states := []string{"dispatched", "accepted", "resolved", "evaluated", "reviewed", "reviewed", "reviewed", "reviewed"}
	ratings := []string{"satisfied", "satisfied", "satisfied", "neutral", "unsatisfied"}
	err = db.Update(func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte("incidents"))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			at := start.Add(time.Duration(i) * 30 * 24 * time.Hour / time.Duration(n))
			v := cfg.Townships[i%len(cfg.Townships)].Villages[0]
			tw := cfg.Townships[i%len(cfg.Townships)].ID
			st := states[i%len(states)]
			inc := event.Incident{ID: fmt.Sprintf("INC-%s-%06d", at.Format("20060102"), i+1), State: st, Severity: "minor", Kind: "manual",
				Title: "路口打架", Township: tw, Village: v.ID, OpenedAt: at, Owner: tw, Level: "township", Count: 1, LastSeen: at, Source: "grid",
				Assignee: &event.Assignee{ID: fmt.Sprintf("p-%d", i%50), Name: "网格员"}}
			steps := []string{"open", "dispatch", "accept", "assign", "resolve", "evaluate", "review"}
			upto := map[string]int{"dispatched": 2, "accepted": 4, "resolved": 5, "evaluated": 6, "reviewed": 7}[st]
			for k, a := range steps[:upto] {
				inc.History = append(inc.History, event.Step{At: at.Add(time.Duration(k) * time.Hour), Action: a, By: "desk", Note: "办理说明"})
				if k > 0 {
					inc.Timeliness = append(inc.Timeliness, event.StepTime{Step: a, Due: at.Add(time.Duration(k) * 2 * time.Hour), DoneAt: at.Add(time.Duration(k) * time.Hour), OnTime: i%7 != 0})
				}
			}
			if st == "evaluated" || st == "reviewed" {
				inc.Ratings = []event.Rating{{At: at, Rating: ratings[i%len(ratings)], Method: "phone", Asked: "reporter"}}
				inc.Rating = inc.Ratings[0].Rating
			}
			if st == "reviewed" {
				sc := 60 + i%41
				inc.Score, inc.ReviewedAt = &sc, at.Add(6*time.Hour)
			}
			buf, err := json.Marshal(inc)
			if err != nil {
				return err
			}
			if err := bk.Put([]byte(inc.ID), buf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStats100k: the figures over 100,000 incidents (30 days), by
// township and by village, and the backlog series (a point per day); the
// load of that store at start is reported too. Baseline in the same run: a
// page of open incidents (List, which walks every incident in memory).
func BenchmarkStats100k(b *testing.B) {
	cfg := county(b, 60, 1, 1)
	dir := b.TempDir()
	start := time.Now().Add(-30 * 24 * time.Hour)
	writeIncidents(b, dir, cfg, 100_000, start)
	st, _ := os.Stat(filepath.Join(dir, "incidents.db"))
	t0 := time.Now()
	e, err := alerts.New(alerts.Options{Config: cfg, DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(t0)
	defer e.Close()
	var tw, vil, back, list []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		rows, err := e.Stats(ops, start, time.Now(), "township")
		if err != nil || len(rows) != 6 {
			b.Fatalf("%v %d rows", err, len(rows))
		}
		tw = append(tw, time.Since(t0))
		t0 = time.Now()
		if _, err := e.Stats(ops, start, time.Now(), "village"); err != nil {
			b.Fatal(err)
		}
		vil = append(vil, time.Since(t0))
		t0 = time.Now()
		if bl, err := e.Backlog(ops, start, time.Now(), "township"); err != nil || len(bl.At) < 29 {
			b.Fatalf("backlog: %v, %d points", err, len(bl.At))
		}
		back = append(back, time.Since(t0))
		t0 = time.Now()
		_ = e.List(ops, event.IncidentFilter{State: "open", Limit: 50})
		list = append(list, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(pct(tw, 50)/1000, "township-p50-ms")
	b.ReportMetric(pct(tw, 99)/1000, "township-p99-ms")
	b.ReportMetric(pct(vil, 99)/1000, "village-p99-ms")
	b.ReportMetric(pct(back, 50)/1000, "backlog-p50-ms")
	b.ReportMetric(pct(back, 99)/1000, "backlog-p99-ms")
	b.ReportMetric(pct(list, 99)/1000, "list-open-p99-ms")
	b.ReportMetric(float64(load.Milliseconds()), "load-ms")
	b.ReportMetric(float64(st.Size())/(1<<20), "store-MiB")
}
