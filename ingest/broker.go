package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/listeners"
	"go.etcd.io/bbolt"

	"snowhub/configs"
)

// BrokerOptions configure the embedded MQTT broker.
type BrokerOptions struct {
	Listen  string // host:port; port 0 picks a free one
	DataDir string // sessions, queued messages and retained messages, kept across restarts
	Users   []configs.DeviceUser
	Logger  *slog.Logger
}

// Broker is the embedded MQTT broker (mochi-mqtt) for the demo and for
// one-box installs: the same topics as an external broker.
type Broker struct {
	o   BrokerOptions
	srv *mqtt.Server
	tcp *listeners.TCP
}

// NewBroker builds the broker. On loopback it admits anonymous devices;
// listening beyond loopback it admits only the configured device users,
// because a village network is not a trusted one.
func NewBroker(o BrokerOptions) (*Broker, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded broker listen %q: %w", o.Listen, err)
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(quietBroker{o.Logger.Handler()}), InlineClient: false})
	if loopback && len(o.Users) == 0 {
		if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
			return nil, err
		}
	} else {
		if len(o.Users) == 0 {
			return nil, fmt.Errorf("embedded broker on %s (beyond loopback) needs mqtt.device_users", o.Listen)
		}
		ledger := &auth.Ledger{}
		for _, u := range o.Users {
			ledger.Auth = append(ledger.Auth, auth.AuthRule{Username: auth.RString(u.Username), Password: auth.RString(u.Password), Allow: true})
		}
		if err := srv.AddHook(new(auth.Hook), &auth.Options{Ledger: ledger}); err != nil {
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
		if err := srv.AddHook(&sessionStore{Hook: new(bolt.Hook)}, &bolt.Options{Path: filepath.Join(o.DataDir, "broker.db"),
			Options: &bbolt.Options{Timeout: 2 * time.Second}}); err != nil {
			return nil, fmt.Errorf("broker storage: %w", err)
		}
	}
	return &Broker{o: o, srv: srv}, nil
}

// Start listens and serves in the background.
func (b *Broker) Start() error {
	b.tcp = listeners.NewTCP(listeners.Config{ID: "tcp", Address: b.o.Listen})
	if err := b.srv.AddListener(b.tcp); err != nil {
		return fmt.Errorf("listen %s: %w", b.o.Listen, err)
	}
	if err := b.srv.Serve(); err != nil {
		return err
	}
	b.o.Logger.Info("embedded MQTT broker listening", "addr", b.Addr())
	return nil
}

// Addr is the broker's URL, tcp://host:port as bound.
func (b *Broker) Addr() string { return "tcp://" + b.tcp.Address() }

// Close disconnects clients and stops.
func (b *Broker) Close() error { return b.srv.Close() }

// sessionStore is mochi's bolt store with one repair: at v2.7.9 it saves
// in-flight messages without their packet id, and the broker then refuses
// to resend them ("protocol violation: missing packet id") and drops the
// session in a loop. The id is the last part of each stored key.
type sessionStore struct{ *bolt.Hook }

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
