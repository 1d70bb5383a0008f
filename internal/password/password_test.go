package password

import (
	"bytes"
	"strings"
	"testing"
)

// fast keeps the tests quick; the parameters travel with the hash.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h, err := Hash("Xuelang-2026", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	if err := Verify(h, "Xuelang-2026"); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := Verify(h, "Xuelang-2027"); err != ErrMismatch {
		t.Errorf("wrong password: %v", err)
	}
	h2, _ := Hash("Xuelang-2026", fast)
	if h2 == h {
		t.Error("two hashes of one password are equal: no fresh salt")
	}
}

// The hub's own parameters, at their real cost.
func TestVerifyDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB hash")
	}
	h, err := Hash("Changwu#2026", Default)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=2$") {
		t.Errorf("default parameters: %s", h)
	}
	if err := Verify(h, "Changwu#2026"); err != nil {
		t.Error(err)
	}
}

func TestParse(t *testing.T) {
	good, _ := Hash("Xuelang-2026", fast)
	salt := "c2FsdHNhbHRzYWx0c2FsdA"                     // 16 bytes
	key := "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U" // 32 bytes
	for _, c := range []struct {
		in, want string
	}{
		{good, ""},
		{"", "PHC"},
		{"hunter2", "PHC"},
		{"$2y$10$abcdefghijklmnopqrstuv", "PHC"},
		{"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, "argon2id"},
		{"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, "v=19"},
		{"$argon2id$v=19$m=64,t=1$" + salt + "$" + key, "m, t and p"},
		{"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key, "t must"},
		{"$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key, "m must"},
		{"$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key, "unknown parameter"},
		{"$argon2id$v=19$m=64,t=1,p=1$!!$" + key, "salt"},
		{"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$c2hvcnQ", "hash"},
	} {
		_, err := Parse(c.in)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: %v, want it to say %q", c.in, err, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		pw   string
		want []string // in the error; nil: passes
	}{
		{"Xuelang-2026", nil},
		{"xuelang2026!", nil},
		{"雪亮工程Ab12", nil}, // Han characters count as symbols here, not as letters of a case
		{"Ab1!", []string{"至少 8 个字符", "at least 8 characters (it has 4)"}},
		{"xuelanggongcheng", []string{"缺：大写字母、数字、符号", "missing: upper-case letters, digits, symbols"}},
		{"Xuelanggongcheng", []string{"missing: digits, symbols"}},
		{"abc", []string{"at least 8 characters", "missing: upper-case letters, digits, symbols"}},
		{"Xuelang\t2026", []string{"tabs"}},
		{strings.Repeat("Ab1!", 70), []string{"at most 256"}},
	} {
		err := Check(c.pw)
		if c.want == nil {
			if err != nil {
				t.Errorf("%q: %v", c.pw, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q passes", c.pw)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: %v, want %q", c.pw, err, w)
			}
		}
		if !strings.HasPrefix(err.Error(), "密码不符合规则") && !strings.HasPrefix(err.Error(), "密码不能") {
			t.Errorf("%q: not Chinese first: %v", c.pw, err)
		}
	}
}

func TestCommand(t *testing.T) {
	for _, c := range []struct {
		in, errWant string
	}{
		{"Xuelang-2026\n", ""},
		{"Xuelang-2026\r\n", ""},
		{"Xuelang-2026", ""},
		{"", "no password"},
		{"short\n", "at least 8"},
	} {
		var out bytes.Buffer
		err := Command(strings.NewReader(c.in), &out, fast)
		if c.errWant != "" {
			if err == nil || !strings.Contains(err.Error(), c.errWant) {
				t.Errorf("%q: %v, want %q", c.in, err, c.errWant)
			}
			if out.Len() != 0 {
				t.Errorf("%q: printed %q on error", c.in, out.String())
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		h := strings.TrimSpace(out.String())
		if err := Verify(h, "Xuelang-2026"); err != nil {
			t.Errorf("%q: printed %q, which does not verify: %v", c.in, h, err)
		}
		if strings.Contains(out.String(), "Xuelang") {
			t.Error("the password was echoed")
		}
	}
}
