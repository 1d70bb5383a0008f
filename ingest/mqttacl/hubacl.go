package mqttacl

import (
	"fmt"
	"strings"

	"snowhub/configs"
)

// HubACL is the acl_file block of one hub of a prefecture: it reads the
// device topics, writes only under its own feed (snowbright/hubs/{id}/),
// reads the other hubs' feeds (a view), and writes action requests to
// another hub only under its own id as the last level, so the owner knows
// from the topic which hub asks. Concatenate the blocks (and passwd files)
// of every hub for a shared broker (docs/prefecture.md).
func HubACL(cfg *configs.Config) string {
	m := cfg.MQTT
	id, user := cfg.Hub.ID, m.HubUsername()
	var b strings.Builder
	fmt.Fprintf(&b, "# Hub %s of a prefecture: reads device topics, writes its own feed only.\nuser %s\n", id, user)
	fmt.Fprintf(&b, "topic read %s/sensors/#\ntopic read %s/cameras/#\ntopic read %s/#\n", m.TopicPrefix, m.TopicPrefix, m.Z2MPrefix)
	fmt.Fprintf(&b, "topic readwrite %s/hubs/%s/#\n", m.TopicPrefix, id)
	fmt.Fprintf(&b, "topic read %s/hubs/+/#\n", m.TopicPrefix)
	fmt.Fprintf(&b, "topic write %s/hubs/+/actions/%s\n", m.TopicPrefix, id)
	if m.DeadLetterTopic != "" {
		fmt.Fprintf(&b, "topic write %s/#\n", m.DeadLetterTopic)
	}
	return b.String()
}
