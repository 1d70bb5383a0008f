package deptest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// readmeMap reads the package map under "## How it is built" in the
// README: the first word of each line of its code block.
func readmeMap(t *testing.T, readme string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "## How it is built")
	if !ok {
		t.Fatal(`README.md has no "## How it is built" section`)
	}
	_, block, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatal("the How it is built section has no code block")
	}
	block, _, _ = strings.Cut(block, "```")
	var pkgs []string
	for _, line := range strings.Split(block, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			pkgs = append(pkgs, f[0])
		}
	}
	return pkgs
}

// TestReadmeMapIsTrue keeps the README's package map true: every package
// of the module is in it, once, and nothing else is.
func TestReadmeMapIsTrue(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]int{}
	for _, p := range readmeMap(t, string(b)) {
		listed[p]++
	}
	cmd := exec.Command("go", "list", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	var missing []string
	for _, p := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(p, "snowhub/")
		if listed[rel] == 0 {
			missing = append(missing, rel)
		}
		if listed[rel] > 1 {
			t.Errorf("README.md lists %s %d times", rel, listed[rel])
		}
		delete(listed, rel)
	}
	sort.Strings(missing)
	for _, p := range missing {
		t.Errorf("README.md's map (How it is built) does not list package %s", p)
	}
	for p := range listed {
		t.Errorf("README.md's map lists %s, which is not a package of the module", p)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
