// Package simsensor publishes simulated village sensors to an MQTT broker
// for the demo and the tests: realistic values per kind, a retained
// online status with an offline last will, batteries that drain, and an
// alarm now and then.
package simsensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snowhub/configs"
)

// Options configure the simulator.
type Options struct {
	Broker     string
	Sensors    []configs.Sensor
	AlarmEvery time.Duration // an alarm somewhere about this often; 0: never
	Every      time.Duration // report interval, default 10 s
	Prefix     string        // default snowbright
	Z2MPrefix  string        // default zigbee2mqtt
	Logger     *slog.Logger
}

// Simulator publishes.
type Simulator struct {
	o       Options
	clients map[string]paho.Client
	mu      sync.Mutex
	battery map[string]float64
	high    map[string]highReading // levels held above their threshold
	cancel  context.CancelFunc
	done    chan struct{}
	close   sync.Once
	closed  atomic.Bool
}

// New prepares one MQTT client per sensor, as real devices are.
func New(o Options) (*Simulator, error) {
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	if o.Prefix == "" {
		o.Prefix = "snowbright"
	}
	if o.Z2MPrefix == "" {
		o.Z2MPrefix = "zigbee2mqtt"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Simulator{o: o, clients: map[string]paho.Client{}, battery: map[string]float64{}, high: map[string]highReading{}}, nil
}

func (s *Simulator) statusTopic(sn configs.Sensor) string {
	if sn.Z2M != "" {
		return s.o.Z2MPrefix + "/" + sn.Z2M + "/availability"
	}
	return s.o.Prefix + "/sensors/" + sn.ID + "/status"
}

// Start connects the sensors and publishes until ctx ends or Close.
func (s *Simulator) Start(ctx context.Context) error {
	if s.closed.Load() {
		return errors.New("simsensor: Start after Close")
	}
	for _, sn := range s.o.Sensors {
		opts := paho.NewClientOptions().AddBroker(s.o.Broker).SetClientID("sim-"+sn.ID).
			SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(time.Second).
			SetWill(s.statusTopic(sn), "offline", 1, true)
		c := paho.NewClient(opts)
		tok := c.Connect()
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return fmt.Errorf("sensor %s: connect %s: %v", sn.ID, s.o.Broker, tok.Error())
		}
		c.Publish(s.statusTopic(sn), 1, true, "online")
		s.clients[sn.ID] = c
		s.battery[sn.ID] = 60 + rand.Float64()*40
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.run(ctx)
	return nil
}

func (s *Simulator) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.o.Every)
	defer t.Stop()
	var alarm <-chan time.Time
	if s.o.AlarmEvery > 0 {
		alarm = time.After(s.o.AlarmEvery/2 + rand.N(s.o.AlarmEvery))
	}
	s.reportAll()
	var last configs.Sensor
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reportAll()
		case <-alarm:
			if sn, ok := pickAlarm(s.o.Sensors, last, rand.N[int]); ok {
				last = sn
				v, hold := alarmValue(sn.Kind)
				s.o.Logger.Info("simulated alarm", "sensor", sn.ID, "kind", sn.Kind, "value", v)
				if hold {
					// A level is an alarm only when it stays above its
					// threshold (a rule's "for"): it reads high a while.
					s.mu.Lock()
					s.high[sn.ID] = highReading{v: v, until: time.Now().Add(holdHigh)}
					s.mu.Unlock()
				}
				s.Trigger(sn.ID, v)
			}
			alarm = time.After(s.o.AlarmEvery/2 + rand.N(s.o.AlarmEvery))
		}
	}
}

// holdHigh is how long a simulated level reads high: past the default
// rules' "for" (30 s for water, 1 min for temperature).
const holdHigh = 2 * time.Minute

type highReading struct {
	v     float64
	until time.Time
}

// alarmKinds are the kinds the simulator raises alarms of, each in turn.
var alarmKinds = []string{"smoke", "panic", "power", "water_level", "temperature"}

// pickAlarm chooses the sensor of the next alarm: of another kind than the
// last one when the county has another, and another sensor, so a wall
// watching for a few minutes sees alarms of several kinds and places
// rather than a column of the same title.
func pickAlarm(sensors []configs.Sensor, last configs.Sensor, n func(int) int) (configs.Sensor, bool) {
	byKind := map[string][]configs.Sensor{}
	var kinds []string
	for _, sn := range sensors {
		if !slices.Contains(alarmKinds, sn.Kind) {
			continue
		}
		if len(byKind[sn.Kind]) == 0 {
			kinds = append(kinds, sn.Kind)
		}
		byKind[sn.Kind] = append(byKind[sn.Kind], sn)
	}
	if len(kinds) == 0 {
		return configs.Sensor{}, false
	}
	if len(kinds) > 1 {
		kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == last.Kind })
	}
	of := byKind[kinds[n(len(kinds))]]
	if len(of) > 1 {
		of = slices.DeleteFunc(slices.Clone(of), func(sn configs.Sensor) bool { return sn.ID == last.ID })
	}
	return of[n(len(of))], true
}

// alarmValue is a reading that raises an alarm of kind; hold says the
// reading must stay (a threshold with a duration).
func alarmValue(kind string) (v float64, hold bool) {
	switch kind {
	case "water_level":
		return math.Round((3.4+rand.Float64())*100) / 100, true
	case "temperature":
		return math.Round((65+rand.Float64()*10)*10) / 10, true
	}
	return 1, false
}

// value is a plausible normal reading of a kind at a time.
func value(kind string, now time.Time) (float64, string) {
	h := float64(now.Hour()) + float64(now.Minute())/60
	switch kind {
	case "water_level":
		return math.Round((1.2+0.3*math.Sin(h/24*2*math.Pi)+rand.Float64()*0.05)*100) / 100, "m"
	case "temperature":
		return math.Round((-2+8*math.Sin((h-8)/24*2*math.Pi)+rand.Float64())*10) / 10, "°C"
	case "humidity":
		return math.Round(40 + rand.Float64()*20), "%"
	case "door", "motion":
		if rand.Float64() < 0.05 {
			return 1, ""
		}
	}
	return 0, ""
}

func (s *Simulator) reportAll() {
	now := time.Now()
	for _, sn := range s.o.Sensors {
		v, unit := value(sn.Kind, now)
		s.mu.Lock()
		if h, ok := s.high[sn.ID]; ok {
			if now.Before(h.until) {
				v = h.v
			} else {
				delete(s.high, sn.ID)
			}
		}
		s.mu.Unlock()
		s.publish(sn, v, unit)
	}
}

func (s *Simulator) publish(sn configs.Sensor, v float64, unit string) {
	s.mu.Lock()
	b := s.battery[sn.ID] - 0.001
	s.battery[sn.ID] = b
	c := s.clients[sn.ID]
	s.mu.Unlock()
	if c == nil {
		return
	}
	var topic, payload string
	if sn.Z2M != "" {
		topic = s.o.Z2MPrefix + "/" + sn.Z2M
		key := map[string]string{"smoke": "smoke", "leak": "water_leak", "door": "contact", "motion": "occupancy", "temperature": "temperature"}[sn.Kind]
		val := any(v)
		switch sn.Kind {
		case "door":
			val = v == 0 // contact=true: closed
		case "smoke", "leak", "motion":
			val = v != 0
		}
		payload = fmt.Sprintf(`{"%s":%v,"battery":%.0f,"linkquality":%d}`, key, val, b, 60+rand.N(100))
	} else {
		topic = s.o.Prefix + "/sensors/" + sn.ID + "/event"
		payload = fmt.Sprintf(`{"ts":%q,"value":%v,"unit":%q,"battery":%.1f}`, time.Now().UTC().Format(time.RFC3339Nano), v, unit, b)
	}
	c.Publish(topic, 1, false, payload)
}

// Trigger publishes a value for one sensor now (an alarm, usually).
func (s *Simulator) Trigger(id string, v float64) {
	for _, sn := range s.o.Sensors {
		if sn.ID == id {
			s.publish(sn, v, "")
		}
	}
}

// Close stops publishing and disconnects the sensors, all at once: each
// says "offline" (retained) if the broker still takes it, within one
// shared deadline, so a stopped broker cannot hold the demo's exit.
// It returns once every goroutine it started has ended.
func (s *Simulator) Close() error {
	s.close.Do(s.stop)
	return nil
}

func (s *Simulator) stop() {
	s.closed.Store(true)
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	const deadline = 500 * time.Millisecond
	var wg sync.WaitGroup
	for _, sn := range s.o.Sensors {
		c := s.clients[sn.ID]
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.IsConnectionOpen() {
				c.Publish(s.statusTopic(sn), 1, true, "offline").WaitTimeout(deadline)
			}
			c.Disconnect(50)
		}()
	}
	wg.Wait()
}
