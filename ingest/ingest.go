package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"snowhub/configs"
	"snowhub/internal/event"
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
}

// UnknownDevice is a device that publishes but is not configured, listed so
// a technician can add it.
type UnknownDevice struct {
	Topic     string    `json:"topic"`
	ID        string    `json:"id"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Count     int       `json:"count"`
}

// Default report intervals by sensor kind: three missed reports and the
// sensor is offline ("silent").
var defaultInterval = map[string]time.Duration{
	"water_level": time.Minute, "temperature": time.Minute, "humidity": time.Minute,
}

const heartbeatInterval = 5 * time.Minute

// Ingest is the MQTT consumer.
type Ingest struct {
	o      Options
	log    *slog.Logger
	client paho.Client
	cfg    atomic.Pointer[configs.Config]

	mu       sync.Mutex
	sensors  map[string]*sensor // by sensor id
	z2m      map[string]string  // friendly name → sensor id
	cameras  map[string]camInfo
	unknown  map[string]*UnknownDevice
	limiters map[string]*rate.Limiter
	logged   map[string]time.Time // device → last bad-input log line
	seen     *dedup

	queues    []chan paho.Message
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	connected atomic.Bool
	lastErr   atomic.Pointer[string]

	m metrics
}

type camInfo struct{ village, township string }

type sensor struct {
	cfg      configs.Sensor
	township string
	status   event.SensorStatus
	interval time.Duration
}

type metrics struct {
	messages  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	connected prometheus.Gauge
	latency   prometheus.Histogram
}

// New builds the consumer; Start connects.
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
	in := &Ingest{o: o, log: o.Logger, sensors: map[string]*sensor{}, unknown: map[string]*UnknownDevice{},
		limiters: map[string]*rate.Limiter{}, logged: map[string]time.Time{}, seen: newDedup(4096)}
	in.m = metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_mqtt_messages_total",
			Help: "MQTT messages received, by topic kind."}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_mqtt_rejected_total",
			Help: "MQTT messages not turned into events, by reason."}, []string{"reason"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "snowhub_mqtt_connected",
			Help: "1 while connected to the broker and subscribed."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "snowhub_mqtt_handle_seconds",
			Help: "Time from receipt to durable acceptance of an MQTT message.", Buckets: prometheus.ExponentialBuckets(0.00005, 4, 9)}),
	}
	if o.Registry != nil {
		for _, c := range []prometheus.Collector{in.m.messages, in.m.rejected, in.m.connected, in.m.latency} {
			if err := o.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	in.Update(o.Config)
	return in, nil
}

// Update applies a new device list; sensors keep their state.
func (in *Ingest) Update(cfg *configs.Config) {
	villageTownship := map[string]string{}
	for _, t := range cfg.Townships {
		for _, v := range t.Villages {
			villageTownship[v.ID] = t.ID
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	next := map[string]*sensor{}
	in.z2m = map[string]string{}
	for _, s := range cfg.Sensors {
		cur := in.sensors[s.ID]
		if cur == nil {
			cur = &sensor{status: event.SensorStatus{ID: s.ID, State: event.StateUnknown, Since: in.o.Now()}}
		}
		cur.cfg, cur.township = s, villageTownship[s.Village]
		cur.status.Name, cur.status.Kind, cur.status.Village, cur.status.Township = s.Name, s.Kind, s.Village, cur.township
		cur.interval = s.ReportInterval
		if cur.interval == 0 {
			cur.interval = defaultInterval[s.Kind]
		}
		if cur.interval == 0 {
			cur.interval = heartbeatInterval
		}
		next[s.ID] = cur
		if s.Z2M != "" {
			in.z2m[s.Z2M] = s.ID
		}
		delete(in.unknown, s.ID)
	}
	in.sensors = next
	in.cameras = map[string]camInfo{}
	for _, c := range cfg.Cameras {
		in.cameras[c.ID] = camInfo{village: c.Village, township: villageTownship[c.Village]}
		delete(in.unknown, c.ID)
	}
	in.cfg.Store(cfg)
}

// Start connects to the broker in the background; an unreachable broker is
// retried for ever and reported by Ready.
func (in *Ingest) Start(ctx context.Context) error {
	cfg := in.cfg.Load()
	m := cfg.MQTT
	in.ctx, in.cancel = context.WithCancel(context.WithoutCancel(ctx))
	workers := max(m.Workers, 1)
	in.queues = make([]chan paho.Message, workers)
	for i := range in.queues {
		in.queues[i] = make(chan paho.Message, 256)
		in.wg.Add(1)
		go in.work(in.queues[i])
	}
	in.wg.Add(1)
	go in.watchSilence()

	opts := paho.NewClientOptions().AddBroker(m.Broker).SetClientID(m.ClientID).
		// A persistent session: the broker keeps our subscriptions and
		// queues QoS 1 messages while we are away or restarting.
		SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(2 * time.Second).
		SetMaxReconnectInterval(30 * time.Second).SetKeepAlive(30 * time.Second).
		// Ordering per device is kept by our shards; paho's global ordering
		// would serialise every device behind the slowest.
		SetOrderMatters(false).
		// We acknowledge only once the event is durable.
		SetAutoAckDisabled(true).
		SetOnConnectHandler(in.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			in.setDown("connection lost: " + err.Error())
			in.log.Warn("MQTT connection lost; reconnecting", "broker", configs.RedactURL(m.Broker), "err", err)
		}).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) { in.setDown("reconnecting to " + configs.RedactURL(m.Broker)) })
	if m.Username != "" {
		opts.SetUsername(m.Username).SetPassword(m.Password)
	}
	if in.o.TLS != nil {
		opts.SetTLSConfig(in.o.TLS)
	} else if m.CAFile != "" || m.CertFile != "" {
		tc, err := tlsConfig(m)
		if err != nil {
			return err
		}
		opts.SetTLSConfig(tc)
	}
	in.setDown("connecting to " + configs.RedactURL(m.Broker))
	in.client = paho.NewClient(opts)
	in.client.Connect() // with ConnectRetry it keeps trying; progress shows in Ready
	return nil
}

func tlsConfig(m configs.MQTTConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.CAFile != "" {
		pem, err := os.ReadFile(m.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.ca_file %s: no certificate found", m.CAFile)
		}
	}
	if m.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(m.CertFile, m.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (in *Ingest) setDown(why string) {
	in.connected.Store(false)
	in.m.connected.Set(0)
	in.lastErr.Store(&why)
}

// onConnect subscribes on every (re)connect: with a persistent session the
// broker remembers, but a broker that lost its state does not.
func (in *Ingest) onConnect(c paho.Client) {
	m := in.cfg.Load().MQTT
	filters := map[string]byte{
		m.TopicPrefix + "/sensors/+/event":  1,
		m.TopicPrefix + "/sensors/+/status": 1,
		m.TopicPrefix + "/cameras/+/event":  1,
		m.Z2MPrefix + "/+":                  1,
		m.Z2MPrefix + "/+/availability":     1,
	}
	tok := c.SubscribeMultiple(filters, in.receive)
	go func() {
		// Waiting inside the handler would block paho's router.
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			in.setDown(fmt.Sprintf("subscribe failed: %v", tok.Error()))
			in.log.Error("MQTT subscribe failed", "err", tok.Error())
			return
		}
		in.connected.Store(true)
		in.m.connected.Set(1)
		in.lastErr.Store(nil)
		in.log.Info("MQTT connected and subscribed", "broker", configs.RedactURL(m.Broker))
	}()
}

// receive is paho's callback: it only routes the message to the worker of
// its device. When that worker's queue is full it waits, which holds the
// broker's in-flight window and so slows the broker down instead of
// dropping an alarm.
func (in *Ingest) receive(_ paho.Client, msg paho.Message) {
	h := fnv.New32a()
	h.Write([]byte(msg.Topic()))
	q := in.queues[int(h.Sum32())%len(in.queues)]
	select {
	case q <- msg:
	case <-in.ctx.Done():
	}
}

func (in *Ingest) work(q chan paho.Message) {
	defer in.wg.Done()
	for {
		select {
		case <-in.ctx.Done():
			return
		case msg := <-q:
			start := time.Now()
			if err := in.handle(in.ctx, msg.Topic(), msg.Payload(), msg.Duplicate()); err != nil {
				// Not durable: no acknowledgement, so the broker redelivers
				// it on our next session.
				in.log.Error("MQTT message not recorded; it will be redelivered", "topic", msg.Topic(), "err", err)
				continue
			}
			msg.Ack()
			in.m.latency.Observe(time.Since(start).Seconds())
		}
	}
}

// handle turns one message into events. It returns an error only when the
// event could not be made durable; bad input is counted, logged and
// acknowledged (redelivering it would not make it better).
func (in *Ingest) handle(ctx context.Context, topic string, payload []byte, dup bool) error {
	cfg := in.cfg.Load()
	now := in.o.Now()
	kind, id, err := parseTopic(cfg.MQTT.TopicPrefix, cfg.MQTT.Z2MPrefix, topic)
	if err != nil {
		in.bad(id, topic, payload, err)
		return nil
	}
	if kind == topicIgnored {
		return nil
	}
	in.m.messages.WithLabelValues(kindName[kind]).Inc()
	if len(payload) > cfg.MQTT.MaxPayload {
		in.bad(id, topic, nil, reject(ReasonTooLarge, fmt.Sprintf("%d bytes, limit %d", len(payload), cfg.MQTT.MaxPayload)))
		return nil
	}
	// A redelivery (DUP set by the broker) or a publisher's own retransmission
	// of a message carrying its timestamp is the same message again.
	if (dup || bytes.Contains(payload, []byte(`"ts"`))) && in.seen.seenBefore(topic, payload) {
		in.m.rejected.WithLabelValues(ReasonDuplicate).Inc()
		return nil
	}
	in.seen.add(topic, payload)

	in.mu.Lock()
	if kind == topicZ2MState || kind == topicZ2MAvailability {
		if sid, ok := in.z2m[id]; ok {
			id = sid
		} else {
			in.mu.Unlock()
			in.noteUnknown(topic, id, now)
			return nil
		}
	}
	var s *sensor
	var cam camInfo
	switch kind {
	case topicCameraEvent:
		var ok bool
		if cam, ok = in.cameras[id]; !ok {
			in.mu.Unlock()
			in.noteUnknown(topic, id, now)
			return nil
		}
	default:
		if s = in.sensors[id]; s == nil {
			in.mu.Unlock()
			in.noteUnknown(topic, id, now)
			return nil
		}
	}
	lim := in.limiters[id]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(cfg.MQTT.DeviceRateLimit), int(max(cfg.MQTT.DeviceRateLimit, 1)))
		in.limiters[id] = lim
	}
	allowed := kind == topicSensorStatus || kind == topicZ2MAvailability || lim.AllowN(now, 1)
	in.mu.Unlock()
	if !allowed {
		in.bad(id, topic, nil, reject(ReasonRateLimited, "device exceeds its rate limit"))
		return nil
	}

	switch kind {
	case topicCameraEvent:
		ev, err := ParseCameraEvent(payload, now)
		if err != nil {
			in.bad(id, topic, payload, err)
			return nil
		}
		return in.o.Sink.Handle(ctx, event.Event{Type: event.CameraEvent, Time: ev.Time, Township: cam.township,
			Village: cam.village, Device: id, Data: event.CameraAnalytics{Camera: id, Kind: ev.Kind, Detail: ev.Detail, Flags: ev.Flags}})
	case topicSensorStatus, topicZ2MAvailability:
		online, err := ParseStatus(payload)
		if err != nil {
			in.bad(id, topic, payload, err)
			return nil
		}
		state, cause := event.StateOffline, "last_will"
		if online {
			state, cause = event.StateOnline, "status"
		}
		return in.transition(ctx, s, state, cause, now)
	}
	var r Reading
	if kind == topicZ2MState {
		r, err = ParseZ2M(payload, s.cfg.Kind, now)
	} else {
		r, err = ParseSensorEvent(payload, now)
	}
	if err != nil {
		in.bad(id, topic, payload, err)
		return nil
	}
	in.mu.Lock()
	v := r.Value
	s.status.LastValue, s.status.LastSeen = &v, now
	if r.Battery != nil {
		b := *r.Battery
		s.status.Battery = &b
	}
	village, township := s.cfg.Village, s.township
	in.mu.Unlock()
	if err := in.o.Sink.Handle(ctx, event.Event{Type: event.SensorReading, Time: r.Time, Township: township, Village: village, Device: id,
		Data: event.SensorReadingData{Sensor: id, Kind: s.cfg.Kind, Value: r.Value, IsBool: r.IsBool, Unit: r.Unit,
			Battery: r.Battery, Fields: r.Fields, Flags: r.Flags}}); err != nil {
		return err
	}
	// A report is proof of life.
	return in.transition(ctx, s, event.StateOnline, "report", now)
}

var kindName = map[topicKind]string{topicSensorEvent: "sensor_event", topicSensorStatus: "sensor_status",
	topicCameraEvent: "camera_event", topicZ2MState: "z2m", topicZ2MAvailability: "z2m_availability"}

// transition moves a sensor to state and emits the change, if it is one.
func (in *Ingest) transition(ctx context.Context, s *sensor, state, cause string, now time.Time) error {
	in.mu.Lock()
	if s.status.State == state {
		in.mu.Unlock()
		return nil
	}
	prev := s.status.State
	s.status.Prev, s.status.State, s.status.Cause, s.status.Since = prev, state, cause, now
	st := s.status
	in.mu.Unlock()
	return in.o.Sink.Handle(ctx, event.Event{Type: event.SensorState, Time: now, Township: st.Township,
		Village: st.Village, Device: st.ID, Data: st})
}

// watchSilence marks sensors offline after three missed reports.
func (in *Ingest) watchSilence() {
	defer in.wg.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-in.ctx.Done():
			return
		case <-t.C:
			in.CheckSilence(in.o.Now())
		}
	}
}

// CheckSilence marks offline every sensor not heard from for three report
// intervals.
func (in *Ingest) CheckSilence(now time.Time) {
	in.mu.Lock()
	in.expireUnknown(now)
	var silent []*sensor
	for _, s := range in.sensors {
		if s.status.State == event.StateOnline && !s.status.LastSeen.IsZero() && now.Sub(s.status.LastSeen) > 3*s.interval {
			silent = append(silent, s)
		}
	}
	in.mu.Unlock()
	for _, s := range silent {
		if err := in.transition(in.ctx, s, event.StateOffline, "silent", now); err != nil {
			in.log.Error("sensor state not recorded", "sensor", s.cfg.ID, "err", err)
		}
	}
}

// bad counts a rejected message and logs it at most once a minute per device.
func (in *Ingest) bad(device, topic string, payload []byte, err error) {
	reason := ReasonOf(err)
	in.m.rejected.WithLabelValues(reason).Inc()
	now := in.o.Now()
	// What a device sent is clipped before it is kept or logged.
	device, topic = clipKey(device), clipKey(topic)
	key := device
	if key == "" {
		key = topic
	}
	in.mu.Lock()
	last, ok := in.logged[key]
	if !ok || now.Sub(last) >= time.Minute {
		in.logged[key] = now
		if len(in.logged) > maxLogged { // a flood of random ids must not grow this for ever
			clear(in.logged)
		}
		in.mu.Unlock()
		in.log.Warn("MQTT message rejected", "device", device, "topic", topic, "reason", reason, "err", err)
	} else {
		in.mu.Unlock()
	}
	if dl := in.cfg.Load().MQTT.DeadLetterTopic; dl != "" && in.client != nil && payload != nil {
		in.client.Publish(dl+"/"+reason, 0, false, payload) // fire and forget: never wait in a handler
	}
}

func (in *Ingest) noteUnknown(topic, id string, now time.Time) {
	// Only ids of at most 64 bytes are listed (their topics are then
	// bounded too); longer ones are bad topics, counted and logged clipped.
	if !listableID(id) {
		in.bad(id, topic, nil, reject(ReasonBadTopic, "device id longer than 64 bytes or not UTF-8"))
		return
	}
	in.m.rejected.WithLabelValues(ReasonUnknownDevice).Inc()
	in.mu.Lock()
	u := in.unknown[id]
	if u == nil {
		if len(in.unknown) >= maxUnknown {
			in.expireUnknown(now)
		}
		if len(in.unknown) >= maxUnknown {
			in.mu.Unlock()
			return
		}
		u = &UnknownDevice{Topic: topic, ID: id, FirstSeen: now}
		in.unknown[id] = u
		in.mu.Unlock()
		in.log.Warn("message from a device that is not configured; listed in /api/v1/sensors?unknown=1", "device", id, "topic", topic)
		in.mu.Lock()
	}
	u.LastSeen, u.Topic = now, topic
	u.Count++
	in.mu.Unlock()
}

// expireUnknown forgets unknown devices not heard from for unknownTTL.
// Called with in.mu held.
func (in *Ingest) expireUnknown(now time.Time) {
	for id, u := range in.unknown {
		if now.Sub(u.LastSeen) > unknownTTL {
			delete(in.unknown, id)
		}
	}
}

// Sensors is every configured sensor's state, by id.
func (in *Ingest) Sensors() []event.SensorStatus {
	in.mu.Lock()
	out := make([]event.SensorStatus, 0, len(in.sensors))
	for _, s := range in.sensors {
		out = append(out, s.status)
	}
	in.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Unknown lists devices that publish but are not configured.
func (in *Ingest) Unknown() []UnknownDevice {
	in.mu.Lock()
	out := make([]UnknownDevice, 0, len(in.unknown))
	for _, u := range in.unknown {
		out = append(out, *u)
	}
	in.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Ready is nil when connected and subscribed, otherwise why not.
func (in *Ingest) Ready() error {
	if in.connected.Load() {
		return nil
	}
	if p := in.lastErr.Load(); p != nil {
		return errors.New(*p)
	}
	return errors.New("not connected")
}

// Close stops consuming and waits for in-flight handlers; unacknowledged
// messages stay with the broker for the next session.
func (in *Ingest) Close() {
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.wg.Wait()
	if in.client != nil {
		in.client.Disconnect(250)
	}
	in.setDown("stopped")
}

// dedup remembers recent (topic, payload) pairs to drop QoS 1 redeliveries.
type dedup struct {
	mu   sync.Mutex
	ring [][32]byte
	set  map[[32]byte]struct{}
	next int
}

func newDedup(n int) *dedup {
	return &dedup{ring: make([][32]byte, n), set: make(map[[32]byte]struct{}, n)}
}

func key(topic string, payload []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write(payload)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (d *dedup) seenBefore(topic string, payload []byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.set[key(topic, payload)]
	return ok
}

func (d *dedup) add(topic string, payload []byte) {
	k := key(topic, payload)
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
