package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/dashboard"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/login"
	"snowhub/internal/password"
)

// BenchmarkWallDuringLogins: the wall's websocket latency (500 clients,
// 200 events/s) while 20 people log in at once (argon2id at the hub's
// parameters, one check at a time), beside the same wall with no logins in
// the same run; and the logins' own p50/p99 from the first start.
//
//	go test -run '^$' -bench WallDuringLogins -benchtime 1x ./bench/ws
func BenchmarkWallDuringLogins(b *testing.B) {
	const pw = "Changwu#Wall2026"
	h, err := password.Hash(pw, password.Default)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := login.New(login.Options{
		Accounts: func(name string) (login.Account, bool) {
			return login.Account{Principal: auth.Principal{Name: name, Role: auth.RoleTownship, Township: "t1"}, PasswordHash: h}, true
		},
		Settings: func() login.Settings {
			return login.Settings{IdleTimeout: time.Hour, Lifetime: 12 * time.Hour, LockoutFailures: 5, LockoutWindow: time.Minute, LockoutFor: time.Minute}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	cfg := &configs.Config{Listen: "127.0.0.1:0", Dashboard: configs.DashboardConfig{History: 10000, ClientQueue: 256}}
	s, err := dashboard.New(dashboard.Options{Config: func() *configs.Config { return cfg }, Login: svc,
		Auth: func(string) (auth.Principal, bool) { return auth.Principal{Name: "ops", Role: auth.RoleOperator}, true }})
	if err != nil {
		b.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	pub := func(i int, sent int64) {
		s.Publish(context.Background(), event.Event{Type: event.CameraSample, Township: "t1", Data: event.CameraStatus{ID: "cam-1", Township: "t1", LastError: fmt.Sprint(sent)}})
	}
	url := "ws://" + s.Addr() + "/ws?token=x"
	var quiet, busy result
	var logins []time.Duration
	for b.Loop() {
		quiet = run(b, url, pub, false)
		// 20 logins at once, 2 s after the run starts: the clients are
		// connected and about a second of the 3 s of events has gone.
		done := make(chan []time.Duration, 1)
		go func() {
			time.Sleep(2 * time.Second)
			var mu sync.Mutex
			var took []time.Duration
			var wg sync.WaitGroup
			t0 := time.Now()
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := http.Post("http://"+s.Addr()+"/api/v1/login", "application/json",
						strings.NewReader(fmt.Sprintf(`{"name":"desk-%d","password":%q}`, i, pw)))
					if err != nil || resp.StatusCode != 200 {
						b.Errorf("login %d: %v %v", i, err, resp)
						return
					}
					resp.Body.Close()
					mu.Lock()
					took = append(took, time.Since(t0))
					mu.Unlock()
				}()
			}
			wg.Wait()
			done <- took
		}()
		busy = run(b, url, pub, false)
		logins = <-done
	}
	sort.Slice(logins, func(i, j int) bool { return logins[i] < logins[j] })
	b.ReportMetric(float64(quiet.p99.Microseconds()), "wall-p99-µs")
	b.ReportMetric(float64(busy.p99.Microseconds()), "wall-p99-logins-µs")
	b.ReportMetric(float64(busy.p99)/float64(quiet.p99), "p99-ratio")
	if len(logins) > 0 {
		b.ReportMetric(float64(logins[len(logins)/2].Milliseconds()), "login-p50-ms")
		b.ReportMetric(float64(logins[len(logins)*99/100].Milliseconds()), "login-p99-ms")
	}
}
