package ingest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/time/rate"

	"snowhub/configs"
	"snowhub/ingest/mqttacl"
)

// authHook is the embedded broker's one gate: who may log in with which
// client id, and publish or subscribe to which topics (ingest/mqttacl).
// The hub logs in with a credential made at start and held only in this
// process, so no device user can be the hub or take its session.
type authHook struct {
	mqtt.HookBase
	log       *slog.Logger
	hubPass   string
	anonymous bool // loopback and no device users: the demo
	model     atomic.Pointer[mqttacl.Model]
	// Refusals are logged at a bounded rate: a device hammering the
	// broker with a wrong password must not fill the disk.
	logLimit *rate.Limiter
	refused  atomic.Int64
}

func newAuthHook(cfg *configs.Config, anonymous bool, log *slog.Logger) (*authHook, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	h := &authHook{log: log, hubPass: hex.EncodeToString(b), anonymous: anonymous, logLimit: rate.NewLimiter(5, 20)}
	h.model.Store(mqttacl.Build(cfg))
	return h, nil
}

func (h *authHook) ID() string { return "snowhub-auth" }

func (h *authHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

// update applies a reloaded configuration's device users and devices.
func (h *authHook) update(cfg *configs.Config) { h.model.Store(mqttacl.Build(cfg)) }

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	m := h.model.Load()
	user, pass := string(pk.Connect.Username), pk.Connect.Password
	ok, why := false, ""
	switch {
	case m.IsHub(user):
		ok = subtle.ConstantTimeCompare(pass, []byte(h.hubPass)) == 1
		why = "wrong password for the hub's own user"
	case m.Users[user] != nil:
		ok = subtle.ConstantTimeCompare(pass, []byte(m.Users[user].Password)) == 1
		why = "wrong password"
	case h.anonymous:
		ok = true
	default:
		why = "unknown user"
	}
	if ok && !m.ClientIDAllowed(user, cl.ID, h.anonymous) {
		ok = false
		why = "client id not this user's"
		if cl.ID == m.HubClient {
			why = "client id is the hub's own"
		}
	}
	if !ok {
		h.refuse("MQTT login refused", "user", user, "client", cl.ID, "remote", cl.Net.Remote, "why", why)
	}
	return ok
}

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	m := h.model.Load()
	user := string(cl.Properties.Username)
	var ok bool
	if write {
		ok = m.MayPublish(user, topic, h.anonymous)
	} else {
		ok = m.MaySubscribe(user, topic, h.anonymous)
	}
	if !ok {
		verb := "subscribe"
		if write {
			verb = "publish"
		}
		h.refuse("MQTT "+verb+" refused", "user", user, "client", cl.ID, "topic", clip(topic, 128))
	}
	return ok
}

func (h *authHook) refuse(msg string, args ...any) {
	n := h.refused.Add(1)
	if h.logLimit.Allow() {
		h.log.Warn(msg, append(args, "refused_total", n)...)
	}
}

// clip shortens what a client sent before it is logged.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
