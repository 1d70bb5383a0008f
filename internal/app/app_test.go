package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"snowhub/internal/test/testenv"
)

func TestCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if err := Run(context.Background(), Options{ConfigPath: "../../configs/example.yaml", Check: true, Stdout: &out, Stderr: &errb}); err != nil {
		t.Fatalf("example: %v %s", err, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != "ok: 1 county, 2 townships, 6 villages, 12 cameras, 20 sensors" {
		t.Fatalf("summary = %q", got)
	}
	out.Reset()
	err := Run(context.Background(), Options{ConfigPath: "../../configs/testdata/bad/users.yaml", Check: true, Stdout: &out, Stderr: &errb})
	if err == nil || ExitCode(err) != 2 || out.Len() != 0 {
		t.Fatalf("bad file: err %v code %d out %q", err, ExitCode(err), out.String())
	}
	if n := strings.Count(errb.String(), "\n"); n != 5 || !strings.Contains(errb.String(), "users.yaml:8: users[0].token: too short") {
		t.Fatalf("stderr (%d lines):\n%s", n, errb.String())
	}
	if err := Run(context.Background(), Options{Check: true}); ExitCode(err) != 2 {
		t.Fatalf("-check without -config: %v", err)
	}
}

// Reload: a good file adds a camera without touching the others; a bad one
// is refused whole, the running configuration stays, and /readyz says why.
func TestReload(t *testing.T) {
	e := startE2E(t)
	testenv.WaitFor(t, 30*time.Second, "cameras online", func() bool { return e.cameras(opsToken)["cam-sim-1"].State == "online" })
	before := e.cameras(opsToken)["cam-sim-1"]

	body, _ := os.ReadFile(e.path)
	added := strings.Replace(string(body), "sensors:\n", "  - {id: cam-new, name: 新增, village: v-xg-01, url: \""+e.sim.URL("/cam-sim-2")+"\", transport: tcp, watch: true}\nsensors:\n", 1)
	writeFile(t, e.path, added)
	testenv.WaitFor(t, 20*time.Second, "the added camera online", func() bool { return e.cameras(opsToken)["cam-new"].State == "online" })
	if after := e.cameras(opsToken)["cam-sim-1"]; after.Reconnects != before.Reconnects || !after.Since.Equal(before.Since) {
		t.Fatalf("an unchanged camera was restarted: %+v → %+v", before, after)
	}

	writeFile(t, e.path, strings.Replace(added, "watch: true}", "watch: maybe}", 1))
	var ready map[string]string
	testenv.WaitFor(t, 10*time.Second, "the refusal in /readyz", func() bool {
		resp, err := http.Get(e.base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(&ready)
		return strings.Contains(ready["config"], "reload refused")
	})
	// Where, never what: the value ("maybe") stays out of /readyz.
	if !strings.Contains(ready["config"], "snowhub.yaml:") || !strings.Contains(ready["config"], ".watch") || strings.Contains(ready["config"], "maybe") {
		t.Fatalf("readyz config = %q", ready["config"])
	}
	if _, ok := e.cameras(opsToken)["cam-new"]; !ok {
		t.Fatal("the running configuration was dropped by a bad reload")
	}

	// Settings that cannot change live are reported.
	writeFile(t, e.path, strings.Replace(added, "listen: ", "listen: 127.0.0.2:1\n# was: ", 1))
	testenv.WaitFor(t, 10*time.Second, "needs restart", func() bool {
		resp, err := http.Get(e.base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(&ready)
		return strings.Contains(ready["config"], "listen needs restart")
	})
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // as editors save
		t.Fatal(err)
	}
}
