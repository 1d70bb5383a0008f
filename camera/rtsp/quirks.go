package rtsp

import (
	"bytes"
	"strings"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
)

// FixResponse corrects what cameras in the field send and gortsplib v4.16.2
// cannot read. It runs as the client's OnResponse hook, which sees every
// response before the client parses it; docs/cameras.md lists each quirk
// and the vendors that send it. Responses without an SDP body pass as is.
func FixResponse(res *base.Response) {
	if len(res.Body) == 0 || !isSDP(res.Header["Content-Type"]) {
		return
	}
	res.Body = FixSDP(res.Body)
}

func isSDP(ct base.HeaderValue) bool {
	return len(ct) == 1 && strings.HasPrefix(strings.TrimSpace(strings.ToLower(ct[0])), "application/sdp")
}

// FixSDP rewrites the lines of a session description that the SDP parser
// refuses, keeping every other byte as sent.
func FixSDP(body []byte) []byte {
	if !needsFix(body) {
		return body // the common case, read without allocating
	}
	lines := bytes.SplitAfter(body, []byte("\n"))
	changed := false
	out := make([][]byte, 0, len(lines))
	for _, l := range lines {
		content, eol := splitEOL(l)
		switch {
		case bytes.HasPrefix(content, []byte("o=")):
			// Uniview (宇视) and some Dahua firmware end the origin with
			// "IN " and no address type or address: the parser wants six
			// fields. The origin is informational for a client.
			if f := strings.Fields(string(content[2:])); len(f) < 6 {
				f = append(f, []string{"-", "0", "0", "IN", "IP4", "0.0.0.0"}[len(f):]...)
				content = []byte("o=" + strings.Join(f, " "))
				changed = true
			}
		case bytes.HasPrefix(content, []byte("c=")):
			// Uniview again: "c=IN " with no address. RTSP over TCP or
			// with SETUP's Transport header never uses it.
			if f := strings.Fields(string(content[2:])); len(f) < 3 {
				content = []byte("c=IN IP4 0.0.0.0")
				changed = true
			}
		case bytes.Equal(bytes.TrimSpace(content), []byte("a=sendonly")):
			// gortsplib v4 takes any "sendonly" media for an ONVIF back
			// channel (audio towards the camera) and refuses to set it up
			// unless back channels were requested. Cameras mark their own
			// video "sendonly" (which is right from their side); we never
			// request a back channel, so the attribute means nothing to us.
			changed = true
			continue
		}
		out = append(out, append(content, eol...))
	}
	if !changed {
		return body
	}
	return bytes.Join(out, nil)
}

// needsFix reports whether any line of body is one FixSDP rewrites.
func needsFix(body []byte) bool {
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimRight(line, "\r")
		switch {
		case bytes.HasPrefix(line, []byte("o=")):
			if fields(line[2:]) < 6 {
				return true
			}
		case bytes.HasPrefix(line, []byte("c=")):
			if fields(line[2:]) < 3 {
				return true
			}
		case bytes.Equal(bytes.TrimSpace(line), []byte("a=sendonly")):
			return true
		}
	}
	return false
}

// fields counts space-separated fields, as strings.Fields would.
func fields(b []byte) int {
	n, in := 0, false
	for _, c := range b {
		sp := c == ' ' || c == '\t'
		if !sp && !in {
			n++
		}
		in = !sp
	}
	return n
}

func splitEOL(l []byte) (content, eol []byte) {
	switch {
	case bytes.HasSuffix(l, []byte("\r\n")):
		return l[:len(l)-2], l[len(l)-2:]
	case bytes.HasSuffix(l, []byte("\n")):
		return l[:len(l)-1], l[len(l)-1:]
	}
	return l, nil
}

// responseHook is the client's OnResponse; the corpus tests turn it off to
// show what each quirk does to an unfixed client.
var responseHook = FixResponse
