package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/configs"
	"snowhub/internal/event"
	"snowhub/internal/loglimit"
)

// Options configure MQTT ingest.
type Options struct {
	Config   *configs.Config
	Sink     event.Sink // returns once an event is durable; the message is acknowledged after
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
	// TLS, when set, is used instead of mqtt.ca_file/cert_file (the hub's
	// own embedded broker, pinned by Broker.ClientTLS).
	TLS *tls.Config
	// NewClient builds the MQTT client; nil: paho (NewPahoClient).
	NewClient ClientFactory
	// Hub: a prefecture hub's hooks (hubfilter.go); zero on a county hub.
	Hub HubHooks
}

// ReasonOverflow counts QoS 0 messages dropped at the edge because their
// device's worker was busy: QoS 0 promises nothing, and holding them would
// let a flood block every device's alarms.
const ReasonOverflow = "qos0_overflow"

// queueLen is each worker's queue. With paho's ordered delivery a full
// queue blocks the client, which stops reading from the broker: the
// broker's in-flight window is the back-pressure.
const queueLen = 256

// Ingest is the MQTT consumer.
type Ingest struct {
	o      Options
	log    *slog.Logger
	client Client
	cfg    atomic.Pointer[configs.Config]
	prefix atomic.Pointer[prefixes]

	mu       sync.Mutex
	sensors  map[string]*sensor // by sensor id
	z2m      map[string]string  // friendly name → sensor id
	cameras  map[string]camInfo
	unknown  map[string]*UnknownDevice
	limiters map[string]*limiter
	// logLimit bounds the lines devices cause: a rejected message, a
	// device that is not configured (loglimit).
	logLimit *loglimit.Limiter
	seen     *dedup

	lifeMu  sync.Mutex // guards started/closed and wg.Add after Start
	started bool
	closed  bool
	queues  []chan *delivery
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // workers and the silence check
	subWG   sync.WaitGroup // subscriptions waiting for the broker's answer

	subscribed map[string]byte // per-device filters in force (hubfilter.go)

	connected atomic.Bool
	lastErr   atomic.Pointer[string]
	stuck     atomic.Int64           // workers holding a message the sink refused
	sinkErr   atomic.Pointer[string] // why

	m metrics
}

type metrics struct {
	logSuppressed prometheus.Counter
	messages      *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	connected     prometheus.Gauge
	latency       prometheus.Histogram
	unacked       prometheus.GaugeFunc
	retries       prometheus.Counter
}

// New builds the consumer; it starts no goroutine. Start connects.
func New(o Options) (*Ingest, error) {
	if o.Sink == nil || o.Config == nil {
		return nil, errors.New("ingest: Config and Sink are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewClient == nil {
		o.NewClient = NewPahoClient
	}
	in := &Ingest{o: o, log: o.Logger, sensors: map[string]*sensor{}, unknown: map[string]*UnknownDevice{},
		limiters: map[string]*limiter{}, seen: newDedup(4096), ctx: context.Background()}
	in.m = metrics{
		logSuppressed: loglimit.Counter("mqtt"),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_mqtt_messages_total",
			Help: "MQTT messages received, by topic kind."}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_mqtt_rejected_total",
			Help: "MQTT messages not turned into events, by reason."}, []string{"reason"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "snowhub_mqtt_connected",
			Help: "1 while connected to the broker and subscribed."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "snowhub_mqtt_handle_seconds",
			Help: "Time from receipt to durable acceptance of an MQTT message.", Buckets: prometheus.ExponentialBuckets(0.00005, 4, 9)}),
		unacked: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "snowhub_mqtt_unacked_waiting",
			Help: "Workers holding an unacknowledged message because the store refused it (the broker keeps it)."},
			func() float64 { return float64(in.stuck.Load()) }),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_mqtt_store_retries_total",
			Help: "Attempts to store a message again after the store refused it."}),
	}
	in.logLimit = loglimit.New(loglimit.Options{Every: time.Minute, Suppressed: in.m.logSuppressed, Now: o.Now})
	// Every reason and kind is exported from the start (at 0), so a
	// dashboard or alert rule sees the series before the first rejection.
	for _, r := range []string{ReasonMalformedJSON, ReasonWrongType, ReasonNotFinite, ReasonTooLarge, ReasonUnknownDevice,
		ReasonBadTopic, ReasonDuplicate, ReasonRateLimited, ReasonBadStatus, ReasonOverflow} {
		in.m.rejected.WithLabelValues(r)
	}
	for _, k := range kindName {
		in.m.messages.WithLabelValues(k)
	}
	if o.Registry != nil {
		for _, c := range []prometheus.Collector{in.m.logSuppressed, in.m.messages, in.m.rejected, in.m.connected, in.m.latency, in.m.unacked, in.m.retries} {
			if err := o.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	in.Update(o.Config)
	return in, nil
}

// Start starts the workers and connects to the broker in the background;
// an unreachable broker is retried for ever and reported by Ready.
func (in *Ingest) Start(ctx context.Context) error {
	in.lifeMu.Lock()
	if in.closed || in.started {
		in.lifeMu.Unlock()
		return errors.New("ingest: Start after Start or Close")
	}
	m := in.cfg.Load().MQTT
	client, err := in.o.NewClient(m, in.o.TLS, Handlers{OnConnect: in.onConnect, OnLost: in.onLost,
		OnReconnecting: func() { in.setDown("reconnecting to " + configs.RedactURL(m.Broker)) }, OnMessage: in.receive,
		WillTopic: in.o.Hub.WillTopic, WillPayload: in.o.Hub.WillPayload})
	if err != nil {
		in.lifeMu.Unlock()
		return fmt.Errorf("mqtt client: %w", err)
	}
	in.client = client
	in.started = true
	// Its own lifetime: Close ends it, so the app stops ingest first and
	// the rest drains along the data flow.
	in.ctx, in.cancel = context.WithCancel(context.WithoutCancel(ctx))
	in.queues = make([]chan *delivery, max(m.Workers, 1))
	for i := range in.queues {
		in.queues[i] = make(chan *delivery, queueLen)
		in.wg.Add(1)
		go in.work(in.queues[i])
	}
	in.wg.Add(1)
	go in.watchSilence()
	in.setDown("connecting to " + configs.RedactURL(m.Broker))
	in.lifeMu.Unlock()
	in.client.Connect() // may call onConnect at once, which takes lifeMu
	return nil
}

func (in *Ingest) onLost(err error) {
	in.setDown("connection lost: " + err.Error())
	in.log.Warn("MQTT connection lost; reconnecting", "broker", configs.RedactURL(in.cfg.Load().MQTT.Broker), "err", err)
}

func (in *Ingest) setDown(why string) {
	in.connected.Store(false)
	in.m.connected.Set(0)
	in.lastErr.Store(&why)
}

// onConnect subscribes on every (re)connect: with a persistent session the
// broker remembers, but a broker that lost its state does not. The wait
// for the broker's answer runs in a goroutine of ours, not the client's.
func (in *Ingest) onConnect() {
	in.lifeMu.Lock()
	defer in.lifeMu.Unlock()
	if in.closed {
		return
	}
	in.subWG.Add(1)
	go func() {
		defer in.subWG.Done()
		p := in.prefix.Load()
		if f := in.deviceFilters(p); len(f) > 0 { // a view hub may own no device
			if err := in.client.Subscribe(f, 30*time.Second); err != nil {
				in.setDown(fmt.Sprintf("subscribe failed: %v", err))
				in.log.Error("MQTT subscribe failed", "err", err)
				return
			}
		}
		if in.o.Hub.OnConnect != nil {
			in.o.Hub.OnConnect(in.client)
		}
		in.connected.Store(true)
		in.m.connected.Set(1)
		in.lastErr.Store(nil)
		in.log.Info("MQTT connected and subscribed", "broker", configs.RedactURL(in.cfg.Load().MQTT.Broker))
	}()
}

// shard is the worker of a message's device: one device's messages are
// handled in order by one worker.
func (in *Ingest) shard(topic string) int {
	_, id, _ := in.route(topic)
	if id == "" {
		id = topic
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(len(in.queues)))
}

// receive is the client's ordered callback: it only routes the message to
// the worker of its device. A QoS 1 message waits for room (holding the
// broker's in-flight window: back-pressure, nothing lost); a QoS 0 one is
// dropped and counted when its worker is busy.
func (in *Ingest) receive(msg Message) {
	if in.ctx.Err() != nil {
		return // stopping: not acknowledged, so the broker keeps it
	}
	if in.o.Hub.OnMessage != nil && in.o.Hub.OnMessage(msg) {
		return // the prefecture's feed or actions
	}
	d := &delivery{msg: msg, at: in.o.Now()}
	q := in.queues[in.shard(msg.Topic())]
	if msg.Qos() == 0 {
		select {
		case q <- d:
		default:
			in.m.rejected.WithLabelValues(ReasonOverflow).Inc()
		}
		return
	}
	select {
	case q <- d:
	case <-in.ctx.Done():
	}
}

func (in *Ingest) work(q chan *delivery) {
	defer in.wg.Done()
	for {
		select {
		case <-in.ctx.Done():
			return
		case d := <-q:
			in.process(d)
		}
	}
}

// process handles one message until it is durable, then acknowledges it.
// When the store refuses it (a full disk, say) the worker keeps the
// message unacknowledged and tries again with backoff: the broker holds it
// and everything behind it, /readyz says why, and ingest resumes by itself
// when the store takes writes again. On Close it is left unacknowledged
// and the broker delivers it again to the next session.
func (in *Ingest) process(d *delivery) {
	backoff := 100 * time.Millisecond
	var lastLog time.Time
	for {
		err := in.recordMessage(in.ctx, d)
		if err == nil {
			if backoff > 100*time.Millisecond {
				in.stuck.Add(-1)
				in.log.Info("store accepts writes again; ingest resumed", "topic", d.msg.Topic())
			}
			d.msg.Ack()
			in.m.latency.Observe(time.Since(d.at).Seconds())
			return
		}
		if backoff == 100*time.Millisecond {
			in.stuck.Add(1)
		}
		why := err.Error()
		in.sinkErr.Store(&why)
		if time.Since(lastLog) > 30*time.Second {
			lastLog = time.Now()
			in.log.Error("MQTT message not recorded; kept unacknowledged and tried again", "topic", d.msg.Topic(), "err", err)
		}
		select {
		case <-in.ctx.Done():
			in.stuck.Add(-1)
			return
		case <-time.After(backoff):
		}
		in.m.retries.Inc()
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Ready is nil when connected, subscribed, and every message is being
// stored; otherwise why not.
func (in *Ingest) Ready() error {
	if n := in.stuck.Load(); n > 0 {
		why := "store refuses writes"
		if p := in.sinkErr.Load(); p != nil {
			why = *p
		}
		return fmt.Errorf("MQTT 消息未确认，等待存储恢复，代理保留这些消息 (MQTT messages wait unacknowledged, %d workers held, the broker keeps them): %s", n, why)
	}
	if in.connected.Load() {
		return nil
	}
	if p := in.lastErr.Load(); p != nil {
		return errors.New(*p)
	}
	return errors.New("not connected")
}

// Close stops consuming and waits for every goroutine it started;
// unacknowledged messages stay with the broker for the next session.
// Nothing is accepted after Close.
func (in *Ingest) Close() error {
	in.lifeMu.Lock()
	if in.closed {
		in.lifeMu.Unlock()
		return nil
	}
	in.closed = true
	started := in.started
	in.lifeMu.Unlock()
	if !started {
		return nil
	}
	in.cancel()
	in.wg.Wait() // workers finish (and acknowledge) what they hold
	in.client.Disconnect()
	in.subWG.Wait() // a subscription still waiting ends with the connection
	in.setDown("stopped")
	return nil
}
