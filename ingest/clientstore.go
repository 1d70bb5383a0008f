package ingest

import (
	"bytes"
	"strings"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// clientStore is paho's in-memory session store, except that what we
// send (keys "o.") is kept as its encoded bytes and every Get returns a
// packet of its own.
//
// On a reconnect paho resends what was not acknowledged: it Gets each
// stored packet and sets its DUP flag, while the writer of the lost
// connection may still be encoding that very packet, because the memory
// store hands out the pointer that was published (a data race inside the
// library, eclipse-paho/paho.mqtt.golang#703, still open). Encoding at Put
// happens in the publishing goroutine before the packet is handed to the
// writer, so the copy is taken before anyone else touches it. What we
// receive ("i.") is never resent and stays a pointer, so the inbound path
// (every QoS 1 reading) costs nothing extra.
type clientStore struct {
	mu  sync.Mutex
	in  *paho.MemoryStore
	out map[string][]byte
}

// newClientStore returns an open store.
func newClientStore() *clientStore {
	return &clientStore{in: paho.NewMemoryStore(), out: map[string][]byte{}}
}

func outbound(key string) bool { return strings.HasPrefix(key, "o.") }

// Open opens the store.
func (s *clientStore) Open() { s.in.Open() }

// Put stores a packet.
func (s *clientStore) Put(key string, p packets.ControlPacket) {
	if !outbound(key) {
		s.in.Put(key, p)
		return
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		return // an unencodable packet could not be sent either
	}
	s.mu.Lock()
	s.out[key] = b.Bytes()
	s.mu.Unlock()
}

// Get returns a packet no one else holds.
func (s *clientStore) Get(key string) packets.ControlPacket {
	if !outbound(key) {
		return s.in.Get(key)
	}
	s.mu.Lock()
	b, ok := s.out[key]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	p, err := packets.ReadPacket(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	return p
}

// All returns every key.
func (s *clientStore) All() []string {
	keys := s.in.All()
	s.mu.Lock()
	for k := range s.out {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	return keys
}

// Del deletes a key.
func (s *clientStore) Del(key string) {
	if !outbound(key) {
		s.in.Del(key)
		return
	}
	s.mu.Lock()
	delete(s.out, key)
	s.mu.Unlock()
}

// Close closes the store.
func (s *clientStore) Close() { s.in.Close() }

// Reset empties the store.
func (s *clientStore) Reset() {
	s.in.Reset()
	s.mu.Lock()
	clear(s.out)
	s.mu.Unlock()
}
