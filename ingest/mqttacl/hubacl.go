package mqttacl

import (
	"fmt"
	"slices"
	"strings"

	"snowhub/configs"
)

// HubACL is the acl_file block of one hub of a prefecture, following the
// hubs: list (or, in the old form, the hub's own section): every hub reads
// the device topics and writes only under its own feed
// (snowbright/hubs/{id}/), where it also reads the requests addressed to
// it; an owner that views nothing reads no other hub's topics at all. A
// view reads the feeds of the hubs it views and their replies to it, and
// writes action requests to them only under its own id as the last level,
// so the owner knows from the topic which hub asks; a hub that views
// nobody writes no request. Concatenate the blocks (and passwd files) of
// every hub for a shared broker (docs/prefecture.md).
func HubACL(cfg *configs.Config) string {
	m := cfg.MQTT
	id, user := cfg.Hub.ID, m.HubUsername()
	var b strings.Builder
	fmt.Fprintf(&b, "# Hub %s of a prefecture: reads device topics, writes its own feed only.\nuser %s\n", id, user)
	fmt.Fprintf(&b, "topic read %s/sensors/#\ntopic read %s/cameras/#\ntopic read %s/#\n", m.TopicPrefix, m.TopicPrefix, m.Z2MPrefix)
	fmt.Fprintf(&b, "topic readwrite %s/hubs/%s/#\n", m.TopicPrefix, id)
	for _, o := range viewedHubs(cfg) {
		base := m.TopicPrefix + "/hubs/" + o
		fmt.Fprintf(&b, "# the feed of %s, its replies to %s, and requests to it\n", o, id)
		for _, t := range []string{"status", "events", "incidents/+", "cameras/+", "sensors/+", "replies/" + id} {
			fmt.Fprintf(&b, "topic read %s/%s\n", base, t)
		}
		fmt.Fprintf(&b, "topic write %s/actions/%s\n", base, id)
	}
	if m.DeadLetterTopic != "" {
		fmt.Fprintf(&b, "topic write %s/#\n", m.DeadLetterTopic)
	}
	return b.String()
}

// viewedHubs are the hubs whose feeds the hub reads: by the list, each
// hub it views by id (all: every other of the list); in the old form its
// hub.view, "all" as the wildcard level "+".
func viewedHubs(cfg *configs.Config) []string {
	if cfg.Listed() {
		var out []string
		for _, h := range cfg.Hubs {
			if cfg.HubViews(cfg.Hub.ID, h.ID) {
				out = append(out, h.ID)
			}
		}
		return out
	}
	if slices.Contains(cfg.Hub.View, "all") {
		return []string{"+"}
	}
	return slices.DeleteFunc(slices.Clone(cfg.Hub.View), func(v string) bool { return v == cfg.Hub.ID })
}
