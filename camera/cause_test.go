package camera

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"snowhub/camera/rtsp"
	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
)

// Causes come from what happened on the wire, checked against real
// failures: a camera's RTSP status, a refused port, a connection reset at
// accept, a camera that never answers. A dropped connection whose client
// port happens to hold "401" or "404" is a reset, never auth or not_found
// (the error text names the ports; the old classifier read it).
func TestClassifyRealFailures(t *testing.T) {
	cam := simcam.ProbeCamera()
	auth := simcam.ProbeCamera()
	auth.User, auth.Pwd = "admin", "right"
	slow := simcam.ProbeCamera()
	slow.Delay = 5 * time.Second
	busy := simcam.ProbeCamera()
	busy.Status = 503
	s, err := rawrtsp.Start(func(path string) *rawrtsp.Camera {
		switch path {
		case "/ok":
			return cam
		case "/auth":
			return auth
		case "/slow":
			return slow
		case "/busy":
			return busy
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	drop, err := rawrtsp.Start(func(string) *rawrtsp.Camera { return cam })
	if err != nil {
		t.Fatal(err)
	}
	defer drop.Close()
	drop.SetFaults(rawrtsp.Faults{Drop: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	check := func(url string, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return rtsp.Check(ctx, rtsp.Options{URL: url, Transport: "tcp", Timeout: timeout})
	}
	for _, tt := range []struct {
		name, url, want string
	}{
		{"not found", s.URL("/nope"), CauseNotFound},
		{"wrong password", "rtsp://admin:wrong@" + s.Addr() + "/auth", CauseAuth},
		{"busy", s.URL("/busy"), CauseBusy},
		{"refused", "rtsp://" + refused + "/x", CauseRefused},
		{"timeout", s.URL("/slow"), CauseTimeout},
	} {
		err := check(tt.url, time.Second)
		if got := classify(err); got != tt.want {
			t.Errorf("%s: %v: %s, want %s", tt.name, err, got, tt.want)
		}
	}
	if err := check(s.URL("/ok"), 2*time.Second); err != nil {
		t.Fatalf("a good camera: %v", err)
	}
	// Many drops, so that client ports with 401 and 404 in them come up.
	for i := range 200 {
		err := check(drop.URL(fmt.Sprintf("/c%d", i)), 2*time.Second)
		if got := classify(err); got != CauseReset {
			t.Fatalf("a connection closed at accept: %v: %s, want %s", err, got, CauseReset)
		}
	}
	// What the old classifier did with a port's digits.
	fake := &net.OpError{Op: "read", Net: "tcp", Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40122},
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 554}, Err: fmt.Errorf("wrapped: %w", errFake404)}
	if got := classify(fake); got == CauseAuth || got == CauseNotFound {
		t.Errorf("%v: %s from the text of an address", fake, got)
	}
}

var errFake404 = fmt.Errorf("something 404 happened")
