package dashboard

import (
	"os"
	"os/exec"
	"testing"
)

// The pages' pure functions (back-off, durations, causes, refusals, history
// lines, the incident buttons) are tested with Node's own runner: the
// web/js/*.test.mjs files beside the scripts they test (never served).
func TestPagesScripts(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("SNOWHUB_PEERS") == "required" {
			t.Fatal("node not found (scripts/peers.sh needs it for axe-core)")
		}
		t.Skip("node not found")
	}
	out, err := exec.Command(node, "--test", "web/js/").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}
