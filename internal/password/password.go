// Package password keeps people's passwords as argon2id hashes in the PHC
// string form ($argon2id$v=19$m=…,t=…,p=…$salt$hash), checks a password
// against one in constant time, and holds the hub's password rules. The
// parameters travel with each hash, so they can be raised later without
// invalidating the hashes already written. It imports nothing of the hub's:
// the configuration validates users[].password_hash with it.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// Default is what the hub hashes new passwords with. The hub runs on a
// 2-core county box that also pulls cameras and serves the wall: m=64 MiB,
// t=1, p=2 is RFC 9106's second recommended choice scaled to two lanes,
// one check takes 30-37 ms of both cores (bench/auth, p50/p99 on this
// box while others ran). Twenty at once would hold 1.3 GiB and take 2.8 s
// for the last (p99), so the login service checks one at a time: the 20th
// person of a shift change waits about 0.7 s, in 64 MiB. Logins are rare
// (a session lasts hours); an attacker with the hash pays 64 MiB a guess.
var Default = Params{Memory: 64 * 1024, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}

// Limits on what a stored hash may ask for, so a hand-written or hostile
// configuration cannot make one login take the box's memory or minutes.
const (
	maxMemory = 1 << 20 // KiB: 1 GiB
	maxTime   = 16
	minKeyLen = 16
	minSalt   = 8
)

// ErrMismatch is a password that does not match its hash.
var ErrMismatch = errors.New("密码不对 / wrong password")

// Hash returns the PHC string of password under p with a fresh random salt.
func Hash(password string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encode(p, salt, key), nil
}

func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Hashed is a parsed PHC argon2id string.
type Hashed struct {
	Params Params
	Salt   []byte
	Key    []byte
}

// Parse reads a PHC argon2id string; its error says, in Chinese then
// English, what is wrong, without quoting the string.
func Parse(phc string) (Hashed, error) {
	var h Hashed
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" {
		return h, errors.New("不是 PHC 格式 ($argon2id$v=19$m=…,t=…,p=…$盐$哈希) / not a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash): make one with snowhub -hash-password")
	}
	if parts[1] != "argon2id" {
		return h, fmt.Errorf("算法 %q 不受支持，只用 argon2id / algorithm %q: only argon2id is accepted", clip(parts[1]), clip(parts[1]))
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("版本应为 v=%d / version must be v=%d", argon2.Version, argon2.Version)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || seen[k] {
			return h, fmt.Errorf("参数 %q 不对 / parameter %q is not k=number", clip(kv), clip(kv))
		}
		seen[k] = true
		switch k {
		case "m":
			h.Params.Memory = uint32(n)
		case "t":
			h.Params.Time = uint32(n)
		case "p":
			if n > 255 {
				return h, errors.New("p 应在 1-255 / p must be 1-255")
			}
			h.Params.Threads = uint8(n)
		default:
			return h, fmt.Errorf("未知参数 %q / unknown parameter %q", clip(k), clip(k))
		}
	}
	switch {
	case !seen["m"] || !seen["t"] || !seen["p"]:
		return h, errors.New("缺少 m、t 或 p / m, t and p are all needed")
	case h.Params.Time < 1 || h.Params.Time > maxTime:
		return h, fmt.Errorf("t 应在 1-%d / t must be 1-%d", maxTime, maxTime)
	case h.Params.Threads < 1:
		return h, errors.New("p 应在 1-255 / p must be 1-255")
	case h.Params.Memory < 8*uint32(h.Params.Threads) || h.Params.Memory > maxMemory:
		return h, fmt.Errorf("m 应在 8×p 到 %d KiB 之间 / m must be between 8×p and %d KiB", maxMemory, maxMemory)
	}
	var err error
	b64 := base64.RawStdEncoding
	if h.Salt, err = b64.DecodeString(parts[4]); err != nil || len(h.Salt) < minSalt {
		return h, fmt.Errorf("盐不对（至少 %d 字节，无填充的 base64）/ salt: at least %d bytes of unpadded base64", minSalt, minSalt)
	}
	if h.Key, err = b64.DecodeString(parts[5]); err != nil || len(h.Key) < minKeyLen {
		return h, fmt.Errorf("哈希不对（至少 %d 字节，无填充的 base64）/ hash: at least %d bytes of unpadded base64", minKeyLen, minKeyLen)
	}
	h.Params.SaltLen, h.Params.KeyLen = uint32(len(h.Salt)), uint32(len(h.Key))
	return h, nil
}

// Verify reports whether password matches h; the comparison takes the
// same time wherever the keys differ.
func (h Hashed) Verify(password string) bool {
	key := argon2.IDKey([]byte(password), h.Salt, h.Params.Time, h.Params.Memory, h.Params.Threads, uint32(len(h.Key)))
	return subtle.ConstantTimeCompare(key, h.Key) == 1
}

// Verify checks password against a PHC string: nil, ErrMismatch, or the
// string's own error.
func Verify(phc, password string) error {
	h, err := Parse(phc)
	if err != nil {
		return err
	}
	if !h.Verify(password) {
		return ErrMismatch
	}
	return nil
}

func clip(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
