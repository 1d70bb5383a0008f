// Package gb28181 is the hub as the upper platform of GB/T 28181-2016
// (and -2022): a SIP server on UDP and TCP that county cameras, NVRs and
// lower platforms register to with digest authentication, send keepalives
// to, and whose state it keeps with a cause for every state. It is the
// signalling, the registry and the state; catalog, channels as cameras and
// video come next. Like camera/rtsp it knows nothing of the hub: the
// assembly reads Devices and OnChange.
package gb28181

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Accept modes for devices not in Options.Devices.
const (
	AcceptKnown = "known" // refuse them (403), list them as refused
	AcceptAny   = "any"   // take them with the shared password
	AcceptHold  = "hold"  // refuse them (403), list them as held for the admin
)

// DeviceConfig is one configured device.
type DeviceConfig struct {
	ID       string
	Password string // empty: Options.Password
	Township string
	Village  string
}

// Place is a township, and a village in it or "".
type Place struct{ Township, Village string }

// ChannelConfig places one channel by id (gb28181.channels[]).
type ChannelConfig struct {
	ID string
	Place
}

// Options of the server. ID, Domain and Listen are required.
type Options struct {
	ID       string // the hub's 20-digit SIP id
	Domain   string // the SIP domain (the id's first 10 digits by custom)
	Realm    string // digest realm; empty: Domain
	Listen   string // host:port served on UDP and TCP; port 0 picks one (the same for both)
	Password string // shared device password; empty with no device password: no digest
	Accept   string // known | any | hold; empty: known
	Devices  []DeviceConfig

	KeepaliveMisses int // offline after this many missed intervals; 0: 3
	// KeepaliveInterval is assumed until a device shows its own; 0: 60 s,
	// GB/T 28181's default.
	KeepaliveInterval time.Duration
	// DefaultExpires is a REGISTER's expiry when it names none; 0: 3600 s.
	DefaultExpires time.Duration
	// FailLimit wrong passwords per source IP within FailWindow, then its
	// REGISTERs go unanswered until the window ends; 0: 5 per minute.
	FailLimit  int
	FailWindow time.Duration
	// Tick is how often expiry and keepalives are judged; 0: 1 s.
	Tick time.Duration

	Logger *slog.Logger
	Now    func() time.Time // the clock; nil: time.Now
	// OnChange, if set, is told each transition (state or cause). Calls
	// are serialised and must not block: hand over and return.
	OnChange func(Device)

	// CatalogTimeout is how long the answers to a Catalog query are
	// collected (and the query's MESSAGE waits for its 200); 0: 30 s.
	CatalogTimeout time.Duration
	// MaxChannels bounds the channels kept of one device's catalog; 0:
	// 4096 (a township platform's; an NVR has up to 256).
	MaxChannels int
	// Places maps a 行政区划代码 (townships[].civil_code,
	// villages[].civil_code) to where it is: a channel stands at the
	// longest code its catalog CivilCode begins with.
	Places map[string]Place
	// Channels place channels by id; an entry wins over the CivilCode.
	Channels []ChannelConfig

	// OnCatalog, if set, is told the id of a device whose catalog in force
	// changed (Channels has it). Serialised with OnChange; must not block.
	OnCatalog func(device string)
}

// maxListed bounds the refused and held devices kept for the admin: a
// scanner walking through ids must not grow the hub without end.
const maxListed = 1024

// Server is the GB/T 28181 SIP server.
type Server struct {
	o      Options
	log    *slog.Logger
	now    func() time.Time
	nonce  nonces
	policy policy
	known  map[string]DeviceConfig
	placed map[string]Place // gb28181.channels, by channel id

	mu      sync.Mutex
	devices map[string]*record
	listed  int // refused and held devices in devices
	unlist  int // refused or held devices not listed (over maxListed)
	fails   failures

	notifyMu sync.Mutex
	sn       atomic.Uint64 // the SN of the hub's queries
	stopping bool          // under mu: Close began, no query is started

	ctx    context.Context
	client *sipgo.Client

	udp    net.PacketConn
	tcp    net.Listener
	ua     *sipgo.UserAgent
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
	err    error
}

// New checks the options and builds the server; Start listens.
func New(o Options) (*Server, error) {
	if o.ID == "" || o.Domain == "" || o.Listen == "" {
		return nil, errors.New("gb28181: id, domain and listen are required")
	}
	switch o.Accept {
	case "":
		o.Accept = AcceptKnown
	case AcceptKnown, AcceptAny, AcceptHold:
	default:
		return nil, fmt.Errorf("gb28181: accept %q: want known, any or hold", o.Accept)
	}
	if o.Realm == "" {
		o.Realm = o.Domain
	}
	if o.KeepaliveMisses <= 0 {
		o.KeepaliveMisses = 3
	}
	if o.KeepaliveInterval <= 0 {
		o.KeepaliveInterval = 60 * time.Second
	}
	if o.DefaultExpires <= 0 {
		o.DefaultExpires = time.Hour
	}
	if o.FailLimit <= 0 {
		o.FailLimit = 5
	}
	if o.FailWindow <= 0 {
		o.FailWindow = time.Minute
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.CatalogTimeout <= 0 {
		o.CatalogTimeout = 30 * time.Second
	}
	if o.MaxChannels <= 0 {
		o.MaxChannels = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{o: o, log: o.Logger, now: o.Now,
		policy:  policy{misses: o.KeepaliveMisses, interval: o.KeepaliveInterval},
		known:   map[string]DeviceConfig{},
		placed:  map[string]Place{},
		devices: map[string]*record{},
		fails:   failures{limit: o.FailLimit, window: o.FailWindow, byIP: map[string]*failWindow{}},
	}
	if s.now == nil {
		s.now = time.Now
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("gb28181: nonce key: %w", err)
	}
	s.nonce = nonces{key: key}
	for _, c := range o.Channels {
		s.placed[c.ID] = c.Place
	}
	now := s.now()
	for _, d := range o.Devices {
		if _, dup := s.known[d.ID]; dup {
			return nil, fmt.Errorf("gb28181: device %s listed twice", d.ID)
		}
		s.known[d.ID] = d
		// A configured device is unknown until heard from in this run of
		// the hub: never online from an old record, never offline because
		// the hub restarted.
		r := &record{Device: Device{ID: d.ID, Known: true, Township: d.Township, Village: d.Village}, password: d.Password}
		r.set(now, StateUnknown, CauseNeverRegistered, bilingual("本次启动以来尚未收到该设备的注册或心跳",
			"not heard from since the hub started"))
		s.devices[d.ID] = r
	}
	return s, nil
}

// listenBoth listens on UDP and on TCP at the port UDP got. With port 0
// the kernel picks a UDP port whose TCP twin may be taken by another
// program; then it tries another pair rather than fail a start that asked
// for any port.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	tries := 1
	if port == "0" {
		tries = 20
	}
	var err error
	for range tries {
		var udp net.PacketConn
		udp, err = net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("gb28181: listen udp %s: %w", addr, err)
		}
		var tcp net.Listener
		tcp, err = net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp, nil
		}
		err = fmt.Errorf("gb28181: listen tcp %s: %w", udp.LocalAddr(), err)
		udp.Close()
	}
	return nil, nil, err
}

// Start listens on UDP and TCP and serves until ctx ends or Close.
func (s *Server) Start(ctx context.Context) error {
	udp, tcp, err := listenBoth(s.o.Listen)
	if err != nil {
		return err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("snowhub"))
	if err != nil {
		udp.Close()
		tcp.Close()
		return fmt.Errorf("gb28181: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		ua.Close()
		udp.Close()
		tcp.Close()
		return fmt.Errorf("gb28181: server: %w", err)
	}
	// The hub's own requests (the catalog query) leave from the listening
	// sockets to the address each device last spoke from: over NAT that
	// is the only way back to it.
	var copts []sipgo.ClientOption
	if host, _, _ := net.SplitHostPort(udp.LocalAddr().String()); host != "" && !net.ParseIP(host).IsUnspecified() {
		copts = append(copts, sipgo.WithClientHostname(host))
	}
	client, err := sipgo.NewClient(ua, append(copts, sipgo.WithClientLogger(s.log))...)
	if err != nil {
		ua.Close()
		udp.Close()
		tcp.Close()
		return fmt.Errorf("gb28181: client: %w", err)
	}
	srv.OnRegister(s.onRegister)
	srv.OnMessage(s.onMessage)
	s.udp, s.tcp, s.ua, s.client = udp, tcp, ua, client
	ctx, s.cancel = context.WithCancel(ctx)
	s.ctx = ctx
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		if err := srv.ServeUDP(udp); err != nil && ctx.Err() == nil {
			s.log.Error("gb28181: udp serve ended", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		if err := srv.ServeTCP(tcp); err != nil && ctx.Err() == nil {
			s.log.Error("gb28181: tcp serve ended", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.watch(ctx)
	}()
	s.log.Info("gb28181: serving", "addr", udp.LocalAddr().String(), "id", s.o.ID, "domain", s.o.Domain, "accept", s.o.Accept)
	return nil
}

// Addr is the address served (UDP and TCP), once started.
func (s *Server) Addr() string {
	if s.udp == nil {
		return ""
	}
	return s.udp.LocalAddr().String()
}

// Close stops serving and waits for the server's goroutines.
func (s *Server) Close() error {
	if s.cancel == nil {
		return nil
	}
	s.closed.Do(func() {
		s.mu.Lock()
		s.stopping = true
		s.mu.Unlock()
		s.cancel()
		// The listeners first, so the serve loops return; then the user
		// agent, which closes the TCP connections and the transactions.
		s.udp.Close()
		s.tcp.Close()
		s.err = s.ua.Close()
		s.wg.Wait()
	})
	return s.err
}

// watch judges expiry and keepalives every tick.
func (s *Server) watch(ctx context.Context) {
	t := time.NewTicker(s.o.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.judge()
		}
	}
}

// judge runs the state model over every device once.
func (s *Server) judge() {
	now := s.now()
	var changed []Device
	s.mu.Lock()
	for _, r := range s.devices {
		if r.tick(now, s.policy) {
			changed = append(changed, r.Device)
		}
	}
	s.fails.prune(now)
	catalogs := s.expireCatalogs(now)
	s.mu.Unlock()
	s.notify(changed...)
	s.catalogChanged(catalogs...)
}

func (s *Server) notify(ds ...Device) {
	for _, d := range ds {
		s.log.Info("gb28181: device state", "device", d.ID, "state", d.State, "cause", d.Cause, "reason", d.Reason)
	}
	if s.o.OnChange == nil || len(ds) == 0 {
		return
	}
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	for _, d := range ds {
		s.o.OnChange(d)
	}
}

// Devices is every device the hub knows, configured or heard from, by id.
func (s *Server) Devices() []Device {
	s.mu.Lock()
	out := make([]Device, 0, len(s.devices))
	for _, r := range s.devices {
		out = append(out, r.Device)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Device) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// Device is one device by id.
func (s *Server) Device(id string) (Device, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.devices[id]
	if !ok {
		return Device{}, false
	}
	return r.Device, true
}

// respond answers a request; a failed write is logged, not returned: the
// device retransmits over UDP, and over TCP its connection is gone.
func (s *Server) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, extra ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range extra {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("gb28181: respond", "code", code, "to", req.Source(), "err", err)
	}
}

func deviceID(req *sip.Request) string {
	if f := req.From(); f != nil && f.Address.User != "" {
		return f.Address.User
	}
	if t := req.To(); t != nil {
		return t.Address.User
	}
	return ""
}
