package configs

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a configuration file, printed the way editors and
// CI logs link to it: FILE:LINE: key.path: message.
type Error struct {
	File string
	Line int // 0 when unknown (a configuration built in code)
	Path string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Path < es[j].Path
	})
	return es
}

// problems collects errors against the file's key positions.
type problems struct {
	file  string
	lines map[string]int // key path → line of its value
	errs  Errors
}

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: p.line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) addAt(line int, path, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// line finds the line of path, or of its closest known parent (a missing
// key is reported where its parent is).
func (p *problems) line(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}
