package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// TestOutboxAcrossSIGKILL reads the outbox by cursor as a consumer would,
// kills the hub with SIGKILL while alarms come in and right after an
// answered action, and reads on from its cursor after the restart: every
// committed step is there once, in order, with no gap and no repeat.
func TestOutboxAcrossSIGKILL(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	const alarms = 30
	hub := smokeHub(t, mq.URL, "snowhub-outbox", alarms)
	base := hub.Base
	get := func(url string, v any) bool {
		req, _ := http.NewRequest("GET", base+url, nil)
		req.Header.Set("Authorization", "Bearer "+opsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(v) == nil
	}
	// The consumer: reads everything after its cursor.
	var seen []event.OutboxEntry
	var cursor uint64
	drain := func() {
		for {
			var batch []event.OutboxEntry
			if !get(fmt.Sprintf("/api/v1/outbox?after=%d&limit=50", cursor), &batch) || len(batch) == 0 {
				return
			}
			seen = append(seen, batch...)
			cursor = batch[len(batch)-1].ID
		}
	}

	hub.Start()
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID("outbox-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	for i := 0; i < alarms; i++ {
		if i == alarms/2 {
			drain() // the consumer has read part of it
			hub.Kill()
		}
		tok := pub.Publish(fmt.Sprintf("snowbright/sensors/smoke-%02d/event", i), 1, false, `{"value":1}`)
		tok.WaitTimeout(5 * time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	hub.Start()
	var incs []event.Incident
	testenv.WaitFor(t, 20*time.Second, "every alarm an incident", func() bool {
		incs = nil
		return get("/api/v1/incidents?state=all", &incs) && len(incs) >= alarms
	})
	// An answered action, then SIGKILL at once.
	req, _ := http.NewRequest("POST", base+"/api/v1/incidents/"+incs[0].ID+"/accept", strings.NewReader(`{"note":"到场"}`))
	req.Header.Set("Authorization", "Bearer "+opsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("accept: %v %v", err, resp)
	}
	resp.Body.Close()
	hub.Kill()
	hub.Start()
	drain()

	incs = nil
	if !get("/api/v1/incidents?state=all", &incs) {
		t.Fatal("list after restart")
	}
	byStep := map[uint64]event.OutboxEntry{}
	for n, en := range seen {
		if en.ID != uint64(n+1) {
			t.Fatalf("entry %d has id %d: a gap or a repeat", n+1, en.ID)
		}
		if en.Step != 0 {
			byStep[en.Step] = en
		}
	}
	steps := 0
	for _, inc := range incs {
		for _, s := range inc.History {
			steps++
			en, ok := byStep[s.ID]
			if !ok || en.Action != s.Action || en.Incident.ID != inc.ID {
				t.Fatalf("step %d (%s %s) not in the outbox: %+v", s.ID, inc.ID, s.Action, en)
			}
		}
	}
	if steps != len(byStep) {
		t.Fatalf("%d steps in the incidents, %d in the outbox", steps, len(byStep))
	}
	if len(incs) != alarms {
		t.Fatalf("%d incidents for %d alarms", len(incs), alarms)
	}
	t.Logf("%d outbox entries read across two SIGKILLs, %d steps, contiguous", len(seen), steps)
}
