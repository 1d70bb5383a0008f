package gb28181

import (
	"strings"
	"testing"
	"time"
)

// TestStateModel walks one device through the model with an explicit
// clock: each step is an event at a time and the state/cause after it.
func TestStateModel(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	p := policy{misses: 3, interval: 60 * time.Second}
	type step struct {
		at    time.Duration
		do    string // register N (seconds), unregister, keepalive, wrong, tick
		arg   time.Duration
		state string
		cause string
		ok    bool // keepalive accepted
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"learned interval, then lost", []step{
			{0, "register", time.Hour, StateOnline, "", false},
			{1 * time.Second, "keepalive", 0, StateOnline, "", true},
			{11 * time.Second, "keepalive", 0, StateOnline, "", true},
			{21 * time.Second, "keepalive", 0, StateOnline, "", true},
			{50 * time.Second, "tick", 0, StateOnline, "", false},
			// 3 × the learned 10 s, not 3 × the assumed 60 s
			{52 * time.Second, "tick", 0, StateOffline, CauseKeepaliveLost, false},
			{53 * time.Second, "keepalive", 0, StateOnline, "", true},
		}},
		{"one lost keepalive does not double the interval", []step{
			{0, "register", time.Hour, StateOnline, "", false},
			{0, "keepalive", 0, StateOnline, "", true},
			{10 * time.Second, "keepalive", 0, StateOnline, "", true},
			{30 * time.Second, "keepalive", 0, StateOnline, "", true}, // one missed
			{40 * time.Second, "keepalive", 0, StateOnline, "", true},
			{71 * time.Second, "tick", 0, StateOffline, CauseKeepaliveLost, false},
		}},
		{"registered, never a keepalive", []step{
			{0, "register", time.Hour, StateOnline, "", false},
			{180 * time.Second, "tick", 0, StateOnline, "", false},
			{181 * time.Second, "tick", 0, StateOffline, CauseNoKeepalive, false},
		}},
		{"expiry wins, keepalives refused until a register", []step{
			{0, "register", 100 * time.Second, StateOnline, "", false},
			{30 * time.Second, "keepalive", 0, StateOnline, "", true},
			{60 * time.Second, "keepalive", 0, StateOnline, "", true},
			{90 * time.Second, "keepalive", 0, StateOnline, "", true},
			{101 * time.Second, "tick", 0, StateOffline, CauseRegisterExpired, false},
			{120 * time.Second, "keepalive", 0, StateOffline, CauseKeepaliveRefused, false},
			{121 * time.Second, "register", time.Hour, StateOnline, "", false},
		}},
		{"unregister", []step{
			{0, "register", time.Hour, StateOnline, "", false},
			{5 * time.Second, "unregister", 0, StateOffline, CauseUnregistered, false},
			{6 * time.Second, "keepalive", 0, StateOffline, CauseKeepaliveRefused, false},
		}},
		{"wrong password before a register, then a keepalive", []step{
			{0, "wrong", 0, StateOffline, CauseWrongPassword, false},
			{1 * time.Second, "keepalive", 0, StateOffline, CauseWrongPassword, false},
		}},
		{"wrong password on a refresh keeps the registration", []step{
			{0, "register", time.Hour, StateOnline, "", false},
			{1 * time.Second, "wrong", 0, StateOnline, "", false},
		}},
		{"heard from by keepalive after a hub restart", []step{
			{0, "keepalive", 0, StateOnline, "", true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &record{}
			r.set(t0, StateUnknown, CauseNeverRegistered, "")
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				var ok bool
				switch s.do {
				case "register":
					r.register(now, "10.0.0.1:5060", "UDP", s.arg)
				case "unregister":
					r.unregister(now, "10.0.0.1:5060", "UDP")
				case "keepalive":
					ok, _ = r.keepalive(now, "10.0.0.1:5060", "UDP", p)
				case "wrong":
					r.wrongPassword(now, "10.0.0.9:5060")
				case "tick":
					r.tick(now, p)
				}
				if r.State != s.state || r.Cause != s.cause || ok != s.ok {
					t.Fatalf("step %d (%s at %s): %s/%s accepted %v, want %s/%s accepted %v (%s)",
						i, s.do, s.at, r.State, r.Cause, ok, s.state, s.cause, s.ok, r.Reason)
				}
			}
		})
	}
}

// TestNonce: ours and young is fresh; ours and old is stale (a new
// challenge, stale=true); forged or from another run is not ours.
func TestNonce(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	n := nonces{key: []byte("k1")}
	other := nonces{key: []byte("k2")}
	nonce := n.make(t0)
	tests := []struct {
		name         string
		nonce        string
		at           time.Duration
		valid, fresh bool
	}{
		{"fresh", nonce, 4 * time.Minute, true, true},
		{"stale", nonce, 6 * time.Minute, true, false},
		{"another run", other.make(t0), 0, false, false},
		{"forged", "deadbeef.0011", 0, false, false},
		{"garbage", "x", 0, false, false},
	}
	for _, tt := range tests {
		valid, fresh := n.check(tt.nonce, t0.Add(tt.at))
		if valid != tt.valid || fresh != tt.fresh {
			t.Errorf("%s: valid %v fresh %v, want %v %v", tt.name, valid, fresh, tt.valid, tt.fresh)
		}
	}
}

// TestChannelState: a channel follows its device first (offline or
// unknown with the device's cause and reason), then its own Status.
func TestChannelState(t *testing.T) {
	lost := Device{ID: "61042800001180000001", State: StateOffline, Cause: CauseKeepaliveLost, Reason: bilingual("心跳中断", "keepalives lost")}
	tests := []struct {
		name   string
		d      Device
		status string
		state  string
		cause  string
		reason string
	}{
		{"device online, channel ON", Device{State: StateOnline}, ChannelOn, StateOnline, "", ""},
		{"device online, channel OFF", Device{State: StateOnline}, ChannelOff, StateOffline, CauseChannelOff, "OFF"},
		{"device offline wins over ON", lost, ChannelOn, StateOffline, CauseKeepaliveLost, "所属设备 61042800001180000001 离线：心跳中断 / its device 61042800001180000001 is offline: keepalives lost"},
		{"device unknown after a restart", Device{State: StateUnknown, Cause: CauseNeverRegistered}, ChannelOff, StateUnknown, CauseNeverRegistered, "状态未知"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := channelState(Channel{ID: "61042800001310000001", Status: tt.status}, tt.d)
			if c.State != tt.state || c.Cause != tt.cause || !strings.Contains(c.Reason, tt.reason) {
				t.Fatalf("got %s/%s %q, want %s/%s containing %q", c.State, c.Cause, c.Reason, tt.state, tt.cause, tt.reason)
			}
		})
	}
}

// TestPlace: gb28181.channels wins, then the longest civil code the
// channel's CivilCode begins with; no match is unplaced.
func TestPlace(t *testing.T) {
	s := &Server{o: Options{Places: map[string]Place{
		"610428101":    {Township: "zhaoren"},
		"610428101201": {Township: "zhaoren", Village: "v-zr-01"},
	}}, placed: map[string]Place{"61042800001310000009": {Township: "xiangong", Village: "v-xg-01"}}}
	tests := []struct {
		id, civil         string
		township, village string
		placed            bool
	}{
		{"61042800001310000001", "610428101201", "zhaoren", "v-zr-01", true},
		{"61042800001310000002", "610428101201003", "zhaoren", "v-zr-01", true}, // longer than the village's
		{"61042800001310000003", "610428101202", "zhaoren", "", true},           // another village of the township
		{"61042800001310000004", "610428", "", "", false},                       // the county's code only
		{"61042800001310000005", "", "", "", false},
		{"61042800001310000009", "610428101201", "xiangong", "v-xg-01", true}, // the configured entry wins
	}
	for _, tt := range tests {
		c := s.place(Channel{ID: tt.id, CivilCode: tt.civil})
		if c.Township != tt.township || c.Village != tt.village || c.Placed != tt.placed {
			t.Errorf("%s %q: %s/%s placed %v, want %s/%s %v", tt.id, tt.civil, c.Township, c.Village, c.Placed, tt.township, tt.village, tt.placed)
		}
	}
}
