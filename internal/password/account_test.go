package password

import (
	"strings"
	"testing"
)

func TestCheckAccount(t *testing.T) {
	for _, c := range []struct {
		name, pw string
		want     string // a word the refusal holds; "": accepted
	}{
		{"lihua", "Tiger#Lake2026", ""},
		{"lihua", "Xiang gong 7 village", ""},
		{"lihua", "Sh#1a", "至少 8"},         // Check's rule first
		{"lihua", "Abcdef#12", "至少 10"},    // 9: fine for a hash in the file, not for an account
		{"lihua", "Lihua#20261", "用户名"},    // contains the name, in any case
		{"lihua", "Admin@12345", "常见密码"},   // a list word dressed in digits and symbols
		{"lihua", "P@ssw0rd123", "常见密码"},   // look-alikes read as letters
		{"lihua", "Qwer1234!@", "常见密码"},    // a keyboard walk
		{"lihua", "1qaz@WSX3edc", "常见密码"},  // the walk with a symbol inside
		{"lihua", "Woaini1314!", "常见密码"},   // pinyin habits
		{"lihua", "Zhang#123456", "常见密码"},  // a surname and a run of digits
		{"lihua", "Xueliang@2026", "常见密码"}, // the system's own name
		{"lihua", "abcdefghij", "至少 3 类"},  // one class only
	} {
		err := CheckAccount(c.name, c.pw)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q refused: %v", c.pw, err)
		case c.want != "" && err == nil:
			t.Errorf("%q accepted, want a refusal naming %q", c.pw, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%q: %v, want it to name %q", c.pw, err, c.want)
		}
	}
}
