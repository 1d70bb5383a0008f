package login

import (
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpOpts are what authenticator apps use by default (RFC 6238: 30 s,
// 6 digits, SHA-1), one step either side for a phone's clock.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// checkOTP reports whether code is the account's code at now (one step of
// clock either side), and not one already used: a code seen over a
// shoulder or in a proxy's log cannot log in a second time.
func (s *Service) checkOTP(name, secret, code string, now time.Time) bool {
	step := now.Unix() / int64(totpOpts.Period)
	matched := int64(-1)
	for d := -int64(totpOpts.Skew); d <= int64(totpOpts.Skew); d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*int64(totpOpts.Period), 0), totpOpts)
		if err != nil {
			return false
		}
		if equal(want, code) {
			matched = step + d
		}
	}
	if matched < 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if matched <= s.lastStep[name] {
		return false
	}
	s.lastStep[name] = matched
	return true
}

// Spend marks code, just shown to enrol name's second factor, as used: it
// cannot log in a second time either.
func (s *Service) Spend(name, code string) {
	if acc, ok := s.o.Accounts(name); ok && acc.TOTPSecret != "" {
		s.checkOTP(name, acc.TOTPSecret, code, s.o.Now())
	}
}
