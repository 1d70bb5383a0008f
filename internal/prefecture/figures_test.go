package prefecture

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/ingest"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// A broker in a test: every publish is delivered, in order, to every
// hub's router, on a goroutine of its own (never inside Publish).

type loopMsg struct {
	topic   string
	payload []byte
}

func (m *loopMsg) Duplicate() bool   { return false }
func (m *loopMsg) Qos() byte         { return 1 }
func (m *loopMsg) Retained() bool    { return false }
func (m *loopMsg) Topic() string     { return m.topic }
func (m *loopMsg) MessageID() uint16 { return 1 }
func (m *loopMsg) Payload() []byte   { return m.payload }
func (m *loopMsg) Ack()              {}

type loopBroker struct {
	mu      sync.Mutex
	routers []func(ingest.Message) bool
	drop    func(topic string) bool
	sizes   map[string][]int // topic → payload sizes published
	q       chan *loopMsg
	done    chan struct{}
}

func newLoopBroker(t *testing.T) *loopBroker {
	b := &loopBroker{sizes: map[string][]int{}, q: make(chan *loopMsg, 4096), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for m := range b.q {
			b.mu.Lock()
			rs := b.routers
			b.mu.Unlock()
			for _, r := range rs {
				r(m)
			}
		}
	}()
	t.Cleanup(func() { close(b.q); <-b.done })
	return b
}

func (b *loopBroker) Connect()                                       {}
func (b *loopBroker) Subscribe(map[string]byte, time.Duration) error { return nil }
func (b *loopBroker) Unsubscribe([]string, time.Duration) error      { return nil }
func (b *loopBroker) Disconnect()                                    {}
func (b *loopBroker) Publish(topic string, _ byte, _ bool, p []byte) { b.publish(topic, p) }
func (b *loopBroker) PublishWait(topic string, _ byte, _ bool, p []byte, _ time.Duration) error {
	b.publish(topic, p)
	return nil
}

func (b *loopBroker) publish(topic string, p []byte) {
	b.mu.Lock()
	b.sizes[topic] = append(b.sizes[topic], len(p))
	drop := b.drop != nil && b.drop(topic)
	b.mu.Unlock()
	if !drop {
		b.q <- &loopMsg{topic: topic, payload: p}
	}
}

func (b *loopBroker) published(topic string) []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.sizes[topic]...)
}

const prefYAML = `county: {id: changwu, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages: [{id: v-zr-01, name: 东街社区}]
  - id: xiangong
    name: 相公镇
    villages: [{id: v-xg-01, name: 相公村}]
  - id: other
    name: 无主镇
    villages: [{id: v-o-01, name: 无主村}]
mqtt: {max_payload: %d}
users:
  - {name: county-ops, role: operator, token: ops-token-0123456789}
  - {name: zhaoren-desk, role: township, township: zhaoren, token: zr-token-0123456789}
`

// owner is one owner hub's answering side, with figures that name the
// principal it was asked for.
type owner struct {
	a        *Actions
	mu       sync.Mutex
	asked    []auth.Principal
	rows     []event.StatsRow
	backlog  event.Backlog
	blockAct chan struct{}
}

func newOwner(t *testing.T, b *loopBroker, id string, maxPayload int, rows []event.StatsRow, bl event.Backlog) *owner {
	cfg, err := configs.Parse("pref.yaml", []byte(fmt.Sprintf(prefYAML, maxPayload)))
	if err != nil {
		t.Fatal(err)
	}
	o := &owner{rows: rows, backlog: bl, blockAct: make(chan struct{})}
	o.a = NewActions(ActionsOptions{Self: id, Prefix: "snowbright", Config: func() *configs.Config { return cfg },
		Act: func(ctx context.Context, p auth.Principal, id, action string, req event.ActionRequest) (event.Incident, error) {
			<-o.blockAct // a step stuck on a slow disk
			return event.Incident{ID: id}, nil
		},
		Stats: func(p auth.Principal, from, to time.Time, group string) ([]event.StatsRow, error) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.asked = append(o.asked, p)
			return o.rows, nil
		},
		Backlog: func(p auth.Principal, from, to time.Time, group string) (event.Backlog, error) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.asked = append(o.asked, p)
			return o.backlog, nil
		}})
	b.mu.Lock()
	b.routers = append(b.routers, Router("snowbright", func() ingest.Client { return b }, nil, o.a))
	b.mu.Unlock()
	t.Cleanup(func() {
		close(o.blockAct)
		o.a.Close()
	})
	return o
}

func (o *owner) principals() []auth.Principal {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]auth.Principal(nil), o.asked...)
}

func newCity(t *testing.T, b *loopBroker, view []string) *View {
	v := NewView(ViewOptions{Self: "city", Prefix: "snowbright", View: view, Client: func() ingest.Client { return b },
		Connected: func() bool { return true }, ActionTimeout: 2 * time.Second})
	b.mu.Lock()
	b.routers = append(b.routers, Router("snowbright", func() ingest.Client { return b }, v, nil))
	b.mu.Unlock()
	return v
}

func online(v *View, hub string, townships ...string) {
	b, _ := json.Marshal(Status{Hub: hub, State: "online", At: time.Now().UTC(), Townships: townships})
	v.applyStatus(hub, b)
}

// people builds n assignee rows as an engine finishes them.
func people(n, salt int) []event.StatsRow {
	var out []event.StatsRow
	for i := range n {
		r := event.StatsRow{Group: "assignee", Key: fmt.Sprintf("p-%04d", i), Name: fmt.Sprintf("网格员%d", i), Opened: i + salt,
			StepsDone: map[string]int{"accept": i + 1}, StepsOnTime: map[string]int{"accept": i}, Scored: 1, ScoreSum: 80 + salt,
			TimedAccept: 1, TimeToAcceptSumMS: int64(1000*i + salt)}
		r.Finish()
		out = append(out, r)
	}
	return out
}

var county = auth.Principal{Name: "county-ops", Role: auth.RoleOperator}

// A county's figures by person from two owners: each answer comes in
// parts under the packet budget (max_payload 8 KiB: 2 KiB parts) and is
// put together whole, with the principal each owner built from its own
// users.
func TestFiguresComeWholeInParts(t *testing.T) {
	b := newLoopBroker(t)
	north := newOwner(t, b, "north", 8<<10, people(150, 1), event.Backlog{})
	south := newOwner(t, b, "south", 8<<10, people(40, 2), event.Backlog{})
	v := newCity(t, b, []string{"all"})
	online(v, "north", "zhaoren")
	online(v, "south", "xiangong")
	q := Query{Kind: QueryStats, From: time.Unix(0, 0), To: time.Now(), Group: "assignee"}
	answers, missing := v.Figures(context.Background(), county, q, []string{"xiangong", "zhaoren"})
	if len(missing) != 0 || len(answers) != 2 {
		t.Fatalf("answers %d, missing %+v", len(answers), missing)
	}
	for _, a := range answers {
		want := map[string][]event.StatsRow{"north": north.rows, "south": south.rows}[a.Hub]
		if !reflect.DeepEqual(a.Rows, want) {
			t.Errorf("%s: %d rows came, want its %d as it sent them", a.Hub, len(a.Rows), len(want))
		}
	}
	sizes := b.published("snowbright/hubs/north/replies/city")
	if len(sizes) < 10 {
		t.Errorf("north's 150 rows came in %d parts, want them cut to 2 KiB each", len(sizes))
	}
	for _, n := range sizes {
		if n > 2<<10 {
			t.Errorf("a part of %d bytes, over the 2 KiB budget of max_payload/4", n)
		}
	}
	if p := north.principals(); len(p) != 1 || p[0].Role != auth.RoleOperator || p[0].Name != "county-ops" {
		t.Errorf("north computed for %+v, want county-ops as its own users say", p)
	}
	// The backlog: a year's points, in part 0 only, rows put together.
	at := make([]time.Time, 366)
	for i := range at {
		at[i] = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
	}
	series := func(key string, k int) event.BacklogSeries {
		s := event.BacklogSeries{Key: key, Name: key, Open: make([]int, 366), Over7d: make([]int, 366), Over30d: make([]int, 366)}
		for i := range s.Open {
			s.Open[i], s.Over7d[i], s.Over30d[i] = i*k%97, i*k%13, i*k%7
		}
		return s
	}
	north.backlog = event.Backlog{Group: "township", At: at, Rows: []event.BacklogSeries{series("zhaoren", 3), series("zz", 5)}}
	q.Kind, q.Group = QueryBacklog, "township"
	answers, missing = v.Figures(context.Background(), county, q, []string{"zhaoren"})
	if len(missing) != 0 || len(answers) != 1 || answers[0].Backlog == nil {
		t.Fatalf("backlog: %+v missing %+v", answers, missing)
	}
	got := answers[0].Backlog
	if len(got.At) != 366 || !got.At[365].Equal(at[365]) || !reflect.DeepEqual(got.Rows, north.backlog.Rows) {
		t.Errorf("backlog: %d points, rows %v", len(got.At), len(got.Rows))
	}
}

// A township desk on the view asks only the hub owning its township, and
// that hub computes for the desk as its own users know it.
func TestFiguresOfADeskAskItsOwnerOnly(t *testing.T) {
	b := newLoopBroker(t)
	north := newOwner(t, b, "north", 64<<10, people(2, 0), event.Backlog{})
	south := newOwner(t, b, "south", 64<<10, people(2, 0), event.Backlog{})
	v := newCity(t, b, []string{"all"})
	online(v, "north", "zhaoren")
	online(v, "south", "xiangong")
	desk := auth.Principal{Name: "zhaoren-desk", Role: auth.RoleTownship, Township: "zhaoren"}
	answers, missing := v.Figures(context.Background(), desk, Query{Kind: QueryStats, Group: "township"}, []string{"zhaoren"})
	if len(answers) != 1 || answers[0].Hub != "north" || len(missing) != 0 {
		t.Fatalf("answers %+v missing %+v", answers, missing)
	}
	if p := north.principals(); len(p) != 1 || p[0].Township != "zhaoren" || p[0].Role != auth.RoleTownship {
		t.Errorf("north computed for %+v", p)
	}
	if p := south.principals(); len(p) != 0 {
		t.Errorf("south was asked for zhaoren's desk: %+v", p)
	}
	// A name the owner does not know is refused there, and named missing.
	_, missing = v.Figures(context.Background(), auth.Principal{Name: "ghost", Role: auth.RoleOperator}, Query{Kind: QueryStats, Group: "township"}, []string{"zhaoren"})
	if len(missing) != 1 || missing[0].Hub != "north" || !strings.Contains(missing[0].Reason, "403") {
		t.Errorf("an unknown user: missing %+v", missing)
	}
}

// What is missing is named: an owner whose last will came (not asked at
// all), one that does not answer in time, townships no hub owns.
func TestFiguresNameWhatIsMissing(t *testing.T) {
	b := newLoopBroker(t)
	newOwner(t, b, "north", 64<<10, people(3, 0), event.Backlog{})
	south := newOwner(t, b, "south", 64<<10, people(3, 0), event.Backlog{})
	v := newCity(t, b, []string{"all"})
	v.o.ActionTimeout = 300 * time.Millisecond
	online(v, "north", "zhaoren")
	online(v, "south", "xiangong")
	v.applyStatus("south", []byte(`{"hub":"south","state":"offline"}`)) // its last will
	q := Query{Kind: QueryStats, Group: "township"}
	answers, missing := v.Figures(context.Background(), county, q, []string{"other", "xiangong", "zhaoren"})
	if len(answers) != 1 || answers[0].Hub != "north" {
		t.Fatalf("answers %+v", answers)
	}
	if len(missing) != 2 || missing[0].Hub != "" || missing[0].Townships[0] != "other" ||
		missing[1].Hub != "south" || missing[1].Townships[0] != "xiangong" || !strings.Contains(missing[1].Reason, "不可达") {
		t.Fatalf("missing %+v, want the unowned township and south unreachable", missing)
	}
	if len(south.principals()) != 0 || len(b.published("snowbright/hubs/south/actions/city")) != 0 {
		t.Error("an unreachable hub was asked")
	}
	// Up, but silent.
	online(v, "south", "xiangong")
	b.mu.Lock()
	b.drop = func(topic string) bool { return topic == "snowbright/hubs/south/actions/city" }
	b.mu.Unlock()
	start := time.Now()
	_, missing = v.Figures(context.Background(), county, q, []string{"xiangong", "zhaoren"})
	if len(missing) != 1 || missing[0].Hub != "south" || !strings.Contains(missing[0].Reason, "did not answer") {
		t.Fatalf("missing %+v, want south silent", missing)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the hubs were not asked in parallel within the timeout: %s", took)
	}
	// A view of named hubs names a named hub it has never seen.
	v2 := newCity(t, b, []string{"north", "east"})
	online(v2, "north", "zhaoren")
	_, missing = v2.Figures(context.Background(), county, q, []string{"xiangong", "zhaoren"})
	if len(missing) != 1 || missing[0].Hub != "east" {
		t.Errorf("missing %+v, want east never seen (and no word on townships of hubs it does not view)", missing)
	}
}

// A redelivered query is answered from memory, not computed again; and
// figures are answered while every step worker is stuck on a slow step.
func TestQueriesAnsweredFromMemoryAndNotBehindSteps(t *testing.T) {
	b := newLoopBroker(t)
	north := newOwner(t, b, "north", 64<<10, people(3, 0), event.Backlog{})
	rq, _ := json.Marshal(ActionRequest{ID: "q-1", User: "county-ops", Query: &Query{Kind: QueryStats, Group: "assignee"}})
	b.Publish("snowbright/hubs/north/actions/city", 1, false, rq)
	b.Publish("snowbright/hubs/north/actions/city", 1, false, rq) // the broker's redelivery
	waitFor(t, "two replies", func() bool { return len(b.published("snowbright/hubs/north/replies/city")) == 2 })
	if n := len(north.principals()); n != 1 {
		t.Errorf("a redelivered query was computed %d times", n)
	}
	// Twelve steps stuck (eight workers, four waiting): a page's figures
	// still come.
	for i := range 12 {
		st, _ := json.Marshal(ActionRequest{ID: fmt.Sprintf("s-%d", i), User: "county-ops", Incident: "INC-1", Action: "accept"})
		b.Publish("snowbright/hubs/north/actions/city", 1, false, st)
	}
	v := newCity(t, b, []string{"all"})
	online(v, "north", "zhaoren")
	answers, missing := v.Figures(context.Background(), county, Query{Kind: QueryStats, Group: "assignee"}, []string{"zhaoren"})
	if len(missing) != 0 || len(answers) != 1 || len(answers[0].Rows) != 3 {
		t.Fatalf("figures behind stuck steps: %+v missing %+v", answers, missing)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A view lets go of other hubs' incidents reviewed longer ago than
// keep_in_memory, as an owner's engine does; open and recent ones stay.
func TestViewLetsGoOfOldReviewedIncidents(t *testing.T) {
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	v := NewView(ViewOptions{Self: "city", Prefix: "snowbright", View: []string{"all"}, Now: func() time.Time { return now },
		Keep: func() time.Duration { return 90 * 24 * time.Hour }})
	reviewed := func(id string, ago time.Duration, withTime bool) *event.Incident {
		i := inc(id, "zhaoren", "reviewed", 1)
		i.History[0].At = now.Add(-ago)
		if withTime {
			i.ReviewedAt = now.Add(-ago)
		}
		return i
	}
	old := inc("INC-north-open", "zhaoren", "accepted", 1)
	old.OpenedAt = now.Add(-200 * 24 * time.Hour) // open for ever: stays
	for i, x := range []*event.Incident{old, reviewed("INC-north-old", 91*24*time.Hour, true), reviewed("INC-north-old2", 100*24*time.Hour, false),
		reviewed("INC-north-recent", 89*24*time.Hour, true)} {
		v.Apply(Message{Hub: "north", Kind: KindIncident, Seq: uint64(i + 1), Incident: x})
	}
	now = now.Add(2 * time.Minute)
	v.Apply(Message{Hub: "north", Kind: KindIncident, Seq: 10, Incident: inc("INC-north-new", "zhaoren", "opened", 1)})
	var ids []string
	for _, x := range v.Incidents(county, event.IncidentFilter{State: "all"}) {
		ids = append(ids, x.ID)
	}
	want := map[string]bool{"INC-north-open": true, "INC-north-recent": true, "INC-north-new": true}
	if len(ids) != len(want) {
		t.Fatalf("the view holds %v, want %v", ids, want)
	}
	for _, id := range ids {
		if !want[id] {
			t.Errorf("%s kept", id)
		}
	}
}

// An answer over MaxAnswerBytes is refused by the owner (413), never sent
// as thousands of messages: the view names the hub with the reason.
func TestFiguresTooLargeAreRefused(t *testing.T) {
	b := newLoopBroker(t)
	newOwner(t, b, "north", 64<<10, people(8000, 0), event.Backlog{}) // some 5 MiB of rows
	v := newCity(t, b, []string{"all"})
	online(v, "north", "zhaoren")
	answers, missing := v.Figures(context.Background(), county, Query{Kind: QueryStats, Group: "assignee"}, []string{"zhaoren"})
	if len(answers) != 0 || len(missing) != 1 || !strings.Contains(missing[0].Reason, "413") {
		t.Fatalf("answers %d, missing %+v; want north refused with 413", len(answers), missing)
	}
	if n := len(b.published("snowbright/hubs/north/replies/city")); n != 1 {
		t.Errorf("the refusal took %d messages, want 1", n)
	}
}

// Parts put together by number: out of order, one twice (QoS 1), the
// answer complete only when every part is in.
func TestGatherPartsInAnyOrder(t *testing.T) {
	v := NewView(ViewOptions{Self: "city", Prefix: "snowbright", View: []string{"all"}})
	g := &gather{hub: "north", done: make(chan ActionReply, 1)}
	v.queries = map[string]*gather{"q": g}
	rows := people(5, 0)
	part := func(n int) []byte {
		b, _ := json.Marshal(ActionReply{ID: "q", Status: 200, Part: n, Parts: 3, Rows: rows[min(2*n, 5):min(2*n+2, 5)]})
		return b
	}
	for i, n := range []int{2, 0, 2} {
		if !v.gatherReply("north", part(n)) {
			t.Fatalf("part %d not taken as the query's", n)
		}
		select {
		case r := <-g.done:
			t.Fatalf("answer after %d parts: %+v", i+1, r)
		default:
		}
	}
	v.gatherReply("north", part(1))
	r := <-g.done
	if !reflect.DeepEqual(r.Rows, rows) {
		t.Fatalf("rows %+v, want the five in order", r.Rows)
	}
	if v.gatherReply("north", part(1)) {
		t.Error("a part after the answer was taken")
	}
}
