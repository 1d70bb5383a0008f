package dashboard

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The pages' files go out compressed when the browser takes it, with a tag
// per representation, and a current copy is answered 304 without a body.
func TestAssetsCompressedAndTagged(t *testing.T) {
	static, _ := fs.Sub(webFS, "web")
	a, err := loadAssets(static)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name, enc, etag string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/static/"+name, nil)
		if enc != "" {
			r.Header.Set("Accept-Encoding", enc)
		}
		if etag != "" {
			r.Header.Set("If-None-Match", etag)
		}
		w := httptest.NewRecorder()
		a.serve(w, r, name)
		return w
	}
	if _, ok := a["js/actions.test.mjs"]; !ok {
		if _, err := fs.Stat(static, "js/actions.test.mjs"); err != nil {
			t.Fatalf("the scripts' tests are not beside them: %v", err)
		}
	} else {
		t.Error("a script's test is served as a page file")
	}
	raw, _ := fs.ReadFile(static, "js/wall.js")
	plain := get("js/wall.js", "", "")
	if plain.Code != 200 || !bytes.Equal(plain.Body.Bytes(), raw) || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("without gzip: %d, %d bytes, encoding %q", plain.Code, plain.Body.Len(), plain.Header().Get("Content-Encoding"))
	}
	if ct := plain.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("content type %q", ct)
	}
	z := get("js/wall.js", "br, gzip;q=0.8", "")
	if z.Code != 200 || z.Header().Get("Content-Encoding") != "gzip" || z.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("with gzip: %d %v", z.Code, z.Header())
	}
	zr, err := gzip.NewReader(z.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, raw) {
		t.Fatal("the compressed body is not the file")
	}
	if z.Body.Len() >= len(raw)/2 {
		t.Errorf("wall.js compressed to %d of %d bytes", z.Body.Len(), len(raw))
	}
	if z.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Error("the two representations share a tag")
	}
	if w := get("js/wall.js", "gzip", z.Header().Get("ETag")); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("a current copy: %d with %d bytes", w.Code, w.Body.Len())
	}
	if w := get("js/wall.js", "gzip;q=0", ""); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent to a browser refusing it")
	}
	if w := get("nope.js", "gzip", ""); w.Code != 404 {
		t.Errorf("a missing file: %d", w.Code)
	}
}
