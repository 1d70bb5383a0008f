package ingest

import (
	"encoding/json"
	"sort"
	"time"
	"unicode/utf8"
)

// Limits in bytes on what devices can make the hub keep (docs/security.md).
const (
	// MaxDetailBytes bounds a camera event's detail as the hub keeps and
	// forwards it (JSON-encoded): the walls' history holds thousands.
	MaxDetailBytes = 1024
	// maxDetailValue bounds one kept detail value.
	maxDetailValue = 256
	// FlagDetailTrimmed marks a camera event whose detail was trimmed.
	FlagDetailTrimmed = "detail_trimmed"
	// maxUnknown and unknownTTL bound the list of devices that publish
	// without being configured.
	maxUnknown = 10000
	unknownTTL = 24 * time.Hour
)

// listableID reports whether an unconfigured device's id may be listed:
// configured ids are 1-64 letters, digits, '.', '_' or '-', and Zigbee2MQTT
// friendly names (already free of wildcards and control characters, see
// parseTopic) at most 64 bytes of UTF-8.
func listableID(id string) bool {
	return len(id) >= 1 && len(id) <= 64 && utf8.ValidString(id)
}

// trimDetail keeps a camera event's detail within MaxDetailBytes: when it
// is larger, its smallest values are kept while the total fits, and
// trimmed is true.
func trimDetail(d map[string]any) (out map[string]any, trimmed bool) {
	if d == nil {
		return nil, false
	}
	if b, err := json.Marshal(d); err == nil && len(b) <= MaxDetailBytes {
		return d, false
	}
	// The smallest values first (a plate, a lane, a score), by name among
	// equals, so the trim is the same for the same detail.
	type kv struct {
		k string
		b []byte
	}
	kvs := make([]kv, 0, len(d))
	for k, v := range d {
		if b, err := json.Marshal(v); err == nil && len(b) <= maxDetailValue && len(k) <= 64 {
			kvs = append(kvs, kv{k, b})
		}
	}
	sort.Slice(kvs, func(i, j int) bool {
		if len(kvs[i].b) != len(kvs[j].b) {
			return len(kvs[i].b) < len(kvs[j].b)
		}
		return kvs[i].k < kvs[j].k
	})
	out = map[string]any{}
	size := 2
	for _, x := range kvs {
		if size+len(x.k)+len(x.b)+4 > MaxDetailBytes {
			break
		}
		out[x.k] = d[x.k]
		size += len(x.k) + len(x.b) + 4
	}
	return out, true
}

// clipKey shortens what a device sent before it is a map key or logged.
func clipKey(s string) string { return clip(s, 128) }
