package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"

	"snowhub/configs"
	"snowhub/ingest/mqttacl"
	"snowhub/internal/loglimit"
)

// BrokerOptions configure the embedded MQTT broker.
type BrokerOptions struct {
	Listen  string // host:port; port 0 picks a free one
	DataDir string // sessions, queued messages and retained messages, kept across restarts
	// Config gives the device users, their devices, the hub's username and
	// client id, mqtt.max_payload and the listener's TLS files.
	Config *configs.Config
	Logger *slog.Logger
	// AuditLogin, when set, records a refused login in the audit trail with
	// the peer's address (at most once per address every 10 s, the entry
	// saying how many were left out).
	AuditLogin func(at time.Time, remote, result string) error
}

// Broker is the embedded MQTT broker (mochi-mqtt) for the demo and for
// one-box installs: the same topics as an external broker.
type Broker struct {
	o    BrokerOptions
	srv  *mqtt.Server
	tcp  *listeners.TCP
	auth *authHook
	tls  *tls.Config // nil: plain TCP
	cert *x509.Certificate
	flow *hubFlow
	// logSuppressed counts the broker's lines the limiter left out.
	logSuppressed prometheus.Counter
}

// NewBroker builds the broker. On loopback with no device users it admits
// anonymous devices (the demo); otherwise only the configured device
// users, each to its own devices' topics, because a village network is not
// a trusted one. The hub always logs in with its own credential
// (HubCredential), which no configuration holds.
func NewBroker(o BrokerOptions) (*Broker, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Config == nil {
		return nil, errors.New("embedded broker: Config is required")
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded broker listen %q: %w", o.Listen, err)
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	m := o.Config.MQTT
	if !loopback && len(m.DeviceUsers) == 0 {
		return nil, fmt.Errorf("embedded broker on %s (beyond loopback) needs mqtt.device_users", o.Listen)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	if m.MaxPayload > 0 {
		// Refused from the fixed header, before the packet is read: a
		// device cannot make the broker hold more than this.
		caps.MaximumPacketSize = uint32(m.MaxPayload + mqttacl.PacketHeadroom)
	}
	// Whatever a device or any peer of the listener can make mochi log (a
	// refused login or publish, a malformed packet) goes through the
	// limiter, without the packet it sent.
	suppressed := loglimit.Counter("broker")
	limit := loglimit.New(loglimit.Options{Suppressed: suppressed})
	mlog := slog.New(quietBroker{limit.Handler(o.Logger.Handler(), slog.LevelWarn, "pk", "packet")})
	srv := mqtt.New(&mqtt.Options{Logger: mlog, InlineClient: false, Capabilities: caps})
	b := &Broker{o: o, srv: srv, logSuppressed: suppressed}
	b.auth, err = newAuthHook(o.Config, loopback && len(m.DeviceUsers) == 0, o.Logger, limit)
	if err != nil {
		return nil, err
	}
	if o.AuditLogin != nil {
		b.auth.audit, b.auth.audits = o.AuditLogin, loglimit.New(loglimit.Options{})
	}
	if err := srv.AddHook(b.auth, nil); err != nil {
		return nil, err
	}
	b.flow = &hubFlow{srv: srv, hubID: m.ClientID, wait: hubFlowWait,
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_broker_refused_total",
			Help: "QoS 1 messages the embedded broker refused unacknowledged (the hub's session full); the device sends them again."}),
		held64: prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_broker_held_total",
			Help: "QoS 1 messages a publisher was held on while the hub's session caught up."})}
	if err := srv.AddHook(b.flow, nil); err != nil {
		return nil, err
	}
	if m.EmbeddedCertFile != "" {
		if b.tls, b.cert, err = listenerTLS(m); err != nil {
			return nil, err
		}
	}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, err
		}
		// Persistent sessions and their queued QoS 1 messages survive a
		// restart of the hub, so an alarm the hub had not acknowledged is
		// delivered again.
		if err := srv.AddHook(newSessionStore(), &bolt.Options{Path: filepath.Join(o.DataDir, "broker.db"),
			Options: &bbolt.Options{Timeout: 2 * time.Second}}); err != nil {
			return nil, fmt.Errorf("broker storage: %w", err)
		}
	}
	return b, nil
}

// listenerTLS loads the listener's certificate (and the client CA, when
// devices must present certificates).
func listenerTLS(m configs.MQTTConfig) (*tls.Config, *x509.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(m.EmbeddedCertFile, m.EmbeddedKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("mqtt.embedded_cert_file: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("mqtt.embedded_cert_file: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if m.EmbeddedClientCAFile != "" {
		pem, err := os.ReadFile(m.EmbeddedClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("mqtt.embedded_client_ca_file: %w", err)
		}
		cas := x509.NewCertPool()
		if !cas.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("mqtt.embedded_client_ca_file: no certificate found")
		}
		// Devices present a certificate of the CA. The hub's own client
		// presents the listener's certificate, which is accepted as itself
		// (byte for byte), not as a client certificate of the CA.
		tc.ClientAuth = tls.RequireAnyClientCert
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 1 && bytes.Equal(raw[0], leaf.Raw) {
				return nil
			}
			certs := make([]*x509.Certificate, 0, len(raw))
			for _, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs = append(certs, c)
			}
			opts := x509.VerifyOptions{Roots: cas, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
			for _, c := range certs[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := certs[0].Verify(opts)
			return err
		}
	}
	return tc, leaf, nil
}

// HubCredential is the username and password the hub's own client logs
// in with. The password is made at NewBroker and never leaves the process.
func (b *Broker) HubCredential() (user, password string) {
	return b.o.Config.MQTT.HubUsername(), b.auth.hubPass
}

// ClientTLS is the TLS configuration for the hub's own client on a TLS
// listener: it trusts exactly this broker's certificate, whatever name the
// certificate carries, since the hub is talking to itself. Nil without TLS.
func (b *Broker) ClientTLS() *tls.Config {
	if b.tls == nil {
		return nil
	}
	want := b.cert.Raw
	tc := &tls.Config{MinVersion: tls.VersionTLS12,
		// Verification is the pinning below, not a name or a chain.
		InsecureSkipVerify: true, //nolint:gosec
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], want) {
				return errors.New("embedded broker presented another certificate")
			}
			return nil
		}}
	if b.tls.ClientAuth != tls.NoClientCert {
		tc.Certificates = b.tls.Certificates
	}
	return tc
}

// Collectors are the broker's metrics.
func (b *Broker) Collectors() []prometheus.Collector {
	return []prometheus.Collector{b.flow.refused, b.flow.held64, b.auth.refused, b.logSuppressed}
}

// refusedRecently is how long /readyz tells of a refused message.
const refusedRecently = time.Minute

// Ready fails for a minute after the broker refused a message: devices are
// sending faster than the hub takes them.
func (b *Broker) Ready() error {
	last := b.flow.lastRefu.Load()
	if last == 0 || time.Since(time.Unix(0, last)) > refusedRecently {
		return nil
	}
	return fmt.Errorf("内置代理拒收消息（未确认，设备将重发） (embedded broker refused messages unacknowledged; devices send them again): %d in all",
		b.flow.refusedN.Load())
}

// Update applies a reloaded configuration's device users and devices to
// logins from now on and to every publish and subscribe.
func (b *Broker) Update(cfg *configs.Config) { b.auth.update(cfg) }

// Listen binds the listening socket without serving it: Addr is known
// from here on, so the hub's own clients can be built before anything
// runs. mochi's AddListener runs the listener's Init, which binds and
// starts no goroutine; connections wait in the kernel's backlog until
// Start.
func (b *Broker) Listen() error {
	if b.tcp != nil {
		return errors.New("embedded broker: Listen after Listen")
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: b.o.Listen, TLSConfig: b.tls})
	if err := b.srv.AddListener(tcp); err != nil {
		return fmt.Errorf("listen %s: %w", b.o.Listen, err)
	}
	b.tcp = tcp
	return nil
}

// Start serves in the background, binding first if Listen was not called.
func (b *Broker) Start() error {
	if b.tcp == nil {
		if err := b.Listen(); err != nil {
			return err
		}
	}
	if err := b.srv.Serve(); err != nil {
		return err
	}
	b.o.Logger.Info("embedded MQTT broker listening", "addr", b.Addr())
	return nil
}

// Addr is the broker's URL as bound: tcp://host:port, or ssl://host:port
// behind TLS.
func (b *Broker) Addr() string {
	if b.tls != nil {
		return "ssl://" + b.tcp.Address()
	}
	return "tcp://" + b.tcp.Address()
}

// Close disconnects clients and stops; after Listen alone it releases
// the socket and the session store, and serves nothing.
func (b *Broker) Close() error { return b.srv.Close() }

// sessionStore is mochi's bolt store with one repair: at v2.7.9 it saves
// in-flight messages without their packet id, and the broker then refuses
// to resend them ("protocol violation: missing packet id") and drops the
// session in a loop. The id is the last part of each stored key.
//
// Its in-flight writes go through asyncQos: bolt syncs the file on every
// write, and the hub's acknowledgements waited on one disk write each.
type sessionStore struct {
	*bolt.Hook
	q *asyncQos
}

func newSessionStore() *sessionStore {
	h := &sessionStore{Hook: new(bolt.Hook)}
	h.q = newAsyncQos(func(op qosOp) { h.Hook.OnQosPublish(op.cl, op.pk, op.sent, op.resends) },
		func(op qosOp) { h.Hook.OnQosComplete(op.cl, op.pk) })
	return h
}

func (h *sessionStore) OnQosPublish(cl *mqtt.Client, pk packets.Packet, sent int64, resends int) {
	h.q.publish(cl, pk, sent, resends)
}

func (h *sessionStore) OnQosComplete(cl *mqtt.Client, pk packets.Packet) { h.q.complete(cl, pk) }

func (h *sessionStore) OnQosDropped(cl *mqtt.Client, pk packets.Packet) { h.q.complete(cl, pk) }

// Stop writes the pending in-flight changes, then closes the file.
func (h *sessionStore) Stop() error {
	h.q.close()
	return h.Hook.Stop()
}

func (h *sessionStore) StoredInflightMessages() ([]storage.Message, error) {
	msgs, err := h.Hook.StoredInflightMessages()
	for i := range msgs {
		if msgs[i].PacketID != 0 {
			continue
		}
		if j := strings.LastIndexByte(msgs[i].ID, ':'); j >= 0 {
			if id, perr := strconv.ParseUint(msgs[i].ID[j+1:], 10, 16); perr == nil {
				msgs[i].PacketID = uint16(id)
			}
		}
	}
	return msgs, err
}

// quietBroker lowers two kinds of mochi log lines to debug: the storage
// hook's "key not found" at a first start (nothing stored yet), and a
// connection's "use of closed network connection" when a device's session
// is taken over or closed, which is routine.
type quietBroker struct{ slog.Handler }

func (q quietBroker) Handle(ctx context.Context, r slog.Record) error {
	routine := false
	if r.Level >= slog.LevelWarn {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				msg := a.Value.String()
				routine = (r.Message == "failed to get data" && strings.Contains(msg, "not found")) ||
					strings.Contains(msg, "use of closed network connection")
			}
			return !routine
		})
	}
	if routine {
		r.Level = slog.LevelDebug
		if !q.Handler.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return q.Handler.Handle(ctx, r)
}

func (q quietBroker) WithAttrs(as []slog.Attr) slog.Handler {
	return quietBroker{q.Handler.WithAttrs(as)}
}

func (q quietBroker) WithGroup(n string) slog.Handler {
	return quietBroker{q.Handler.WithGroup(n)}
}
