package configs

import (
	"net/url"
	"regexp"
	"strings"
)

// SubstreamAuto asks for the sub-stream to be derived from the main
// stream's URL, for the URL schemes of the common vendors.
const SubstreamAuto = "auto"

var (
	hikChannel = regexp.MustCompile(`(?i)(/Streaming/(?:Channels|tracks)/\d*?)01(/|$|\?)`)
	hikPath    = regexp.MustCompile(`(?i)(/h26[45]/ch\d+/)main(/av_stream)`)
	univiewVid = regexp.MustCompile(`(?i)(/media/video)1(/|$|\?)`)
)

// DeriveSubstream gives the sub-stream URL of a main-stream URL in the
// forms Hikvision (…/Streaming/Channels/101 → 102, …/h264/ch1/main/av_stream
// → sub), Dahua (…/cam/realmonitor?channel=1&subtype=0 → subtype=1) and
// Uniview (…/media/video1 → video2) use; ok is false for any other form.
func DeriveSubstream(main string) (string, bool) {
	switch {
	case hikChannel.MatchString(main):
		return hikChannel.ReplaceAllString(main, "${1}02${2}"), true
	case hikPath.MatchString(main):
		return hikPath.ReplaceAllString(main, "${1}sub${2}"), true
	case univiewVid.MatchString(main):
		return univiewVid.ReplaceAllString(main, "${1}2${2}"), true
	}
	if u, err := url.Parse(main); err == nil && strings.Contains(strings.ToLower(u.Path), "realmonitor") {
		q := u.Query()
		if q.Get("subtype") == "0" || q.Get("subtype") == "" {
			// Keep the query's order and spelling: replace in the raw text.
			switch {
			case strings.Contains(u.RawQuery, "subtype=0"):
				u.RawQuery = strings.Replace(u.RawQuery, "subtype=0", "subtype=1", 1)
			default:
				u.RawQuery += "&subtype=1"
			}
			return u.String(), true
		}
	}
	return "", false
}
