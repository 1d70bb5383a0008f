// Benchmarks of people's logins: one argon2id hash at the hub's parameters
// (password.Default), alone and with 20 at once on the box's cores, which
// is what a shift change's logins cost.
//
//	go test -run '^$' -bench . -benchtime 20x ./bench/auth
package auth_test

import (
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"snowhub/internal/password"
)

func BenchmarkHash(b *testing.B) {
	h, err := password.Hash("Changwu#2026", password.Default)
	if err != nil {
		b.Fatal(err)
	}
	parsed, _ := password.Parse(h)
	b.ReportAllocs()
	var took []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if !parsed.Verify("Changwu#2026") {
			b.Fatal("no match")
		}
		took = append(took, time.Since(t0))
	}
	report(b, took)
}

// BenchmarkHash20 verifies 20 logins at once: each login's time from the
// first start, as the 20th person at a shift change sees it.
func BenchmarkHash20(b *testing.B) {
	h, _ := password.Hash("Changwu#2026", password.Default)
	parsed, _ := password.Parse(h)
	var took []time.Duration
	var mu sync.Mutex
	for b.Loop() {
		t0 := time.Now()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				parsed.Verify("Changwu#2026")
				mu.Lock()
				took = append(took, time.Since(t0))
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	report(b, took)
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
}

func report(b *testing.B, took []time.Duration) {
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	q := func(f float64) float64 { return float64(took[int(f*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
