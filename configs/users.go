package configs

import (
	"encoding/base32"
	"slices"
	"strings"
	"time"

	"snowhub/internal/password"
)

// MinTOTPSecretBytes is the shortest second-factor secret accepted: RFC
// 4226 asks for 128 bits and recommends 160.
const MinTOTPSecretBytes = 16

// TOTPEnvName is the variable that overrides a user's second-factor
// secret: SNOWHUB_USER_<NAME>_TOTP.
func TOTPEnvName(user string) string {
	return strings.TrimSuffix(EnvName(user), "_TOKEN") + "_TOTP"
}

// TOTPKey decodes a base32 TOTP secret as authenticator apps write it
// (upper or lower case, spaces and padding optional).
func TOTPKey(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(secret))
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(s, "="))
}

// validateAuth checks the sessions' and the lockout's settings (zero
// ones were given their defaults).
func validateAuth(p *problems, a AuthConfig) {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"idle_timeout", a.IdleTimeout}, {"session_lifetime", a.SessionLifetime}, {"lockout_window", a.LockoutWindow}, {"lockout_for", a.LockoutFor}} {
		if d.v <= 0 {
			p.add("auth."+d.key, "must be positive")
		}
	}
	if a.LockoutFailures < 1 {
		p.add("auth.lockout_failures", "must be at least 1")
	}
	if a.IdleTimeout > a.SessionLifetime {
		p.add("auth.idle_timeout", "is longer than auth.session_lifetime")
	}
	for i, r := range a.RequireTwoFactor {
		if !slices.Contains(Roles, r) || r == RoleHub {
			p.add(pathf("auth.require_2fa[%d]", i), "%q: a role of a person (%s)", r, strings.Join(Roles, ", "))
		}
	}
}

// AuditKeepMin is the least audit.keep: the Cybersecurity Law's six months.
const AuditKeepMin = 180 * 24 * time.Hour

func validateAudit(p *problems, a AuditConfig) {
	if a.Keep < AuditKeepMin {
		p.add("audit.keep", "%s: at least 4320h (180 days: the Cybersecurity Law keeps logs six months)", a.Keep)
	}
	if a.MaxBytes < 1<<20 {
		p.add("audit.max_bytes", "%d: at least 1048576 (1 MiB)", a.MaxBytes)
	}
}

// validateLogin checks a user's password login: its hash, its second
// factor, and that a machine's role does not log in as a person.
func validateLogin(p *problems, base string, u User) {
	if u.PasswordHash != "" {
		if _, err := password.Parse(u.PasswordHash); err != nil {
			p.add(base+".password_hash", "%v", err)
		}
		if u.Role == RoleHub {
			p.add(base+".password_hash", "another hub logs in with its token, not a password")
		}
	}
	if u.TOTPSecret == "" {
		return
	}
	if u.PasswordHash == "" {
		p.add(base+".totp_secret", "a second factor needs a password first: set password_hash")
	}
	key, err := TOTPKey(u.TOTPSecret)
	switch {
	case err != nil:
		p.add(base+".totp_secret", "not base32 (A-Z, 2-7), as an authenticator app shows it")
	case len(key) < MinTOTPSecretBytes:
		p.add(base+".totp_secret", "too short: at least %d bytes (%d base32 characters)", MinTOTPSecretBytes, (MinTOTPSecretBytes*8+4)/5)
	}
}
