package password

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AccountMinLength is the length an account's password needs when a
// person sets it in the hub (issue policy: ≥ 10 characters), above the
// MinLength the configuration's hashes are held to.
const AccountMinLength = 10

//go:embed common.txt
var commonList string

// common is the shipped list of passwords a guesser tries first
// (common.txt), in the normal form of normalize.
var common = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(commonList, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m[normalize(l)] = true
	}
	return m
}()

// lookAlike reads the symbols people put for letters as those letters.
var lookAlike = strings.NewReplacer("@", "a", "0", "o", "1", "i", "3", "e", "$", "s", "!", "i", "5", "s", "7", "t")

func normalize(s string) string { return lookAlike.Replace(strings.ToLower(s)) }

// CheckAccount says what pw lacks as the password of the account name:
// the rules of Check, at least AccountMinLength characters, not the name
// (nor containing it), and not a common password, even dressed with
// digits and symbols before or after it ("Admin@12345", "Qwer1234!@").
// In Chinese then English; nil when it passes.
func CheckAccount(name, pw string) error {
	var zh, en []string
	if err := Check(pw); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(pw); n < AccountMinLength {
		zh = append(zh, fmt.Sprintf("至少 %d 个字符（现有 %d 个）", AccountMinLength, n))
		en = append(en, fmt.Sprintf("at least %d characters (it has %d)", AccountMinLength, n))
	}
	if name != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(name)) {
		zh = append(zh, "不能含用户名")
		en = append(en, "it cannot contain the account's name")
	}
	if isCommon(pw) {
		zh = append(zh, "是常见密码（加上数字或符号也一样好猜）")
		en = append(en, "it is a common password (digits or symbols around it do not make it harder to guess)")
	}
	if len(zh) == 0 {
		return nil
	}
	return fmt.Errorf("密码不符合规则：%s / the password does not meet the rules: %s", strings.Join(zh, "；"), strings.Join(en, "; "))
}

// isCommon: pw, or pw with its leading and trailing digits and symbols
// cut, or pw's letters and digits alone, is on the list (each in the
// normal form, and each also before the look-alikes are read).
func isCommon(pw string) bool {
	low := strings.ToLower(pw)
	notLetter := func(r rune) bool { return !unicode.IsLetter(r) }
	alnum := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, low)
	for _, c := range []string{low, strings.TrimFunc(low, notLetter), alnum, strings.TrimFunc(alnum, notLetter)} {
		if c == "" {
			continue
		}
		if common[c] || common[normalize(c)] || common[strings.TrimFunc(normalize(c), notLetter)] {
			return true
		}
	}
	return false
}
