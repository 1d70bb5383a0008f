package configs

import (
	"encoding/json"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// minSecret is the shortest value treated as a secret when redacting: a
// shorter one would blank out ordinary words.
const minSecret = 4

// Secrets lists the secret values of the configuration: every string field
// whose key names a token, password, secret or key (not a *_file path), the
// password part of an InfluxDB 1.8 "user:password" token, and the password
// of any URL with credentials (cameras' RTSP URLs, a broker URL). Sections
// added later are covered by their key names.
func (c *Config) Secrets() []string {
	set := map[string]bool{}
	add := func(s string) {
		if len(s) >= minSecret {
			set[s] = true
		}
	}
	var walk func(v reflect.Value, secret bool)
	walk = func(v reflect.Value, secret bool) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), secret)
			}
		case reflect.Struct:
			t := v.Type()
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				name := strings.ToLower(strings.Split(f.Tag.Get("yaml"), ",")[0])
				walk(v.Field(i), isSecretKey(name))
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), secret)
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				ks := ""
				if k.Kind() == reflect.String {
					ks = strings.ToLower(k.String())
				}
				walk(v.MapIndex(k), secret || isSecretKey(ks))
			}
		case reflect.String:
			s := v.String()
			if secret {
				add(s)
				if i := strings.IndexByte(s, ':'); i >= 0 { // InfluxDB 1.8 user:password
					add(s[i+1:])
				}
			}
			// A robot's webhook URL carries its credential in the query
			// (DingTalk access_token, WeCom key).
			if strings.Contains(s, "://") && (strings.Contains(s, "access_token=") || strings.Contains(s, "key=")) {
				if u, err := url.Parse(s); err == nil {
					add(u.Query().Get("access_token"))
					add(u.Query().Get("key"))
				}
			}
			if strings.Contains(s, "://") && strings.Contains(s, "@") {
				if u, err := url.Parse(s); err == nil && u.User != nil {
					if p, ok := u.User.Password(); ok {
						add(p)
						add(url.QueryEscape(p))
					}
				}
			}
		}
	}
	walk(reflect.ValueOf(c), false)
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func isSecretKey(name string) bool {
	if name == "" || strings.HasSuffix(name, "_file") || strings.HasSuffix(name, "_env") {
		return false
	}
	for _, w := range []string{"token", "password", "passwd", "secret", "webhook", "signature"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	// api_key, app_key, access_key; not "key" (a key crossing) or "keys".
	return name != "key" && strings.HasSuffix(name, "key")
}

// Redactor replaces secret values with "***" in text, as written and as
// JSON or Go quoting escapes them.
type Redactor struct{ r *strings.Replacer }

// NewRedactor redacts the given secrets.
func NewRedactor(secrets []string) *Redactor {
	var pairs []string
	seen := map[string]bool{}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		b, _ := json.Marshal(s)
		for _, form := range []string{s, string(b[1 : len(b)-1]), strings.Trim(strconv.Quote(s), `"`)} {
			if len(form) >= minSecret && !seen[form] {
				seen[form] = true
				pairs = append(pairs, form, "***")
			}
		}
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// String is s with every secret replaced.
func (r *Redactor) String(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}
