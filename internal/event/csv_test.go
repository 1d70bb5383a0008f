package event

import "testing"

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://evil.example","点我")`: `'=HYPERLINK("http://evil.example","点我")`,
		"+86 138": "'+86 138", "@SUM(1+1)": "'@SUM(1+1)", "-2 号": "'-2 号", "-": "'-", "\tx": "'\tx", "\rx": "'\rx",
		"-2": "-2", "-0.5000": "-0.5000", "-1e5": "'-1e5", "312国道": "312国道", "": "", "a=b": "a=b", "0.5000": "0.5000",
	} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
