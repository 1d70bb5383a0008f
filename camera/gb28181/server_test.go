package gb28181_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"snowhub/camera/gb28181"
)

const (
	camA = "61042800001320000001"
	camB = "61042800001320000002"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startHub starts a server on a free port of 127.0.0.1 with a fast tick
// and returns it; Close runs at the test's end.
func startHub(t *testing.T, o gb28181.Options) *gb28181.Server {
	t.Helper()
	o.ID, o.Domain = hubID, hubDomain
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Tick == 0 {
		o.Tick = 10 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = quiet()
	}
	s, err := gb28181.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func devices(ids ...string) []gb28181.DeviceConfig {
	var out []gb28181.DeviceConfig
	for _, id := range ids {
		out = append(out, gb28181.DeviceConfig{ID: id, Password: "pw-" + id, Village: "v-zr-01"})
	}
	return out
}

// waitState waits for the device to reach state with cause.
func waitState(t *testing.T, s *gb28181.Server, id, state, cause string, within time.Duration) gb28181.Device {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		d, _ := s.Device(id)
		if d.State == state && d.Cause == cause {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %s/%s (%s), want %s/%s within %s", id, d.State, d.Cause, d.Reason, state, cause, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRegisterKeepaliveLoss: a device registers with digest, keeps alive
// at its own interval (learned, not assumed), stops, and is offline with
// keepalive_lost after keepalive_misses × that interval, on UDP and TCP.
func TestRegisterKeepaliveLoss(t *testing.T) {
	for _, tp := range []string{"UDP", "TCP"} {
		t.Run(tp, func(t *testing.T) {
			var mu sync.Mutex
			var changes []string
			s := startHub(t, gb28181.Options{Devices: devices(camA), KeepaliveMisses: 3, KeepaliveInterval: time.Hour,
				OnChange: func(d gb28181.Device) { mu.Lock(); changes = append(changes, d.State+"/"+d.Cause); mu.Unlock() }})
			ctx := ctxT(t)
			if d, _ := s.Device(camA); d.State != gb28181.StateUnknown || d.Cause != gb28181.CauseNeverRegistered {
				t.Fatalf("before any message: %s/%s, want unknown/gb_never_registered", d.State, d.Cause)
			}
			dev := newFakeDevice(t, camA, "pw-"+camA, s.Addr(), tp)
			mustStatus(t, "register", 200)(dev.register(ctx, 3600))
			d := waitState(t, s, camA, gb28181.StateOnline, "", time.Second)
			if !d.Registered || d.Transport != tp || !strings.HasPrefix(d.Addr, "127.0.0.1:") {
				t.Fatalf("registered device: %+v", d)
			}
			const every = 60 * time.Millisecond
			for range 5 {
				mustStatus(t, "keepalive", 200)(dev.keepalive(ctx))
				time.Sleep(every)
			}
			d, _ = s.Device(camA)
			if iv := time.Duration(d.KeepaliveInterval * float64(time.Second)); iv < every || iv > 3*every {
				t.Fatalf("learned interval %s, want about %s (the assumed one is an hour)", iv, every)
			}
			stopped := time.Now()
			d = waitState(t, s, camA, gb28181.StateOffline, gb28181.CauseKeepaliveLost, 2*time.Second)
			took := time.Since(stopped)
			if took < 2*every {
				t.Fatalf("offline %s after the last keepalive: before 3 intervals had passed", took)
			}
			if !strings.Contains(d.Reason, "心跳中断") || !strings.Contains(d.Reason, " / keepalives lost") {
				t.Fatalf("reason %q is not bilingual", d.Reason)
			}
			// Back: one keepalive brings it online (its registration still runs).
			mustStatus(t, "keepalive after loss", 200)(dev.keepalive(ctx))
			waitState(t, s, camA, gb28181.StateOnline, "", time.Second)
			mu.Lock()
			defer mu.Unlock()
			want := []string{"online/", "offline/keepalive_lost", "online/"}
			if strings.Join(changes, " ") != strings.Join(want, " ") {
				t.Fatalf("transitions %v, want %v", changes, want)
			}
		})
	}
}

// TestWrongPasswordRateLimit: a wrong password is 403 and counted in the
// device's reason with the address; after 5 in a minute the source IP's
// REGISTERs go unanswered, the right password included, until the window
// ends.
func TestWrongPasswordRateLimit(t *testing.T) {
	s := startHub(t, gb28181.Options{Devices: devices(camA), FailLimit: 5, FailWindow: 700 * time.Millisecond})
	ctx := ctxT(t)
	bad := newFakeDevice(t, camA, "wrong", s.Addr(), "UDP")
	for i := range 5 {
		mustStatus(t, "wrong password "+string(rune('1'+i)), 403)(bad.register(ctx, 3600))
	}
	d := waitState(t, s, camA, gb28181.StateOffline, gb28181.CauseWrongPassword, time.Second)
	if d.WrongPasswords != 5 || !strings.Contains(d.Reason, "403 ×5") || !strings.Contains(d.Reason, d.WrongFrom) {
		t.Fatalf("after 5 wrong passwords: %d, %q", d.WrongPasswords, d.Reason)
	}
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	good := newFakeDevice(t, camA, "pw-"+camA, s.Addr(), "UDP")
	if code, err := good.register(qctx, 3600); !isTimeout(err) {
		t.Fatalf("sixth REGISTER within the window: status %d err %v, want no answer", code, err)
	}
	// Keepalives do not bring a device with a refused password online.
	mustStatus(t, "keepalive after 403", 403)(good.keepalive(ctx))
	time.Sleep(700 * time.Millisecond)
	mustStatus(t, "register after the window", 200)(good.register(ctx, 3600))
	waitState(t, s, camA, gb28181.StateOnline, "", time.Second)
}

// TestUnregisterAndExpiry: Expires: 0 unregisters; keepalives after it are
// refused until a REGISTER; a registration not refreshed expires.
func TestUnregisterAndExpiry(t *testing.T) {
	s := startHub(t, gb28181.Options{Devices: devices(camA, camB)})
	ctx := ctxT(t)
	a := newFakeDevice(t, camA, "pw-"+camA, s.Addr(), "UDP")
	mustStatus(t, "register", 200)(a.register(ctx, 3600))
	mustStatus(t, "unregister", 200)(a.register(ctx, 0))
	waitState(t, s, camA, gb28181.StateOffline, gb28181.CauseUnregistered, time.Second)
	mustStatus(t, "keepalive after unregister", 403)(a.keepalive(ctx))
	waitState(t, s, camA, gb28181.StateOffline, gb28181.CauseKeepaliveRefused, time.Second)
	mustStatus(t, "register again", 200)(a.register(ctx, 3600))
	waitState(t, s, camA, gb28181.StateOnline, "", time.Second)

	b := newFakeDevice(t, camB, "pw-"+camB, s.Addr(), "TCP")
	mustStatus(t, "short register", 200)(b.register(ctx, 1))
	d := waitState(t, s, camB, gb28181.StateOffline, gb28181.CauseRegisterExpired, 3*time.Second)
	if d.Registered {
		t.Fatalf("expired yet registered: %+v", d)
	}
}

// TestAcceptModes: an unconfigured device is refused and listed (known),
// held and listed (hold), or taken with the shared password (any).
func TestAcceptModes(t *testing.T) {
	const stranger = "61042800001320009999"
	tests := []struct {
		accept     string
		wantStatus int
		state      string
		cause      string
	}{
		{gb28181.AcceptKnown, 403, gb28181.StateRefused, gb28181.CauseUnknownDevice},
		{gb28181.AcceptHold, 403, gb28181.StateHeld, gb28181.CauseHeld},
		{gb28181.AcceptAny, 200, gb28181.StateOnline, ""},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			s := startHub(t, gb28181.Options{Accept: tt.accept, Password: "shared", Devices: devices(camA)})
			ctx := ctxT(t)
			dev := newFakeDevice(t, stranger, "shared", s.Addr(), "UDP")
			mustStatus(t, "register", tt.wantStatus)(dev.register(ctx, 3600))
			d := waitState(t, s, stranger, tt.state, tt.cause, time.Second)
			if d.Known || d.Addr == "" {
				t.Fatalf("listed stranger: %+v", d)
			}
			if tt.accept != gb28181.AcceptAny {
				mustStatus(t, "keepalive of a stranger", 403)(dev.keepalive(ctx))
			}
		})
	}
}

// TestRestartAndNATRebinding: after a hub restart a device that was online
// is unknown (never online from the old run), until its keepalive arrives
// from a new address (its NAT rebound meanwhile); a REGISTER from yet
// another address follows it again.
func TestRestartAndNATRebinding(t *testing.T) {
	ctx := ctxT(t)
	first := startHub(t, gb28181.Options{Devices: devices(camA)})
	addr := first.Addr()
	dev := newFakeDevice(t, camA, "pw-"+camA, addr, "UDP")
	mustStatus(t, "register", 200)(dev.register(ctx, 3600))
	mustStatus(t, "keepalive", 200)(dev.keepalive(ctx))
	waitState(t, first, camA, gb28181.StateOnline, "", time.Second)
	old, _ := first.Device(camA)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := startHub(t, gb28181.Options{Devices: devices(camA), Listen: addr})
	if d, _ := second.Device(camA); d.State != gb28181.StateUnknown || d.Cause != gb28181.CauseNeverRegistered || d.Addr != "" {
		t.Fatalf("after restart: %+v, want unknown and no address", d)
	}
	rebound := newFakeDevice(t, camA, "pw-"+camA, addr, "UDP")
	mustStatus(t, "keepalive after restart", 200)(rebound.keepalive(ctx))
	d := waitState(t, second, camA, gb28181.StateOnline, "", time.Second)
	if d.Addr == old.Addr || d.Registered {
		t.Fatalf("after the keepalive: addr %s (before %s), registered %v", d.Addr, old.Addr, d.Registered)
	}
	again := newFakeDevice(t, camA, "pw-"+camA, addr, "TCP")
	mustStatus(t, "register from a third address", 200)(again.register(ctx, 3600))
	d, _ = second.Device(camA)
	if d.Transport != "TCP" || d.PrevAddr == "" || d.Rebindings != 1 || !d.Registered {
		t.Fatalf("after the rebinding: %+v", d)
	}
}

// TestKeepaliveGB18030: a keepalive whose body is GB18030 with no
// declaration, or with Chinese in GB2312, counts like any other.
func TestKeepaliveGB18030(t *testing.T) {
	s := startHub(t, gb28181.Options{Devices: devices(camA)})
	ctx := ctxT(t)
	dev := newFakeDevice(t, camA, "pw-"+camA, s.Addr(), "UDP")
	mustStatus(t, "register", 200)(dev.register(ctx, 3600))
	body := gbBody("<Notify><CmdType>Keepalive</CmdType><SN>7</SN><DeviceID>" + camA +
		"</DeviceID><Status>OK</Status><Name>东街社区 路口</Name></Notify>")
	mustStatus(t, "undeclared GB18030 keepalive", 200)(dev.message(ctx, body))
	if d, _ := s.Device(camA); d.LastKeepalive.IsZero() {
		t.Fatal("the GB18030 keepalive was not counted")
	}
	mustStatus(t, "not XML", 400)(dev.message(ctx, []byte("hello")))
}

// TestCloseLeavesNothing: Close waits for every goroutine the server
// started, with devices connected over UDP and TCP.
func TestCloseLeavesNothing(t *testing.T) {
	before := goleak.IgnoreCurrent()
	s, err := gb28181.New(gb28181.Options{ID: hubID, Domain: hubDomain, Listen: "127.0.0.1:0", Devices: devices(camA), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	for _, tp := range []string{"UDP", "TCP"} {
		dev := newFakeDevice(t, camA, "pw-"+camA, s.Addr(), tp)
		mustStatus(t, "register "+tp, 200)(dev.register(ctx, 3600))
		mustStatus(t, "keepalive "+tp, 200)(dev.keepalive(ctx))
		dev.close()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
}
