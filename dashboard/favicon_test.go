package dashboard

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"io"
	"net/http"
	"testing"
)

// /favicon.ico is an image: an ICO whose one entry is a PNG that decodes.
func TestFaviconIsAnImage(t *testing.T) {
	s := startServer(t, 10, 16)
	resp, err := http.Get("http://" + s.Addr() + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/x-icon" || len(b) < 22 || !bytes.Equal(b[:4], []byte{0, 0, 1, 0}) {
		t.Fatalf("%d %q %x", resp.StatusCode, resp.Header.Get("Content-Type"), b[:min(len(b), 8)])
	}
	off := binary.LittleEndian.Uint32(b[18:22])
	img, err := png.Decode(bytes.NewReader(b[off:]))
	if err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("the icon's image: %v", err)
	}
}
