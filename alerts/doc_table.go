package alerts

import (
	"fmt"
	"strings"
)

// TransitionTableMarkdown renders the transition table for docs/incidents.md
// (a test keeps the two the same).
func TransitionTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| action | from | to | who | needs | starts | ends |\n|---|---|---|---|---|---|---|\n")
	dash := func(s []string) string {
		if len(s) == 0 {
			return "–"
		}
		return strings.Join(s, ", ")
	}
	for _, t := range Transitions {
		to := t.To
		if to == "" {
			to = "(same)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", t.Action, dash(t.From), to, t.Who, dash(t.Needs), dash(t.Starts), dash(t.Ends))
	}
	return b.String()
}
