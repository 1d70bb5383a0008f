// Package k8s holds the Kubernetes manifests; this test checks their
// structure, since no cluster (or kubectl) runs where the tests run.
package k8s

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type obj = map[string]any

func get(o any, path ...string) any {
	for _, p := range path {
		m, ok := o.(obj)
		if !ok {
			return nil
		}
		o = m[p]
	}
	return o
}

func str(o any, path ...string) string { s, _ := get(o, path...).(string); return s }
func list(o any, path ...string) []any { l, _ := get(o, path...).([]any); return l }

func load(t *testing.T) map[string][]obj {
	t.Helper()
	files, _ := filepath.Glob("*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests")
	}
	docs := map[string][]obj{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(fh)
		for i := 0; ; i++ {
			var d obj
			err := dec.Decode(&d)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if d == nil {
				continue
			}
			d["_where"] = fmt.Sprintf("%s#%d", f, i)
			docs[f] = append(docs[f], d)
		}
		fh.Close()
	}
	return docs
}

// TestManifests checks what kubectl --dry-run would catch and what a
// prefecture relies on: every document names its kind and name; workloads'
// selectors match their pods; every mounted volume exists and every
// ConfigMap, Service and claim they name is in the same file; hubs have
// readiness from /readyz and liveness from /healthz; an owner hub keeps its
// state on its own volume; a PodDisruptionBudget selects a workload.
func TestManifests(t *testing.T) {
	for file, docs := range load(t) {
		kinds := map[string]map[string]obj{}
		for _, d := range docs {
			kind, name := str(d, "kind"), str(d, "metadata", "name")
			if str(d, "apiVersion") == "" || kind == "" || name == "" {
				t.Errorf("%s: apiVersion, kind and metadata.name are required", d["_where"])
				continue
			}
			if kinds[kind] == nil {
				kinds[kind] = map[string]obj{}
			}
			kinds[kind][name] = d
		}
		var podLabels []obj
		for _, kind := range []string{"Deployment", "StatefulSet"} {
			for name, d := range kinds[kind] {
				where := fmt.Sprintf("%s %s/%s", file, kind, name)
				sel, _ := get(d, "spec", "selector", "matchLabels").(obj)
				labels, _ := get(d, "spec", "template", "metadata", "labels").(obj)
				if len(sel) == 0 {
					t.Errorf("%s: spec.selector.matchLabels is empty", where)
				}
				for k, v := range sel {
					if labels[k] != v {
						t.Errorf("%s: selector %s=%v does not match the pod template", where, k, v)
					}
				}
				podLabels = append(podLabels, labels)
				volumes := map[string]obj{}
				for _, v := range list(d, "spec", "template", "spec", "volumes") {
					vol, _ := v.(obj)
					volumes[str(vol, "name")] = vol
					if cm := str(vol, "configMap", "name"); cm != "" && kinds["ConfigMap"][cm] == nil {
						t.Errorf("%s: volume %s names ConfigMap %s, not in %s", where, str(vol, "name"), cm, file)
					}
				}
				for _, c := range list(d, "spec", "volumeClaimTemplates") {
					volumes[str(c, "metadata", "name")] = obj{}
				}
				if kind == "StatefulSet" {
					if svc := str(d, "spec", "serviceName"); kinds["Service"][svc] == nil {
						t.Errorf("%s: serviceName %q is not a Service in %s", where, svc, file)
					}
				}
				containers := list(d, "spec", "template", "spec", "containers")
				if len(containers) == 0 {
					t.Errorf("%s: no containers", where)
				}
				for _, c := range containers {
					if str(c, "image") == "" || str(c, "name") == "" {
						t.Errorf("%s: a container needs a name and an image", where)
					}
					for _, m := range list(c, "volumeMounts") {
						if volumes[str(m, "name")] == nil {
							t.Errorf("%s: mount %s has no volume", where, str(m, "name"))
						}
					}
					if strings.HasPrefix(str(c, "image"), "snowhub") {
						if p := str(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
							t.Errorf("%s: readiness probe %q, want /readyz", where, p)
						}
						if p := str(c, "livenessProbe", "httpGet", "path"); p != "/healthz" {
							t.Errorf("%s: liveness probe %q, want /healthz", where, p)
						}
					}
				}
				if labels["role"] == "owner" {
					if kind != "StatefulSet" || get(d, "spec", "replicas") != 1 {
						t.Errorf("%s: an owner hub is a StatefulSet of exactly one (its state is its own)", where)
					}
					if len(list(d, "spec", "volumeClaimTemplates")) == 0 {
						t.Errorf("%s: an owner hub keeps incidents and spool on its own volume", where)
					}
				}
			}
		}
		for name, d := range kinds["PodDisruptionBudget"] {
			sel, _ := get(d, "spec", "selector", "matchLabels").(obj)
			hit := false
			for _, l := range podLabels {
				ok := len(sel) > 0
				for k, v := range sel {
					ok = ok && l[k] == v
				}
				hit = hit || ok
			}
			if !hit {
				t.Errorf("%s PodDisruptionBudget/%s selects no workload", file, name)
			}
			if (get(d, "spec", "minAvailable") == nil) == (get(d, "spec", "maxUnavailable") == nil) {
				t.Errorf("%s PodDisruptionBudget/%s: exactly one of minAvailable and maxUnavailable", file, name)
			}
		}
		for name, d := range kinds["Service"] {
			sel, _ := get(d, "spec", "selector").(obj)
			hit := false
			for _, l := range podLabels {
				ok := len(sel) > 0
				for k, v := range sel {
					ok = ok && l[k] == v
				}
				hit = hit || ok
			}
			if !hit {
				t.Errorf("%s Service/%s selects no workload in the file", file, name)
			}
		}
	}
}
