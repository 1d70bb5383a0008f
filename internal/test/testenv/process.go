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

// Pid is the running program's process id (0 when it is not running), for
// benchmarks that read its CPU time and memory from /proc.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
