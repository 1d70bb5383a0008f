// Command testreport reads `go test -json` on stdin and prints what the
// plain `go test` prints (each package's result, the output of failing
// tests, build errors), then the slowest tests, so that a CI log that keeps
// only its tail still says where the time went. It exits 1 if anything
// failed; make test also checks go test's own status.
//
//	go test -json ./... | go run ./scripts/testreport -slowest 15
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

type key struct{ pkg, test string }

type timing struct {
	key
	elapsed float64
}

func main() {
	slowest := flag.Int("slowest", 15, "how many of the slowest tests to list")
	flag.Parse()
	failed, err := report(os.Stdin, os.Stdout, *slowest)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

func report(in io.Reader, out io.Writer, slowest int) (failed bool, err error) {
	pending := map[key][]string{} // output of tests not yet ended
	var times []timing
	var failures []string // the failing tests' output again, for the log's tail
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || e.Action == "" {
			fmt.Fprintf(out, "%s\n", line) // not JSON: go vet or the toolchain speaking
			continue
		}
		k := key{e.Package, e.Test}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "" && e.Action == "output":
			if e.Output != "PASS\n" { // -json runs the binary verbose; plain go test omits it
				fmt.Fprint(out, e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			failed = true
			// A test binary that panicked or timed out ends its package
			// without ending the tests that were running: show them.
			for pk, lines := range pending {
				if pk.pkg == e.Package {
					fmt.Fprint(out, strings.Join(lines, ""))
					failures = append(failures, recap(pk, lines))
					delete(pending, pk)
				}
			}
		case e.Test == "":
		case e.Action == "output":
			if !strings.HasPrefix(e.Output, "=== ") {
				pending[k] = append(pending[k], e.Output)
			}
		case e.Action == "pass" || e.Action == "skip":
			delete(pending, k)
			if e.Action == "pass" && !strings.Contains(e.Test, "/") {
				times = append(times, timing{k, e.Elapsed})
			}
		case e.Action == "fail":
			failed = true
			fmt.Fprint(out, strings.Join(pending[k], ""))
			if !strings.Contains(e.Test, "/") { // a subtest's lines are in its parent's
				failures = append(failures, recap(k, pending[k]))
			}
			delete(pending, k)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	sort.Slice(times, func(i, j int) bool { return times[i].elapsed > times[j].elapsed })
	if len(times) > slowest {
		times = times[:slowest]
	}
	if len(times) > 0 {
		fmt.Fprintf(out, "slowest tests:\n")
		for _, t := range times {
			fmt.Fprintf(out, "%8.1f s  %s %s\n", t.elapsed, strings.TrimPrefix(t.pkg, "snowhub/"), t.test)
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(out, "failed:\n%s", strings.Join(failures, ""))
	}
	return failed, nil
}

// recap is a failed test's name and its last lines.
func recap(k key, lines []string) string {
	const keep = 30
	if len(lines) > keep {
		lines = append([]string{"    ...\n"}, lines[len(lines)-keep:]...)
	}
	return fmt.Sprintf("%s %s\n%s", strings.TrimPrefix(k.pkg, "snowhub/"), k.test, strings.Join(lines, ""))
}
