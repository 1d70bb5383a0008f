package configs

import (
	"errors"
	"fmt"
	"strings"
)

// WhereOnly says where the problems of err are, "FILE:LINE: key.path" each,
// without the messages, which may quote a value (a password in a broker
// URL, a token of the wrong type). It is what may be shown to anyone who
// can reach /readyz; the whole error goes to the log.
func WhereOnly(err error) string {
	var es Errors
	if !errors.As(err, &es) {
		var e *Error
		if !errors.As(err, &e) {
			return "the configuration is not valid"
		}
		es = Errors{e}
	}
	parts := make([]string, 0, len(es))
	for _, e := range es {
		var b strings.Builder
		b.WriteString(baseName(e.File))
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		switch {
		case e.Path != "":
			b.WriteString(": " + e.Path)
		case e.Line > 0:
			b.WriteString(": syntax")
		default:
			b.WriteString(": the file")
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "; ")
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}
