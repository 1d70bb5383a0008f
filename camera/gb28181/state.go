package gb28181

import (
	"fmt"
	"slices"
	"time"
)

// States of a device. online, offline and unknown mean what they mean for
// a camera; held and refused are devices the hub does not take: listed for
// the admin so that a device pointed at the hub is never silently lost.
const (
	StateOnline  = "online"
	StateOffline = "offline"
	StateUnknown = "unknown"
	StateHeld    = "held"    // accept: hold: an unconfigured device waiting for the admin
	StateRefused = "refused" // accept: known: an unconfigured device turned away
)

// Causes of states. Each says why in words a technician can act on, never
// "timeout": the anchors' most common complaint is a state with no reason.
const (
	CauseKeepaliveLost   = "keepalive_lost"      // keepalives stopped: keepalive_misses × the device's interval passed
	CauseNoKeepalive     = "gb_no_keepalive"     // registered, then no keepalive at all
	CauseRegisterExpired = "gb_register_expired" // the registration ran out without a refresh
	CauseUnregistered    = "gb_unregistered"     // the device said goodbye (REGISTER with Expires: 0)
	CauseWrongPassword   = "gb_wrong_password"   // REGISTER answered 403: the digest did not match
	CauseNeverRegistered = "gb_never_registered" // configured, not heard from since the hub started
	CauseUnknownDevice   = "gb_unknown_device"   // not configured and accept: known
	CauseHeld            = "gb_held"             // not configured and accept: hold
	// keepalives arrive from a device that is not registered (expired,
	// unregistered or refused): answered 403 until it registers again
	CauseKeepaliveRefused = "gb_keepalive_unregistered"
	// a channel the device's catalog reports OFF, its device online
	CauseChannelOff = "gb_channel_off"
)

// Causes lists every cause a device's state can carry, for the pages'
// labels.
var Causes = []string{CauseKeepaliveLost, CauseNoKeepalive, CauseRegisterExpired, CauseUnregistered,
	CauseWrongPassword, CauseNeverRegistered, CauseUnknownDevice, CauseHeld, CauseKeepaliveRefused, CauseChannelOff}

// bilingual writes a reason the way the hub writes its own texts,
// "中文 / English" (the shape internal/event.Bilingual makes; this package
// imports nothing of the hub's). zh holds no '/', en is plain ASCII.
func bilingual(zh, en string) string { return zh + " / " + en }

// Device is what the hub knows of one GB/T 28181 device (an IPC, an NVR or
// a lower platform), as the API shows it.
type Device struct {
	ID       string `json:"id"`
	Known    bool   `json:"known"` // in gb28181.devices
	Township string `json:"township,omitempty"`
	Village  string `json:"village,omitempty"`

	State  string    `json:"state"`
	Cause  string    `json:"cause,omitempty"`
	Reason string    `json:"reason,omitempty"` // "中文 / English"
	Since  time.Time `json:"since"`

	Addr       string `json:"addr,omitempty"`      // where its last message came from (NAT: changes)
	Transport  string `json:"transport,omitempty"` // UDP or TCP
	PrevAddr   string `json:"prev_addr,omitempty"` // the address before the last change
	Rebindings int    `json:"rebindings,omitempty"`

	Registered   bool      `json:"registered"`
	RegisteredAt time.Time `json:"registered_at,omitzero"`
	Expires      time.Time `json:"expires,omitzero"`

	LastKeepalive     time.Time `json:"last_keepalive,omitzero"`
	KeepaliveInterval float64   `json:"keepalive_interval_s,omitempty"` // learned from the device

	WrongPasswords int    `json:"wrong_passwords,omitempty"`
	WrongFrom      string `json:"wrong_from,omitempty"`

	Channels      int       `json:"channels"`                 // video channels in the catalog in force
	CatalogAt     time.Time `json:"catalog_at,omitzero"`      // when it came
	CatalogError  string    `json:"catalog_error,omitempty"`  // why the last query gave no (whole) catalog: "中文 / English"
	CatalogErrors int       `json:"catalog_errors,omitempty"` // malformed catalog answers
}

// record is one device in the registry with what the model needs beside
// the view.
type record struct {
	Device
	password string
	gaps     []time.Duration    // the last keepalive gaps, for the learned interval
	coll     *collection        // a catalog being collected
	channels map[string]Channel // the catalog in force, by channel id
}

// policy is the registry's fixed part: thresholds and the default interval.
type policy struct {
	misses   int
	interval time.Duration // assumed until the device shows its own
}

// maxGaps keeps the last gaps whose median is the learned interval: one
// lost keepalive (a double gap) or a burst (two at once after a register)
// does not move a median of five.
const maxGaps = 5

// interval is the device's keepalive interval: the median of its recent
// gaps once it has shown two, else the assumed one, never longer than its
// registration (a device that registers for 120 s cannot mean 600 s).
func (r *record) interval(p policy) time.Duration {
	iv := p.interval
	if n := len(r.gaps); n > 0 {
		g := slices.Clone(r.gaps)
		slices.Sort(g)
		iv = g[n/2]
	}
	if r.Registered && !r.RegisteredAt.IsZero() {
		if reg := r.Expires.Sub(r.RegisteredAt); reg > 0 && reg < iv {
			iv = reg
		}
	}
	return iv
}

// set moves the device to state with cause and reason; it reports whether
// state or cause changed (a reason alone, like a new count, is not a
// transition). since is the start of the state, kept while it lasts.
func (r *record) set(now time.Time, state, cause, reason string) bool {
	changed := r.State != state || r.Cause != cause
	if r.State != state {
		r.Since = now
	}
	r.State, r.Cause, r.Reason = state, cause, reason
	return changed
}

// heard records where a message came from: a new source for the same id is
// NAT rebinding (or a device that moved), followed at once.
func (r *record) heard(addr, transport string) {
	if addr == "" {
		return
	}
	if r.Addr != "" && r.Addr != addr {
		r.PrevAddr = r.Addr
		r.Rebindings++
	}
	r.Addr, r.Transport = addr, transport
}

func (r *record) register(now time.Time, addr, transport string, expires time.Duration) bool {
	r.heard(addr, transport)
	r.Registered, r.RegisteredAt, r.Expires = true, now, now.Add(expires)
	return r.set(now, StateOnline, "", bilingual("已注册，来自 "+r.Addr, "registered from "+r.Addr))
}

func (r *record) unregister(now time.Time, addr, transport string) bool {
	r.heard(addr, transport)
	r.Registered, r.Expires = false, time.Time{}
	return r.set(now, StateOffline, CauseUnregistered,
		bilingual("设备已注销（Expires: 0），来自 "+r.Addr, "the device unregistered (Expires: 0) from "+r.Addr))
}

// wrongPassword counts a 403. A registered device keeps its registration
// (the digest of a refresh failed, the old one still runs); any other is
// offline with the count and the address in the reason.
func (r *record) wrongPassword(now time.Time, addr string) bool {
	r.WrongPasswords++
	r.WrongFrom = addr
	if r.Registered {
		return false
	}
	return r.set(now, StateOffline, CauseWrongPassword, bilingual(
		fmt.Sprintf("密码错误（403 ×%d，来自 %s）", r.WrongPasswords, addr),
		fmt.Sprintf("wrong password (403 x%d from %s)", r.WrongPasswords, addr)))
}

// keepalive takes one Keepalive. It reports whether the hub accepts it: a
// device whose registration expired or that unregistered must register
// again (the 403 tells it to), and its reason says keepalives still come;
// any other device is online. After a hub restart a configured device is
// heard from by its keepalive: that is what "unknown until heard from"
// means, and its registration follows at its next refresh.
func (r *record) keepalive(now time.Time, addr, transport string, p policy) (accepted, changed bool) {
	r.heard(addr, transport)
	if !r.LastKeepalive.IsZero() {
		if gap := now.Sub(r.LastKeepalive); gap > 0 {
			r.gaps = append(r.gaps, gap)
			if len(r.gaps) > maxGaps {
				r.gaps = r.gaps[len(r.gaps)-maxGaps:]
			}
		}
	}
	r.LastKeepalive = now
	r.KeepaliveInterval = r.interval(p).Seconds()
	if !r.Registered && r.Cause == CauseWrongPassword {
		return false, false // the password is what is wrong: the reason keeps saying so
	}
	if !r.Registered && refusesKeepalive(r.Cause) {
		return false, r.set(now, StateOffline, CauseKeepaliveRefused, bilingual(
			"未注册但心跳仍从 "+r.Addr+" 到达：等待设备重新注册",
			"not registered, yet keepalives arrive from "+r.Addr+": waiting for the device to register again"))
	}
	return true, r.set(now, StateOnline, "", bilingual("心跳正常，来自 "+r.Addr, "keepalives arriving from "+r.Addr))
}

// refusesKeepalive: causes after which only a REGISTER brings the device
// back (its registration ended, or its last attempt failed the digest).
func refusesKeepalive(cause string) bool {
	switch cause {
	case CauseRegisterExpired, CauseUnregistered, CauseKeepaliveRefused, CauseWrongPassword:
		return true
	}
	return false
}

// tick judges the device at now: registration expiry first (it is what the
// device itself promised), then keepalives against misses × its interval.
func (r *record) tick(now time.Time, p policy) bool {
	if r.Registered && now.After(r.Expires) {
		r.Registered = false
		return r.set(now, StateOffline, CauseRegisterExpired, bilingual(
			"注册已于 "+r.Expires.UTC().Format(time.RFC3339)+" 过期，未续订",
			"the registration expired at "+r.Expires.UTC().Format(time.RFC3339)+" without a refresh"))
	}
	if r.State != StateOnline {
		return false
	}
	iv := r.interval(p)
	limit := time.Duration(p.misses) * iv
	if r.LastKeepalive.IsZero() {
		if now.Sub(r.RegisteredAt) > limit {
			return r.set(now, StateOffline, CauseNoKeepalive, bilingual(
				fmt.Sprintf("已注册，但 %s 内未收到心跳", limit),
				fmt.Sprintf("registered, but no keepalive in %s", limit)))
		}
		return false
	}
	if now.Sub(r.LastKeepalive) > limit {
		last := r.LastKeepalive.UTC().Format(time.RFC3339)
		return r.set(now, StateOffline, CauseKeepaliveLost, bilingual(
			fmt.Sprintf("心跳中断：最后一次 %s 来自 %s，间隔 %s，已错过 %d 次", last, r.Addr, iv, p.misses),
			fmt.Sprintf("keepalives lost: last at %s from %s, interval %s, %d missed", last, r.Addr, iv, p.misses)))
	}
	return false
}
