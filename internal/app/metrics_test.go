package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/test/testenv"
)

// Every metric the documentation names is exported by a running hub (the
// websocket metrics were once built but never registered).
func TestDocumentedMetricsAreExported(t *testing.T) {
	y := oneVillageYAML(t) + `notify:
  channels:
    - {id: hook, type: webhook, url: "http://127.0.0.1:1/", secret: metrics-secret}
`
	cfg, err := configs.Parse("metrics.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md")
	names := map[string][]string{}
	re := regexp.MustCompile(`snowhub_[a-z0-9_]+[a-z0-9]`)
	// Names of the same shape that are not metrics.
	notMetrics := map[string]bool{"snowhub_session": true} // the login cookie
	for _, f := range docs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range re.FindAllString(string(b), -1) {
			if notMetrics[n] {
				continue
			}
			names[n] = append(names[n], filepath.Base(f))
		}
	}
	if len(names) < 10 && os.Getenv("DUMP") == "" {
		t.Fatalf("the docs name only %d metrics: %v", len(names), names)
	}
	var body string
	testenv.WaitFor(t, 10*time.Second, "metrics served", func() bool {
		resp, err := http.Get("http://" + h.Addr() + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	if os.Getenv("DUMP") != "" {
		t.Log(body)
	}
	var missing []string
	for n, where := range names {
		if !strings.Contains(body, "# TYPE "+n+" ") {
			missing = append(missing, n+" ("+strings.Join(where, ", ")+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("documented but not exported:\n%s", strings.Join(missing, "\n"))
	}
}
