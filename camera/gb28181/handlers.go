package gb28181

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// maxIDLen bounds an id taken from a request (GB ids are 20 digits; some
// lower platforms use longer ones): a longer one is refused before it
// reaches the registry.
const maxIDLen = 64

// onRegister answers a REGISTER: refuse an unknown or held device, ask an
// unauthenticated one for its digest, check it (403 and a count when
// wrong), then register or unregister.
func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	now := s.now()
	id := deviceID(req)
	src, tp := req.Source(), req.Transport()
	ip := ipOf(src)
	if id == "" || len(id) > maxIDLen {
		s.respond(tx, req, 400, "Bad Request")
		return
	}

	s.mu.Lock()
	if s.fails.blocked(ip, now) {
		// Quiet: no answer at all, so the guesser learns nothing, and the
		// hub spends nothing on it until the window ends.
		s.mu.Unlock()
		return
	}
	r, password, allowed := s.admit(id, src, tp, now)
	s.mu.Unlock()
	if !allowed {
		s.respond(tx, req, 403, "Forbidden")
		return
	}

	if password != "" {
		h := req.GetHeader("Authorization")
		if h == nil {
			s.challenge(tx, req, now, false)
			return
		}
		cred, err := digest.ParseCredentials(h.Value())
		if err != nil {
			s.respond(tx, req, 400, "Bad Request")
			return
		}
		valid, fresh := s.nonce.check(cred.Nonce, now)
		switch {
		case !valid:
			s.challenge(tx, req, now, false) // a nonce from another run of the hub or made up
			return
		case !fresh:
			s.challenge(tx, req, now, true)
			return
		}
		if !digestOK(cred, string(req.Method), s.o.Realm, password) {
			s.mu.Lock()
			s.fails.fail(ip, now)
			var changed bool
			var d Device
			if r != nil {
				changed, d = r.wrongPassword(now, src), r.Device
			}
			s.mu.Unlock()
			s.log.Warn("gb28181: wrong password", "device", id, "from", src, "count", d.WrongPasswords)
			if changed {
				s.notify(d)
			}
			s.respond(tx, req, 403, "Forbidden")
			return
		}
	}

	expires := s.expires(req)
	s.mu.Lock()
	if r == nil {
		if r = s.devices[id]; r == nil {
			r = &record{Device: Device{ID: id}}
			s.devices[id] = r
		}
	}
	var changed bool
	// A registration that starts (first in this run, after an expiry, an
	// unregister or the device's restart) asks for the catalog; a refresh
	// of a running one does not.
	query := expires > 0 && !r.Registered
	if expires == 0 {
		changed = r.unregister(now, src, tp)
	} else {
		changed = r.register(now, src, tp, expires)
	}
	d := r.Device
	s.mu.Unlock()
	if changed {
		s.notify(d)
	}
	hs := []sip.Header{
		sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))),
		// GB/T 28181 9.10: the platform's time in the 200 is how devices
		// set their clocks.
		sip.NewHeader("Date", now.Format("2006-01-02T15:04:05.000")),
	}
	if c := req.Contact(); c != nil {
		hs = append(hs, c)
	}
	s.respond(tx, req, 200, "OK", hs...)
	if query {
		s.queryCatalog(id) // after the 200: the device answers once it knows it is registered
	}
}

// admit finds or makes the device's record and says whether it may
// register, with the password it must show. An unconfigured device is
// taken (accept: any), or listed as refused or held. Called with mu held.
func (s *Server) admit(id, src, tp string, now time.Time) (r *record, password string, ok bool) {
	if r = s.devices[id]; r != nil && r.State != StateHeld && r.State != StateRefused {
		if r.Known {
			return r, r.password, true
		}
		return r, s.o.Password, true // taken earlier under accept: any
	}
	if _, known := s.known[id]; known {
		return r, r.password, true // unreachable: configured records are made in New
	}
	if s.o.Accept == AcceptAny {
		// No record before the digest is right: ids made up by a scanner
		// must not fill the registry.
		return nil, s.o.Password, true
	}
	state, cause, reason := StateRefused, CauseUnknownDevice, bilingual("未配置的设备，已拒绝（accept: known）",
		"not a configured device, refused (accept: known)")
	if s.o.Accept == AcceptHold {
		state, cause, reason = StateHeld, CauseHeld, bilingual("未配置的设备，等待管理员处理（accept: hold）",
			"not a configured device, held for the admin (accept: hold)")
	}
	if r == nil {
		if s.listed >= maxListed {
			s.unlist++
			return nil, "", false
		}
		r = &record{Device: Device{ID: id}}
		s.devices[id] = r
		s.listed++
	}
	r.heard(src, tp)
	r.set(now, state, cause, reason)
	return r, "", false
}

func (s *Server) challenge(tx sip.ServerTransaction, req *sip.Request, now time.Time, stale bool) {
	s.respond(tx, req, 401, "Unauthorized",
		sip.NewHeader("WWW-Authenticate", challenge(s.o.Realm, s.nonce.make(now), stale)))
}

// expires is the registration's length: the Contact's expires parameter
// wins over the Expires header (RFC 3261 10.2.1.1); neither: the default.
func (s *Server) expires(req *sip.Request) time.Duration {
	if c := req.Contact(); c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return s.o.DefaultExpires
}

// onMessage answers a MESSAGE with a MANSCDP body. A Keepalive moves the
// state; the other commands are answered 200 and left for the catalog and
// alarm issues.
func (s *Server) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	now := s.now()
	id := deviceID(req)
	src, tp := req.Source(), req.Transport()
	body := req.Body()
	if len(body) > maxCatalogBytes {
		// No MANSCDP message is this large (a catalog comes in parts):
		// refused unread.
		s.mu.Lock()
		if r := s.devices[id]; r != nil {
			s.malformed(r, fmt.Sprintf("MESSAGE body of %d bytes", len(body)))
		}
		s.mu.Unlock()
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	m, err := parseMANSCDP(body)
	if err != nil {
		s.log.Debug("gb28181: unreadable MESSAGE", "device", id, "from", src, "err", err)
		s.mu.Lock()
		if r := s.devices[id]; r != nil && r.State != StateHeld && r.State != StateRefused {
			s.malformed(r, err.Error()) // a catalog cut short is the usual one
		}
		s.mu.Unlock()
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	if strings.EqualFold(m.CmdType, "Catalog") && m.XMLName.Local == "Response" {
		s.heard(id, src, tp)
		code := s.onCatalog(id, body)
		s.respond(tx, req, code, statusText(code))
		return
	}
	if !strings.EqualFold(m.CmdType, "Keepalive") {
		s.log.Debug("gb28181: MESSAGE not handled yet", "device", id, "cmd", m.CmdType)
		s.respond(tx, req, 200, "OK")
		return
	}
	s.mu.Lock()
	r := s.devices[id]
	if r == nil || r.State == StateHeld || r.State == StateRefused {
		// Unconfigured and never registered in this run: it must register
		// (under accept: any) before its keepalives count.
		s.mu.Unlock()
		s.respond(tx, req, 403, "Forbidden")
		return
	}
	accepted, changed := r.keepalive(now, src, tp, s.policy)
	d := r.Device
	s.mu.Unlock()
	if changed {
		s.notify(d)
	}
	if !accepted {
		s.respond(tx, req, 403, "Forbidden")
		return
	}
	s.respond(tx, req, 200, "OK")
}

// heard records the source of a message from a device the hub takes.
func (s *Server) heard(id, src, tp string) {
	s.mu.Lock()
	if r := s.devices[id]; r != nil && r.State != StateHeld && r.State != StateRefused {
		r.heard(src, tp)
	}
	s.mu.Unlock()
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	}
	return ""
}
