package ingest

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
)

// The embedded broker acknowledges a device's QoS 1 message (PUBACK) before
// it hands the message to the hub's session, and mochi drops a message
// that finds the session's in-flight store full ("client store quota
// reached"): under a burst it acknowledged messages it then lost. Two
// parts stop that. hubFlow holds a publisher, before the PUBACK, while the
// hub's session has hubInflightHigh messages in flight, so the session's
// store and its outbound queue (8,192 each) are never reached; and
// asyncQos keeps the session store's disk writes out of the hub's
// acknowledgements.

const (
	// hubInflightHigh is how many messages the hub's session may have in
	// flight before publishers wait: far above what the hub's handlers
	// hold (mqtt.max_unacked), below mochi's quota and outbound queue.
	hubInflightHigh = 4096
	// hubFlowWait is how long a publisher is held before its message is
	// refused: the hub is stuck, not busy.
	hubFlowWait = 10 * time.Second
)

// hubFlow is the hook that applies flow control towards the hub's session.
type hubFlow struct {
	mqtt.HookBase
	srv      *mqtt.Server
	hubID    string // the hub's client id
	refusedN atomic.Int64
	refused  prometheus.Counter
	held64   prometheus.Counter
	lastRefu atomic.Int64 // unix nanoseconds of the last refusal
	wait     time.Duration
}

func (h *hubFlow) ID() string { return "snowhub-flow" }

func (h *hubFlow) Provides(b byte) bool { return b == mqtt.OnPublish }

// OnPublish runs in the publisher's read loop before the PUBACK: holding
// it holds that device (TCP carries the back-pressure), not the broker.
func (h *hubFlow) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Qos == 0 || cl.ID == h.hubID || cl.Net.Inline {
		return pk, nil
	}
	hub, ok := h.srv.Clients.Get(h.hubID)
	if !ok || hub.State.Inflight.Len() < hubInflightHigh {
		return pk, nil
	}
	h.held64.Inc()
	deadline := time.Now().Add(h.wait)
	for hub.State.Inflight.Len() >= hubInflightHigh {
		if time.Now().After(deadline) || cl.Closed() {
			// Refused: no PUBACK. The connection is closed so that the
			// device's client sends the message again when it reconnects
			// (MQTT 3.1.1 resends unacknowledged messages only then).
			h.refused.Inc()
			h.refusedN.Add(1)
			h.lastRefu.Store(time.Now().UnixNano())
			h.srv.DisconnectClient(cl, packets.ErrQuotaExceeded)
			return pk, packets.ErrRejectPacket
		}
		time.Sleep(time.Millisecond)
	}
	return pk, nil
}

// qosOp is one pending change of the session store's in-flight messages.
type qosOp struct {
	put     bool
	cl      *mqtt.Client
	pk      packets.Packet
	sent    int64
	resends int
}

// asyncQos writes the session store's in-flight messages from one
// goroutine, in order, and skips a message acknowledged before its write
// came up: the hub acknowledges most of a burst within milliseconds, and
// those messages never touch the disk. What is still unacknowledged is on
// disk moments later, for a restart to deliver again.
type asyncQos struct {
	put, del func(op qosOp) // the store's own OnQosPublish and OnQosComplete

	mu     sync.Mutex
	pend   map[string]qosOp
	order  []string
	onDisk map[string]bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func newAsyncQos(put, del func(qosOp)) *asyncQos {
	q := &asyncQos{put: put, del: del, pend: map[string]qosOp{}, onDisk: map[string]bool{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	return q
}

func qosKey(cl *mqtt.Client, pk packets.Packet) string {
	return cl.ID + ":" + strconv.Itoa(int(pk.PacketID))
}

func (q *asyncQos) publish(cl *mqtt.Client, pk packets.Packet, sent int64, resends int) {
	k := qosKey(cl, pk)
	q.mu.Lock()
	if _, ok := q.pend[k]; !ok {
		q.order = append(q.order, k)
	}
	q.pend[k] = qosOp{put: true, cl: cl, pk: pk, sent: sent, resends: resends}
	q.mu.Unlock()
	q.signal()
}

func (q *asyncQos) complete(cl *mqtt.Client, pk packets.Packet) {
	k := qosKey(cl, pk)
	q.mu.Lock()
	_, queued := q.pend[k]
	switch {
	case q.onDisk[k]:
		if !queued {
			q.order = append(q.order, k)
		}
		q.pend[k] = qosOp{cl: cl, pk: pk}
	case queued:
		delete(q.pend, k) // never written: nothing to remove
	}
	q.mu.Unlock()
	q.signal()
}

func (q *asyncQos) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *asyncQos) run() {
	defer close(q.done)
	for {
		select {
		case <-q.wake:
		case <-q.stop:
			q.flush()
			return
		}
		q.flush()
	}
}

// flush applies every pending change in the order it came.
func (q *asyncQos) flush() {
	for {
		q.mu.Lock()
		if len(q.order) == 0 {
			q.mu.Unlock()
			return
		}
		k := q.order[0]
		q.order = q.order[1:]
		op, ok := q.pend[k]
		delete(q.pend, k)
		if ok {
			if op.put {
				q.onDisk[k] = true
			} else {
				delete(q.onDisk, k)
			}
		}
		q.mu.Unlock()
		if !ok {
			continue
		}
		if op.put {
			q.put(op)
		} else {
			q.del(op)
		}
	}
}

// close writes what is pending and stops.
func (q *asyncQos) close() {
	close(q.stop)
	<-q.done
}
