package configs

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

const (
	// MaxFileSize caps what Load reads: a county's configuration with ten
	// thousand cameras is about 2 MiB.
	MaxFileSize = 8 << 20
	// maxDepth caps nesting; the deepest real key is four levels down.
	maxDepth = 32
)

// Load reads, validates and returns the configuration in the file at path.
// Its error is Errors when the file is not valid, listing every problem.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse builds a configuration from YAML: defaults in code, then the file,
// then environment variables, then secrets from *_file keys, then
// validation of the whole tree. name is used in error messages and to
// resolve relative *_file paths.
func Parse(name string, data []byte) (*Config, error) {
	p := &problems{file: name, lines: map[string]int{}}
	if len(data) > MaxFileSize {
		p.add("", "file is %d bytes; the limit is %d (8 MiB)", len(data), MaxFileSize)
		return nil, p.errs
	}
	if len(bytes.TrimSpace(data)) == 0 {
		p.addAt(1, "", "the file is empty; a configuration needs at least county, townships and users")
		return nil, p.errs
	}
	// YAML forbids tabs in indentation; say so plainly rather than yaml's
	// "found character that cannot start any token".
	for i, line := range bytes.Split(data, []byte("\n")) {
		trimmed := bytes.TrimLeft(line, " ")
		if len(trimmed) > 0 && trimmed[0] == '\t' {
			p.addAt(i+1, "", "tab in indentation: YAML indents with spaces")
		}
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		p.addAt(yamlErrLine(err), "", "%s", yamlErrMsg(err))
		return nil, p.errs
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		if depth(root.Content[0], 0) > maxDepth {
			p.addAt(root.Content[0].Line, "", "nested deeper than %d levels", maxDepth)
			return nil, p.errs
		}
		check(p, root.Content[0], reflect.TypeOf(Config{}), "")
	} else {
		p.addAt(1, "", "expected one YAML document with a mapping at the top")
	}
	// Unknown keys and wrong types do not stop the reading: the rest of
	// the file is decoded and validated too, so one run reports every
	// problem of the file (what -check promises). What follows from a key
	// already reported (a list that was a mapping, say) is not repeated.
	shape := len(p.errs)
	var cfg Config
	if err := root.Decode(&cfg); err != nil && shape == 0 {
		// check() validated every scalar already; this is a backstop.
		p.addAt(yamlErrLine(err), "", "%s", yamlErrMsg(err))
		return nil, p.errs
	}
	cfg.Path = name
	applyDefaults(&cfg)
	applyEnv(&cfg)
	readSecrets(p, &cfg, filepath.Dir(name))
	validate(p, &cfg)
	if shape > 0 {
		p.errs = append(p.errs[:shape:shape], consequential(p.errs[:shape], p.errs[shape:])...)
	}
	if len(p.errs) > 0 {
		return nil, p.errs.sorted()
	}
	return &cfg, nil
}

// consequential drops from later the problems about a key (or a key under
// it) that first already reports: they follow from it.
func consequential(first, later Errors) Errors {
	var out Errors
	for _, e := range later {
		follows := false
		for _, f := range first {
			if f.Path != "" && (e.Path == f.Path || strings.HasPrefix(e.Path, f.Path+".") || strings.HasPrefix(e.Path, f.Path+"[")) {
				follows = true
				break
			}
		}
		if !follows {
			out = append(out, e)
		}
	}
	return out
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func yamlErrMsg(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return strings.Join(te.Errors, "; ")
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return yamlLineRE.ReplaceAllString(strings.TrimPrefix(msg, "line "), "")
}

func depth(n *yaml.Node, d int) int {
	if d > maxDepth {
		return d
	}
	max := d
	for _, c := range n.Content {
		if x := depth(c, d+1); x > max {
			max = x
		}
	}
	return max
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	spanType     = reflect.TypeOf(Span{})
)

// check walks the YAML tree alongside the Go type it decodes into: it
// records each key's line, and reports unknown keys and values of the wrong
// type, all of them, with their paths.
func check(p *problems, n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		if _, ok := p.lines[path]; !ok {
			p.lines[path] = n.Line
		}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value: the default applies
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == spanType:
		if n.Kind != yaml.ScalarNode {
			p.addAt(n.Line, path, "expected a duration like 30m, 7d or 1wd")
			return
		}
		if _, err := ParseSpan(n.Value); err != nil {
			p.addAt(n.Line, path, "%s", err.Error())
		}
		return
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			p.addAt(n.Line, path, "expected a duration like 30s or 5m")
			return
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			p.addAt(n.Line, path, "%q is not a duration (use units: 500ms, 30s, 5m, 2h)", n.Value)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			p.addAt(n.Line, path, "expected a mapping of keys, found %s", kindName(n))
			return
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = f
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				p.addAt(k.Line, kp, "unknown key%s", suggest(k.Value, fields))
				continue
			}
			if seen[k.Value] {
				p.addAt(k.Line, kp, "key given twice")
			}
			seen[k.Value] = true
			p.lines[kp] = k.Line
			check(p, v, f.Type, kp)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.addAt(n.Line, path, "expected a list, found %s", kindName(n))
			return
		}
		for i, item := range n.Content {
			check(p, item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.addAt(n.Line, path, "expected a mapping, found %s", kindName(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			kp := join(path, k.Value)
			p.lines[kp] = k.Line
			check(p, n.Content[i+1], t.Elem(), kp)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			p.addAt(n.Line, path, "expected text, found %s", kindName(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			p.addAt(n.Line, path, "expected true or false, found %s", valueName(n))
		}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			p.addAt(n.Line, path, "expected a whole number, found %s", valueName(n))
		}
	case reflect.Float64, reflect.Float32:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			p.addAt(n.Line, path, "expected a number, found %s", valueName(n))
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return valueName(n)
	}
}

func valueName(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return strconv.Quote(v)
}

// suggest names the known key closest to an unknown one (a typo, usually).
func suggest(key string, fields map[string]reflect.StructField) string {
	best, bestD := "", 3
	for k := range fields {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if unicode.ToLower(rune(a[i-1])) == unicode.ToLower(rune(b[j-1])) {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
