package dashboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The chart library is built from dashboard/webbuild with npm and committed
// (make run needs no Node). Its inputs' hash is recorded beside the output;
// an input changed without a rebuild fails here.
func TestBuiltChartsAreFresh(t *testing.T) {
	dir := "webbuild"
	h := sha256.New()
	// The order and framing are build.mjs's inputsHash.
	for _, f := range []string{"package.json", "package-lock.json", "charts.entry.js", "build.mjs"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(f + "\x00"))
		h.Write(b)
		h.Write([]byte("\x00"))
	}
	want, err := os.ReadFile(filepath.Join("web", "vendor", "charts.inputs.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.TrimSpace(string(want)) {
		t.Fatalf("web/vendor/charts.js is stale (inputs %s, built from %s): cd dashboard/webbuild && npm ci && npm run build", got, bytes.TrimSpace(want))
	}
	if fi, err := os.Stat(filepath.Join("web", "vendor", "charts.js")); err != nil || fi.Size() < 10000 {
		t.Fatalf("web/vendor/charts.js missing or empty: %v", err)
	}
}
