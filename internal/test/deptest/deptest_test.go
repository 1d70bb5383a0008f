// Package deptest keeps the import direction of the hub's packages: the
// camera package stands alone, the incident engine never reaches into
// ingest or the pages, and the shared contracts depend on nothing of ours.
package deptest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	var list []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		// A package's own subpackages are part of it (camera/rtsp).
		if strings.HasPrefix(p.ImportPath, "snowhub/") && p.ImportPath != pkg && !strings.HasPrefix(p.ImportPath, pkg+"/") {
			list = append(list, p.ImportPath)
		}
	}
	return list
}

func TestImportDirection(t *testing.T) {
	tests := []struct {
		pkg       string
		forbidden []string // nil with onlyNone: nothing of ours at all
		none      bool
	}{
		{pkg: "snowhub/camera", none: true},
		{pkg: "snowhub/camera/rtsp", none: true},
		{pkg: "snowhub/internal/event", none: true},
		{pkg: "snowhub/configs", none: true},
		{pkg: "snowhub/alerts", forbidden: []string{"snowhub/dashboard", "snowhub/ingest", "snowhub/camera"}},
		{pkg: "snowhub/dashboard", forbidden: []string{"snowhub/camera", "snowhub/ingest", "snowhub/alerts", "snowhub/internal/timeseries"}},
		{pkg: "snowhub/ingest", forbidden: []string{"snowhub/alerts", "snowhub/dashboard", "snowhub/camera"}},
		{pkg: "snowhub/alerts/notify", forbidden: []string{"snowhub/alerts", "snowhub/dashboard", "snowhub/ingest", "snowhub/camera", "snowhub/internal/app"}},
		{pkg: "snowhub/internal/timeseries", forbidden: []string{"snowhub/alerts", "snowhub/dashboard", "snowhub/ingest", "snowhub/camera"}},
	}
	for _, tt := range tests {
		got := deps(t, tt.pkg)
		if tt.none && len(got) > 0 {
			t.Errorf("%s imports %v; it must import nothing of ours", tt.pkg, got)
		}
		for _, f := range tt.forbidden {
			for _, g := range got {
				if g == f {
					t.Errorf("%s imports %s", tt.pkg, f)
				}
			}
		}
	}
}
