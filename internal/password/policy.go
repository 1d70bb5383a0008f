package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MinLength and MinClasses are the hub's password rules (等级保护 2.0 level
// 3 asks for complexity): at least MinLength characters, of at least
// MinClasses of upper-case letters, lower-case letters, digits and symbols.
const (
	MinLength  = 8
	MinClasses = 3
	// MaxLength bounds what is hashed: argon2 takes any length, but a
	// megabyte "password" is a request to make the hub busy.
	MaxLength = 256
)

// Check says what password lacks under the rules, in Chinese then English;
// nil when it passes.
func Check(password string) error {
	n := utf8.RuneCountInString(password)
	var upper, lower, digit, symbol bool
	for _, r := range password {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsSpace(r) && r != ' ':
			return fmt.Errorf("密码不能含控制或换行字符 / a password cannot hold tabs, line breaks or control characters")
		case unicode.IsControl(r):
			return fmt.Errorf("密码不能含控制或换行字符 / a password cannot hold tabs, line breaks or control characters")
		default:
			symbol = true
		}
	}
	var zh, en []string
	if n < MinLength {
		zh = append(zh, fmt.Sprintf("至少 %d 个字符（现有 %d 个）", MinLength, n))
		en = append(en, fmt.Sprintf("at least %d characters (it has %d)", MinLength, n))
	}
	if n > MaxLength {
		zh = append(zh, fmt.Sprintf("至多 %d 个字符", MaxLength))
		en = append(en, fmt.Sprintf("at most %d characters", MaxLength))
	}
	classes := 0
	var missZh, missEn []string
	for _, c := range []struct {
		has    bool
		zh, en string
	}{{upper, "大写字母", "upper-case letters"}, {lower, "小写字母", "lower-case letters"}, {digit, "数字", "digits"}, {symbol, "符号", "symbols"}} {
		if c.has {
			classes++
		} else {
			missZh, missEn = append(missZh, c.zh), append(missEn, c.en)
		}
	}
	if classes < MinClasses {
		zh = append(zh, fmt.Sprintf("大写字母、小写字母、数字、符号中至少 %d 类（缺：%s）", MinClasses, strings.Join(missZh, "、")))
		en = append(en, fmt.Sprintf("at least %d of upper-case letters, lower-case letters, digits and symbols (missing: %s)", MinClasses, strings.Join(missEn, ", ")))
	}
	if len(zh) == 0 {
		return nil
	}
	return fmt.Errorf("密码不符合规则：%s / the password does not meet the rules: %s", strings.Join(zh, "；"), strings.Join(en, "; "))
}
