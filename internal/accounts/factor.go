package accounts

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"go.etcd.io/bbolt"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// A second factor a person enrols themselves (TOTP, RFC 6238, in any
// authenticator app) with ten one-time recovery codes, for an account of
// the hub's or of the configuration (whose file has no totp_secret for
// it): the person's own act, not an edit of the account.

// Factor is a person's enrolled second factor.
type Factor struct {
	Name     string    `json:"name"`
	Secret   string    `json:"secret"`   // base32
	Recovery []string  `json:"recovery"` // SHA-256 (hex) of each unused recovery code
	Enrolled time.Time `json:"enrolled"`
}

// Audit actions of second factors.
const (
	AuditFactorEnrolled = "totp_enrolled"
	AuditFactorReset    = "totp_reset"
	AuditRecoveryUsed   = "recovery_code_used"
)

var factorBucket = []byte("factors")

// RecoveryCodes is how many recovery codes an enrolment gives.
const RecoveryCodes = 10

// enrolFor is how long a started enrolment waits for its first code.
const enrolFor = 10 * time.Minute

type pending struct {
	secret  string
	expires time.Time
}

// Enrolment is a started enrolment: the secret for the person's app, as
// text, as an otpauth:// address and as a QR code (a PNG data URL).
type Enrolment struct {
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
	QR     string `json:"qr"`
}

var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Factor is name's enrolled factor.
func (s *Store) Factor(name string) (Factor, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, ok := s.factors[name]
	return f, ok
}

// BeginEnrol starts an enrolment for name, named issuer in the app; a
// name that has a factor must have it reset first (409).
func (s *Store) BeginEnrol(name, issuer string) (Enrolment, error) {
	if _, ok := s.Factor(name); ok {
		return Enrolment{}, event.Refuse(event.ErrConflict, "已启用动态口令；换手机须由安全管理员重置 / a second factor is enrolled: to move it to a new phone, the security administrator resets it")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: name, Period: 30, Digits: otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return Enrolment{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrolment{}, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return Enrolment{}, err
	}
	s.mu.Lock()
	now := s.o.Now()
	for n, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, n)
		}
	}
	s.pending[name] = pending{secret: key.Secret(), expires: now.Add(enrolFor)}
	s.mu.Unlock()
	return Enrolment{Secret: key.Secret(), URL: key.URL(), QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())}, nil
}

// ConfirmEnrol ends the enrolment of p with the first code of the app:
// the factor is kept, and the recovery codes returned (shown once).
func (s *Store) ConfirmEnrol(p auth.Principal, code string) ([]string, error) {
	now := s.o.Now()
	s.mu.Lock()
	pe, ok := s.pending[p.Name]
	s.mu.Unlock()
	if !ok || now.After(pe.expires) {
		return nil, event.Refuse(event.ErrConflict, "没有进行中的绑定或已超过 10 分钟，请重新开始 / no enrolment started, or it is over 10 minutes old: start again")
	}
	if good, _ := totp.ValidateCustom(strings.TrimSpace(code), pe.secret, now, totpOpts); !good {
		return nil, event.Refuse(event.ErrBadRequest, "动态口令不对：请看手机上的时间是否准确 / wrong code: check the phone's clock")
	}
	codes := make([]string, RecoveryCodes)
	f := Factor{Name: p.Name, Secret: pe.secret, Enrolled: now.UTC()}
	for i := range codes {
		c, err := recoveryCode()
		if err != nil {
			return nil, err
		}
		codes[i] = c
		f.Recovery = append(f.Recovery, hashCode(c))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.factors[p.Name]; ok {
		return nil, event.Refuse(event.ErrConflict, "已启用动态口令 / a second factor is enrolled already")
	}
	if err := s.putFactor(f); err != nil {
		return nil, err
	}
	delete(s.pending, p.Name)
	s.audit(p, AuditFactorEnrolled, p.Name, fmt.Sprintf("动态口令已绑定，%d 个恢复码 / TOTP enrolled, %d recovery codes", RecoveryCodes, RecoveryCodes))
	return codes, nil
}

// ResetFactor removes name's factor (a lost phone): the security
// administrator's; the next login enrols again.
func (s *Store) ResetFactor(by auth.Principal, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.factors[name]; !ok {
		return event.Refuse(event.ErrNotFound, "%s 没有在平台绑定动态口令 / %s has no second factor enrolled in the hub", name, name)
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(factorBucket).Delete([]byte(name)) }); err != nil {
		return fmt.Errorf("动态口令未重置 / second factor not reset: %w", err)
	}
	delete(s.factors, name)
	s.audit(by, AuditFactorReset, name, "已重置，下次登录重新绑定 / reset: enrolled again at the next login")
	return nil
}

// UseRecovery spends one of name's recovery codes in place of a TOTP
// code: true when it was one, unused.
func (s *Store) UseRecovery(name, code string) bool {
	h := hashCode(normalizeCode(code))
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.factors[name]
	if !ok {
		return false
	}
	i := -1
	for n, r := range f.Recovery {
		if equalHex(r, h) {
			i = n
		}
	}
	if i < 0 {
		return false
	}
	f.Recovery = append(f.Recovery[:i:i], f.Recovery[i+1:]...)
	if err := s.putFactor(f); err != nil {
		s.o.Logger.Error("恢复码未作废，拒绝登录 (recovery code not spent: login refused)", "name", name, "err", err)
		return false
	}
	s.audit(auth.Principal{Name: name}, AuditRecoveryUsed, name, fmt.Sprintf("用恢复码登录，剩 %d 个 / logged in with a recovery code, %d left", len(f.Recovery), len(f.Recovery)))
	return true
}

func (s *Store) putFactor(f Factor) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(factorBucket).Put([]byte(f.Name), b) }); err != nil {
		return fmt.Errorf("动态口令未保存 / second factor not saved: %w", err)
	}
	s.factors[f.Name] = f
	return nil
}

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// recoveryCode is 10 characters of base32 in two groups (50 bits: a hash
// needs no stretching at that strength, and a login tries one at a time).
func recoveryCode() (string, error) {
	b := make([]byte, 7)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	c := strings.ToLower(base32NoPad.EncodeToString(b))[:10]
	return c[:5] + "-" + c[5:], nil
}

func normalizeCode(c string) string {
	c = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(c), " ", ""))
	if len(c) == 10 && !strings.Contains(c, "-") {
		c = c[:5] + "-" + c[5:]
	}
	return c
}

func hashCode(c string) string { h := sha256.Sum256([]byte(c)); return hex.EncodeToString(h[:]) }

func equalHex(a, b string) bool {
	x, _ := hex.DecodeString(a)
	y, _ := hex.DecodeString(b)
	return len(x) == 32 && bytes.Equal(x, y) // hashes of random codes: equal time is not needed
}
