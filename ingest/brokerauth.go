package ingest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"snowhub/configs"
	"snowhub/ingest/mqttacl"
	"snowhub/internal/loglimit"
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
	// Refusals are logged through the broker's limiter (once per kind and
	// user every 10 s, a few lines a second in all): a device hammering the
	// broker with a wrong password must not fill the disk. Each is counted
	// in snowhub_broker_auth_refused_total.
	logLimit *loglimit.Limiter
	refused  *prometheus.CounterVec
	// audit records refused logins with the peer's address, through
	// audits (keyed by the address); nil: not audited.
	audit  func(at time.Time, remote, result string) error
	audits *loglimit.Limiter
}

func newAuthHook(cfg *configs.Config, anonymous bool, log *slog.Logger, limit *loglimit.Limiter) (*authHook, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	h := &authHook{log: log, hubPass: hex.EncodeToString(b), anonymous: anonymous, logLimit: limit,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_broker_auth_refused_total",
			Help: "Logins, publishes and subscriptions the embedded broker refused, by what was refused (login, publish, subscribe)."}, []string{"what"})}
	for _, w := range []string{"login", "publish", "subscribe"} {
		h.refused.WithLabelValues(w)
	}
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
		h.refuse("login", user, "MQTT 登录被拒绝 (MQTT login refused)", "user", clip(user, 64), "client", clip(cl.ID, 64), "remote", cl.Net.Remote, "why", why)
		h.auditLogin(cl.Net.Remote, user, why)
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
		h.refuse(verb, user, "MQTT "+verb+" refused", "user", clip(user, 64), "client", clip(cl.ID, 64), "topic", clip(topic, 128))
	}
	return ok
}

func (h *authHook) refuse(what, user, msg string, args ...any) {
	h.refused.WithLabelValues(what).Inc()
	h.logLimit.Log(h.log, slog.LevelWarn, what+"|"+clip(user, 64), msg, args...)
}

// clip shortens what a client sent before it is logged.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (h *authHook) auditLogin(remote, user, why string) {
	if h.audit == nil {
		return
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ok, left := h.audits.Allow(host)
	if !ok {
		return
	}
	result := fmt.Sprintf("MQTT login refused: %s (user %q)", why, clip(user, 64))
	if left > 0 {
		result += fmt.Sprintf(" (%d more from this address since the last entry)", left)
	}
	if err := h.audit(time.Now(), remote, result); err != nil {
		h.log.Warn("refused MQTT login not audited", "err", err)
	}
}
