package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// TestSIGKILLLosesNothing kills the hub process with SIGKILL while sensors
// raise alarms and right after an answered action: after a restart every
// alarm has exactly one incident and the action stands.
func TestSIGKILLLosesNothing(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	const alarms = 40
	hub := smokeHub(t, mq.URL, "snowhub-crash", alarms)
	base := hub.Base
	list := func() []event.Incident {
		req, _ := http.NewRequest("GET", base+"/api/v1/incidents?state=all", nil)
		req.Header.Set("Authorization", "Bearer "+opsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var l []event.Incident
		json.NewDecoder(resp.Body).Decode(&l)
		return l
	}

	hub.Start()
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID("crash-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	for i := 0; i < alarms; i++ {
		if i == alarms/2 {
			hub.Kill() // mid-stream: some alarms were being handled, some not yet acknowledged
		}
		tok := pub.Publish(fmt.Sprintf("snowbright/sensors/smoke-%02d/event", i), 1, false, `{"value":1}`)
		tok.WaitTimeout(5 * time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	hub.Start()
	testenv.WaitFor(t, 20*time.Second, "every alarm an incident", func() bool { return len(list()) >= alarms })
	time.Sleep(time.Second) // anything redelivered late would show as a duplicate now
	seen := map[string]int{}
	for _, inc := range list() {
		seen[inc.Device]++
	}
	for i := 0; i < alarms; i++ {
		if n := seen[fmt.Sprintf("smoke-%02d", i)]; n != 1 {
			t.Errorf("smoke-%02d has %d incidents, want 1", i, n)
		}
	}

	// An answered action survives SIGKILL right after the answer.
	id := list()[0].ID
	req, _ := http.NewRequest("POST", base+"/api/v1/incidents/"+id+"/accept", strings.NewReader(`{"note":"on my way"}`))
	req.Header.Set("Authorization", "Bearer "+opsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("accept: %d %s", resp.StatusCode, b)
	}
	hub.Kill()
	hub.Start()
	for _, inc := range list() {
		if inc.ID == id && inc.State != "accepted" {
			t.Fatalf("after SIGKILL the accepted incident is %s", inc.State)
		}
	}
}
