package dashboard

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sync"
)

// favicon is the hub's icon, a 32×32 ICO holding one PNG: a white lens on
// the wall's blue, drawn once. Browsers ask for /favicon.ico on every page
// load; without it each load logged a 404.
var favicon = sync.OnceValue(func() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	blue, white := color.NRGBA{0x1f, 0x6f, 0xeb, 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := x-n/2, y-n/2
			switch d := dx*dx + dy*dy; {
			case d <= 25:
				img.Set(x, y, blue)
			case d <= 100:
				img.Set(x, y, white)
			default:
				img.Set(x, y, blue)
			}
		}
	}
	var p bytes.Buffer
	_ = png.Encode(&p, img)
	var b bytes.Buffer
	// ICONDIR (reserved, type 1 = icon, one image), then its entry:
	// width, height, colours, reserved, planes, bits, size, offset.
	_ = binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1})
	b.Write([]byte{n, n, 0, 0})
	_ = binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})
	_ = binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(p.Len()), 22})
	b.Write(p.Bytes())
	return b.Bytes()
})

func serveFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(favicon())
}
