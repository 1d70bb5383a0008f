package ingest

import (
	"crypto/sha256"
	"sync"
)

// dedup remembers the readings recently made durable, keyed on what
// identifies a reading: the topic (so the device and what it reports) and
// the device's own timestamp. A QoS 1 redelivery or a publisher's
// retransmission of a reading already stored is then acknowledged without
// being stored twice.
//
// A payload without a timestamp is never deduplicated here: two identical
// {"value":1} alarms are two alarms, and bytes alone cannot tell a
// redelivery from a new one. Downstream applies such a redelivery
// idempotently where it can (the engine's open-incident fingerprint).
//
// A key is added only after the sink accepted the reading, so a message
// whose write failed is never mistaken for one already stored.
type dedup struct {
	mu   sync.Mutex
	ring [][32]byte
	set  map[[32]byte]struct{}
	next int
}

func newDedup(n int) *dedup {
	return &dedup{ring: make([][32]byte, n), set: make(map[[32]byte]struct{}, n)}
}

// readingKey is the identity of a reading that carries its own timestamp;
// ok is false for one that does not.
func readingKey(topic, ts string) (k [32]byte, ok bool) {
	if ts == "" {
		return k, false
	}
	h := sha256.New()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write([]byte(ts))
	h.Sum(k[:0])
	return k, true
}

func (d *dedup) seen(k [32]byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.set[k]
	return ok
}

func (d *dedup) add(k [32]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.set[k]; ok {
		return
	}
	delete(d.set, d.ring[d.next])
	d.ring[d.next] = k
	d.set[k] = struct{}{}
	d.next = (d.next + 1) % len(d.ring)
}
