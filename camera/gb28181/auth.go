package gb28181

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/icholy/digest"
)

// nonceTTL is how long a challenge's nonce is good for. The nonce is
// signed, not stored: 10,000 devices registering at once after a power cut
// cost the hub no memory for their challenges, and a restart does not
// invalidate the ones in flight.
const nonceTTL = 5 * time.Minute

// nonces makes and checks stateless nonces: the issue time and an HMAC of
// it under a per-process key.
type nonces struct{ key []byte }

func (n nonces) mac(ts string) string {
	h := hmac.New(sha256.New, n.key)
	h.Write([]byte(ts))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (n nonces) make(now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 16)
	return ts + "." + n.mac(ts)
}

// check says whether nonce is one of ours (valid) and still young enough
// (fresh). A valid but old nonce gets a new challenge with stale=true, so
// the device retries at once with the same password.
func (n nonces) check(nonce string, now time.Time) (valid, fresh bool) {
	ts, mac, ok := strings.Cut(nonce, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(n.mac(ts))) {
		return false, false
	}
	sec, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return false, false
	}
	age := now.Sub(time.Unix(sec, 0))
	return true, age >= -time.Minute && age <= nonceTTL
}

// challenge is the WWW-Authenticate value of a 401.
func challenge(realm, nonce string, stale bool) string {
	c := digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

func md5hex(parts ...string) string {
	h := md5.Sum([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h[:])
}

// digestOK checks a device's answer to the challenge (RFC 2617 MD5, with
// qop=auth or without: GB devices answer both ways).
func digestOK(c *digest.Credentials, method, realm, password string) bool {
	ha1 := md5hex(c.Username, realm, password)
	ha2 := md5hex(method, c.URI)
	var want string
	if c.QOP != "" {
		want = md5hex(ha1, c.Nonce, fmt.Sprintf("%08x", c.Nc), c.Cnonce, c.QOP, ha2)
	} else {
		want = md5hex(ha1, c.Nonce, ha2)
	}
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(c.Response)), []byte(want)) == 1
}

// failures limits wrong passwords per source IP: after limit failures in
// window the IP's REGISTERs get no answer at all until the window ends, so
// a password guesser learns nothing and costs the hub nothing. The
// window is fixed from the first failure; it is not safe for concurrent
// use (the server holds its lock).
type failures struct {
	limit  int
	window time.Duration
	byIP   map[string]*failWindow
}

type failWindow struct {
	start   time.Time
	count   int
	dropped int // REGISTERs not answered while blocked
}

func ipOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// blocked says whether ip is refused quietly at now, and counts it if so.
func (f *failures) blocked(ip string, now time.Time) bool {
	w := f.byIP[ip]
	if w == nil || now.Sub(w.start) >= f.window {
		return false
	}
	if w.count >= f.limit {
		w.dropped++
		return true
	}
	return false
}

// fail counts one wrong password from ip.
func (f *failures) fail(ip string, now time.Time) {
	w := f.byIP[ip]
	if w == nil || now.Sub(w.start) >= f.window {
		w = &failWindow{start: now}
		f.byIP[ip] = w
	}
	w.count++
}

// prune forgets windows that ended, so the map holds only the last
// minute's offenders.
func (f *failures) prune(now time.Time) {
	for ip, w := range f.byIP {
		if now.Sub(w.start) >= f.window {
			delete(f.byIP, ip)
		}
	}
}
