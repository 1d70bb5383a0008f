package testenv

import "testing"

// StartProcess runs a program for the test (stopped at its end, its output
// shown when the test fails) and waits for addr to accept connections.
// Kill and Start again restart it, as a crash and a restart would.
func StartProcess(t testing.TB, addr, name string, args ...string) *Process {
	t.Helper()
	p := newProcess(t, addr, name, args...)
	p.Start()
	return p
}
