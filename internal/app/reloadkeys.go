package app

import (
	"reflect"
	"sort"
	"strings"

	"snowhub/configs"
)

// Every configuration key is in exactly one of these two lists (a test
// walks configs.Config and fails on a key in neither). An entry covers the
// key and everything under it. A list (cameras, sensors...) or a map is
// one key: it changes as a whole.
//
// When you add a configuration key, add it here: to liveKeys if Reload
// applies it to the running hub (say where, in a comment), to restartKeys
// if it is read once at start. A reload that changes a restart key keeps
// the running value and says "needs restart" in the log, /readyz (config)
// and snowhub_config_restart_pending.

// liveKeys are applied by Reload.
var liveKeys = []string{
	// setConfig: topology, tokens, the pages' configuration.
	"county", "townships", "users", "people", "departments",
	// The login service reads the sessions' timeouts and the lockout per
	// request (internal/login).
	"auth",
	// The incident engine reads audit.keep and audit.max_bytes at its
	// hourly look at the trail (alerts/auditkeep.go), from Update's config.
	"audit",
	"dashboard.allowed_origins",
	// camera.Manager.Update.
	"cameras",
	// ingest.Update: devices, rates, prefixes (resubscribed without a
	// gap), payload limit and dead letters read per message.
	"sensors", "mqtt.device_rate", "mqtt.topic_prefix", "mqtt.z2m_prefix", "mqtt.max_payload", "mqtt.dead_letter_topic",
	// ingest.Broker.Update (the embedded broker's logins and ACLs).
	"mqtt.device_users",
	// alerts.Engine.Update: rules, deadlines, calendar, classes, limits.
	"alerts", "maintenance",
	// notify.Notifier.Update: channels, routes, templates (queues kept).
	"notify",
}

// restartKeys are read once at start.
var restartKeys = []string{
	"listen", "data_dir", "log",
	// The MQTT connection: who the hub is and how it connects.
	"mqtt.broker", "mqtt.embedded_listen", "mqtt.client_id", "mqtt.username", "mqtt.password", "mqtt.password_file",
	"mqtt.ca_file", "mqtt.cert_file", "mqtt.key_file", "mqtt.workers", "mqtt.townships",
	"mqtt.embedded_cert_file", "mqtt.embedded_key_file", "mqtt.embedded_client_ca_file",
	"influx",
	// camera.NewManager options.
	"camera",
	// The websocket hub's history and queues are sized at start.
	"dashboard.history", "dashboard.client_queue",
	// A hub's place in the prefecture is bound at start, and so is the
	// list every hub checks the others against (a change is made on every
	// hub of the prefecture, each restarted).
	"hub", "hubs",
	// The GB/T 28181 server's identity, address and devices: devices hold
	// their registrations against them.
	"gb28181",
}

// configKey is one key of the configuration: its dotted path and the
// field indices that reach it from Config.
type configKey struct {
	path  string
	index []int
}

// configKeys lists every key of the configuration type, in order.
func configKeys() []configKey {
	var out []configKey
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			idx := append(append([]int(nil), index...), i)
			ft := f.Type
			if ft.Kind() == reflect.Struct && ft.PkgPath() == reflect.TypeOf(configs.Config{}).PkgPath() && !isScalarStruct(ft) {
				walk(ft, path, idx)
				continue
			}
			out = append(out, configKey{path, idx})
		}
	}
	walk(reflect.TypeOf(configs.Config{}), "", nil)
	return out
}

// isScalarStruct is a struct written as one YAML scalar (a Span: "1wd").
func isScalarStruct(t reflect.Type) bool { return t == reflect.TypeOf(configs.Span{}) }

// covered reports whether a list entry covers the key path.
func covered(list []string, path string) bool {
	for _, k := range list {
		if path == k || strings.HasPrefix(path, k+".") {
			return true
		}
	}
	return false
}

// changedKeys are the keys whose values differ between a and b.
func changedKeys(a, b *configs.Config) []string {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	var out []string
	for _, k := range configKeys() {
		if !reflect.DeepEqual(va.FieldByIndex(k.index).Interface(), vb.FieldByIndex(k.index).Interface()) {
			out = append(out, k.path)
		}
	}
	sort.Strings(out)
	return out
}

// keepRestartKeys sets every restart key of next to its value in running:
// what runs stays what was started, until the restart.
func keepRestartKeys(next, running *configs.Config) {
	vn, vr := reflect.ValueOf(next).Elem(), reflect.ValueOf(running).Elem()
	for _, k := range configKeys() {
		if covered(restartKeys, k.path) {
			vn.FieldByIndex(k.index).Set(vr.FieldByIndex(k.index))
		}
	}
}
