package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// The pages and their scripts are served from the binary, compressed once
// at start and tagged by content: a wall PC on a township's slow link
// downloads the ECharts bundle (578 KiB) once as 190-odd KiB, and after
// that only asks whether it changed (304). The files are fixed at build
// time, so compressing them per request (a gzip middleware) would redo the
// same work on every load.

type asset struct {
	raw, gz []byte
	etag    string
	ctype   string
}

type assets map[string]*asset

// loadAssets reads every file of fsys, compressing those worth it.
func loadAssets(fsys fs.FS) (assets, error) {
	out := assets{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(name, ".test.mjs") {
			return nil // the scripts' tests sit beside them; they are not pages
		}
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		a := &asset{raw: raw, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: mime.TypeByExtension(path.Ext(name))}
		if a.ctype == "" {
			a.ctype = http.DetectContentType(raw)
		}
		if compressible(a.ctype) && len(raw) > 512 {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			zw.Write(raw)
			zw.Close()
			if b.Len() < len(raw) {
				a.gz = b.Bytes()
			}
		}
		out[name] = a
		return nil
	})
	return out, err
}

func compressible(ctype string) bool {
	for _, p := range []string{"text/", "application/javascript", "application/json", "image/svg+xml"} {
		if strings.HasPrefix(ctype, p) {
			return true
		}
	}
	return false
}

// serve answers with the named file: compressed when the browser takes
// gzip, 304 when its copy is current. Pages and scripts are revalidated on
// every load (no-cache), so a new version of the hub is seen at once.
func (a assets) serve(w http.ResponseWriter, r *http.Request, name string) {
	f := a[name]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding")
	body := f.raw
	etag := f.etag
	if f.gz != nil && acceptsGzip(r) {
		body = f.gz
		etag = strings.TrimSuffix(f.etag, `"`) + `-gz"` // another representation, another tag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
