package event

import (
	"strings"
	"unicode"
)

// Bilingual is a note or reason the hub writes itself, in both languages:
// "中文 / English". The pages show the half of their language (the same
// shape their inLang reads, dashboard/web/js/common.js); messages to
// people carry the Chinese half only (Chinese); logs and the API keep both.
// zh must not contain '/', and en is plain ASCII, or the text does not
// split again and is shown whole.
func Bilingual(zh, en string) string { return zh + " / " + en }

// SplitBilingual splits a text made by Bilingual into its halves: a part
// with Chinese and no '/', a " / ", a part of printable ASCII. ok is false,
// and zh and en are both s, for any other text (a person's own words are
// never cut).
func SplitBilingual(s string) (zh, en string, ok bool) {
	i := strings.IndexByte(s, '/')
	if i <= 0 || i == len(s)-1 {
		return s, s, false
	}
	head, tail := s[:i], s[i+1:]
	zh, en = strings.TrimRightFunc(head, unicode.IsSpace), strings.TrimLeftFunc(tail, unicode.IsSpace)
	if len(zh) == len(head) || len(en) == len(tail) || en == "" || !strings.ContainsFunc(zh, isHan) {
		return s, s, false
	}
	for _, c := range en {
		if c < 0x20 || c > 0x7e {
			return s, s, false
		}
	}
	return zh, en, true
}

// Chinese is the part of a note a person's message carries: the Chinese
// half of a Bilingual text, any other text as it is.
func Chinese(s string) string {
	zh, _, _ := SplitBilingual(s)
	return zh
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }
