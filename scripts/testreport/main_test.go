package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	const in = `{"Action":"run","Package":"p","Test":"TestOK"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"    a_test.go:1: chatter of a passing test\n"}
{"Action":"pass","Package":"p","Test":"TestOK","Elapsed":2.5}
{"Action":"output","Package":"p","Test":"TestBad","Output":"    a_test.go:9: the reason it failed\n"}
{"Action":"output","Package":"p","Test":"TestBad","Output":"--- FAIL: TestBad (0.10s)\n"}
{"Action":"fail","Package":"p","Test":"TestBad","Elapsed":0.1}
{"Action":"pass","Package":"p","Test":"TestOK/sub","Elapsed":9}
{"Action":"output","Package":"p","Output":"FAIL\tp\t2.7s\n"}
{"Action":"fail","Package":"p","Elapsed":2.7}
{"Action":"output","Package":"q","Output":"PASS\n"}
{"Action":"output","Package":"q","Test":"TestHang","Output":"panic: test timed out after 20m0s\n"}
{"Action":"output","Package":"q","Output":"FAIL\tq\t1200s\n"}
{"Action":"fail","Package":"q","Elapsed":1200}
{"Action":"pass","Package":"r","Test":"TestSlow","Elapsed":40}
{"Action":"output","Package":"r","Output":"ok  \tr\t40.1s\n"}
go vet: something not JSON
`
	var out strings.Builder
	failed, err := report(strings.NewReader(in), &out, 1)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	got := out.String()
	for _, want := range []string{"the reason it failed", "--- FAIL: TestBad", "FAIL\tp\t2.7s", "panic: test timed out", "ok  \tr\t40.1s",
		"something not JSON", "slowest tests:\n    40.0 s  r TestSlow\n",
		"failed:\np TestBad\n    a_test.go:9: the reason it failed\n", "q TestHang\npanic: test timed out"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, not := range []string{"chatter of a passing test", "=== RUN", "PASS\n", "TestOK/sub", "2.5 s"} {
		if strings.Contains(got, not) {
			t.Errorf("shows %q:\n%s", not, got)
		}
	}
	if failed, _ := report(strings.NewReader(`{"Action":"pass","Package":"r","Test":"TestA","Elapsed":1}`+"\n"), &out, 5); failed {
		t.Error("a passing run reported as failed")
	}
}
