package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"snowhub/internal/test/testenv"
)

// mqttString is an MQTT length-prefixed string.
func mqttString(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }

// mqttPacket frames an MQTT packet: its first byte, the remaining length
// as a varint, the body.
func mqttPacket(first byte, body []byte) []byte {
	out := []byte{first}
	n := len(body)
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// rawAttempt opens one MQTT 3.1.1 connection as user/pass and, when
// logged in, sends one QoS 1 publish to topic; it returns once the broker
// has answered or closed the connection. A device's own client would do
// the same with a reconnect for each refused publish.
func rawAttempt(t *testing.T, addr, user, pass, topic string, payload []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	body := append(mqttString("MQTT"), 4, 0xC2, 0, 60) // 3.1.1; username, password, clean session
	body = append(body, mqttString(user)...)
	body = append(body, mqttString(user)...)
	body = append(body, mqttString(pass)...)
	if _, err := c.Write(mqttPacket(0x10, body)); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil || ack[3] != 0 {
		return // refused at login (or closed)
	}
	pub := append(mqttString(topic), 0, 1)
	pub = append(pub, payload...)
	c.Write(mqttPacket(0x32, pub))
	io.Copy(io.Discard, c) // the broker closes a 3.1.1 connection whose publish it refuses
}

// One device credential's 2,000 refused publishes, and 2,000 wrong
// passwords, each add less than 100 KB to the hub's log: the broker
// library's own lines go through the limiter too, without the packet; the
// refusals are counted.
func TestRefusedPublishesDoNotFloodTheLog(t *testing.T) {
	hub, addr := embeddedBrokerHub(t)
	// A packet a device sent must not reach the log: a marker in every
	// refused publish's payload.
	payload := []byte(`{"value":1,"pad":"` + strings.Repeat("PACKETBODY", 200) + `"}`)

	const attempts = 2000
	for _, phase := range []struct{ name, pass, topic, metric string }{
		{"refused publishes", "gw-password-123", "snowbright/sensors/s-2/event", `snowhub_broker_auth_refused_total{what="publish"}`},
		{"wrong passwords", "wrong-password", "", `snowhub_broker_auth_refused_total{what="login"}`},
	} {
		before := len(hub.Output())
		for i := 0; i < attempts; i++ {
			rawAttempt(t, addr, "gw", phase.pass, phase.topic, payload)
		}
		time.Sleep(500 * time.Millisecond) // the last lines written
		added := hub.Output()[before:]
		if len(added) >= 100<<10 {
			t.Errorf("%d %s added %d bytes of log, want less than 100 KB; the first lines:\n%.3000s", attempts, phase.name, len(added), added)
		}
		if strings.Contains(added, "PACKETBODY") || strings.Contains(added, " pk=") || strings.Contains(added, " packet=") {
			t.Errorf("%s: a refused packet's contents reached the log", phase.name)
		}
		if !strings.Contains(added, "refused") {
			t.Errorf("%s: not logged at all:\n%.2000s", phase.name, added)
		}
		if n := metricValue(t, hub.Base, phase.metric); n < attempts {
			t.Errorf("%s = %v, want at least %d", phase.metric, n, attempts)
		}
		t.Logf("%d %s: %d bytes of log", attempts, phase.name, len(added))
	}
	if n := metricValue(t, hub.Base, `snowhub_log_suppressed_total{source="broker"}`); n == 0 {
		t.Error("no suppressed broker lines counted")
	}
}

// embeddedBrokerHub starts a hub process on its embedded broker with one
// device user (gw, for s-1); it returns the hub and the broker's address.
func embeddedBrokerHub(t *testing.T) (*testenv.Hub, string) {
	dir := t.TempDir()
	port, mport := testenv.FreePort(t), testenv.FreePort(t)
	cfg := fmt.Sprintf("listen: 127.0.0.1:%d\ndata_dir: %s\n", port, filepath.Join(dir, "data")) +
		fmt.Sprintf("mqtt:\n  broker: \"\"\n  embedded_listen: 127.0.0.1:%d\n  device_users: [{username: gw, password: gw-password-123, devices: [s-1]}]\n", mport) +
		"influx: {url: \"http://127.0.0.1:1\"}\ncounty: {id: c, name: C}\ntownships:\n  - id: t1\n    name: T1\n    villages:\n      - {id: v1, name: V1}\n" +
		"sensors:\n  - {id: s-1, kind: smoke, village: v1}\n  - {id: s-2, kind: smoke, village: v1}\n" +
		"users:\n  - {name: ops, role: operator, token: " + opsToken + "}\n"
	path := filepath.Join(dir, "snowhub.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	hub := testenv.NewHub(t, path, port)
	hub.Start()
	return hub, fmt.Sprintf("127.0.0.1:%d", mport)
}

// Failed authentications leave a trace: five wrong bearer tokens and three
// wrong broker passwords are counted, logged (limited: one line per
// address) and audited with the peer's address. Before, 0 log lines and
// 0 audit entries.
func TestFailedAuthenticationsLeaveATrace(t *testing.T) {
	hub, addr := embeddedBrokerHub(t)
	for i := 0; i < 5; i++ {
		req, _ := http.NewRequest("GET", hub.Base+"/api/v1/incidents", nil)
		req.Header.Set("Authorization", fmt.Sprintf("Bearer guessed-token-%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("a wrong token answered %d", resp.StatusCode)
		}
	}
	for i := 0; i < 3; i++ {
		rawAttempt(t, addr, "gw", "wrong-password", "", nil)
	}
	if n := metricValue(t, hub.Base, `snowhub_http_auth_failed_total{why="unknown"}`); n != 5 {
		t.Errorf("snowhub_http_auth_failed_total{why=unknown} = %v, want 5", n)
	}
	if n := metricValue(t, hub.Base, `snowhub_broker_auth_refused_total{what="login"}`); n != 3 {
		t.Errorf("snowhub_broker_auth_refused_total{what=login} = %v, want 3", n)
	}
	out := hub.Output()
	if n := strings.Count(out, "unknown bearer token refused"); n != 1 {
		t.Errorf("%d log lines for 5 wrong tokens from one address, want 1 (limited)", n)
	}
	if !regexp.MustCompile(`unknown bearer token refused.*remote=127\.0\.0\.1:\d+`).MatchString(out) {
		t.Error("the log line does not name the peer's address")
	}
	req, _ := http.NewRequest("GET", hub.Base+"/api/v1/audit", nil)
	req.Header.Set("Authorization", "Bearer "+opsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var entries []struct{ Action, Remote, Result string }
	json.NewDecoder(resp.Body).Decode(&entries)
	resp.Body.Close()
	var http401, mqttLogin bool
	for _, e := range entries {
		if e.Action != "auth_refused" || !strings.HasPrefix(e.Remote, "127.0.0.1:") {
			continue
		}
		http401 = http401 || e.Result == "unknown token"
		mqttLogin = mqttLogin || strings.Contains(e.Result, "MQTT login refused")
	}
	if !http401 || !mqttLogin {
		t.Errorf("audit entries %+v: want an auth_refused entry with the address for the wrong token (%v) and the broker login (%v)", entries, http401, mqttLogin)
	}
}

// metricValue reads one series of the hub's /metrics.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s not in /metrics", series)
	}
	v, _ := strconv.ParseFloat(string(bytes.TrimSpace(m[1])), 64)
	return v
}
