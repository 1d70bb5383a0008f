// Package deptest keeps the import direction of the hub's packages: the
// camera package stands alone, the incident engine never reaches into
// ingest or the pages, and the shared contracts depend on nothing of ours.
package deptest

import (
	"encoding/json"
	"os/exec"
	"slices"
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
		only      []string // with none: these, which themselves import nothing of ours, and no other
	}{
		{pkg: "snowhub/camera", none: true},
		{pkg: "snowhub/camera/rtsp", none: true},
		{pkg: "snowhub/camera/gb28181", none: true},
		{pkg: "snowhub/internal/event", none: true},
		// The configuration checks users[].password_hash with the one
		// parser of password hashes, a leaf itself.
		{pkg: "snowhub/configs", none: true, only: []string{"snowhub/internal/password"}},
		{pkg: "snowhub/internal/password", none: true},
		{pkg: "snowhub/alerts", forbidden: []string{"snowhub/dashboard", "snowhub/ingest", "snowhub/camera"}},
		{pkg: "snowhub/dashboard", forbidden: []string{"snowhub/camera", "snowhub/ingest", "snowhub/alerts", "snowhub/internal/timeseries"}},
		{pkg: "snowhub/ingest", forbidden: []string{"snowhub/alerts", "snowhub/dashboard", "snowhub/camera"}},
		{pkg: "snowhub/alerts/notify", forbidden: []string{"snowhub/alerts", "snowhub/dashboard", "snowhub/ingest", "snowhub/camera", "snowhub/internal/app"}},
		{pkg: "snowhub/ingest/mqttacl", forbidden: []string{"snowhub/alerts", "snowhub/dashboard", "snowhub/camera", "snowhub/ingest"}},
		{pkg: "snowhub/internal/timeseries", forbidden: []string{"snowhub/alerts", "snowhub/dashboard", "snowhub/ingest", "snowhub/camera"}},
	}
	for _, tt := range tests {
		got := deps(t, tt.pkg)
		if len(got) == 0 && !tt.none {
			t.Errorf("%s: go list found no dependencies of ours (is the package still there?)", tt.pkg)
		}
		got = slices.DeleteFunc(got, func(g string) bool { return slices.Contains(tt.only, g) })
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

// TestNothingImportsAbove keeps internal/'s rule: the assembly (internal/app),
// the prefecture and the test machinery sit above the fixed folders, so no
// package of camera, ingest, alerts, dashboard or configs imports them, and
// only tests import the test machinery.
func TestNothingImportsAbove(t *testing.T) {
	above := []string{"snowhub/internal/app", "snowhub/internal/prefecture", "snowhub/internal/demo", "snowhub/internal/test/"}
	for _, root := range []string{"snowhub/camera/...", "snowhub/ingest/...", "snowhub/alerts/...", "snowhub/dashboard/...", "snowhub/configs/...", "snowhub/internal/event", "snowhub/internal/auth", "snowhub/internal/timeseries"} {
		out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", root).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", root, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			for _, imp := range f[1:] {
				for _, a := range above {
					if imp == a || strings.HasPrefix(imp, a) {
						t.Errorf("%s imports %s, which sits above it", f[0], imp)
					}
				}
			}
		}
	}
}
