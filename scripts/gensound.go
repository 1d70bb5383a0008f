//go:build ignore

// gensound writes the wall's alarm sounds (dashboard/web/sound/*.wav):
// short 8 kHz, 8-bit mono tone patterns, synthesised here so the pages carry
// no third-party audio and play offline. Run: go run scripts/gensound.go
package main

import (
	"bytes"
	"encoding/binary"
	"log"
	"math"
	"os"
	"path/filepath"
)

const rate = 8000

// tone is a frequency (0: silence) held for a duration in seconds.
type tone struct{ hz, sec float64 }

func render(pattern []tone) []byte {
	var pcm []byte
	for _, t := range pattern {
		n := int(t.sec * rate)
		for i := 0; i < n; i++ {
			v := 0.0
			if t.hz > 0 {
				// a square-ish wave (fundamental and third harmonic) carries
				// through a noisy room better than a sine; 5 ms ramps, no clicks.
				x := 2 * math.Pi * t.hz * float64(i) / rate
				v = 0.8*math.Sin(x) + 0.25*math.Sin(3*x)
				ramp := math.Min(1, math.Min(float64(i), float64(n-i))/(0.005*rate))
				v *= 0.7 * ramp
			}
			pcm = append(pcm, byte(128+int(math.Round(v*127))))
		}
	}
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + len(pcm)))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1)) // PCM
	w(uint16(1)) // mono
	w(uint32(rate))
	w(uint32(rate)) // byte rate
	w(uint16(1))    // block align
	w(uint16(8))    // bits
	b.WriteString("data")
	w(uint32(len(pcm)))
	b.Write(pcm)
	return b.Bytes()
}

func main() {
	sounds := map[string][]tone{
		// critical: a fast two-tone siren, looped with a short gap
		"critical": {{988, .18}, {740, .18}, {988, .18}, {740, .18}, {988, .18}, {740, .18}, {0, .35}},
		// major: two beeps, then a pause
		"major": {{880, .22}, {0, .12}, {880, .22}, {0, 1.2}},
		// minor: one soft chime
		"minor": {{660, .25}, {0, .1}, {523, .35}, {0, .3}},
	}
	dir := filepath.Join("dashboard", "web", "sound")
	for name, p := range sounds {
		if err := os.WriteFile(filepath.Join(dir, name+".wav"), render(p), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
