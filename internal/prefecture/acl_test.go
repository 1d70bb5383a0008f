package prefecture_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/configs"
	"snowhub/ingest/mqttacl"
	"snowhub/internal/test/testenv"
)

// TestBrokerRefusesAnotherHubsTopics: with the shipped mosquitto.conf and
// the files snowhub -mosquitto-acl writes for each hub, concatenated for
// one Mosquitto (deploy/k8s/snowhub.yaml says how), hub south cannot
// publish on hub north's feed, while its own feed reaches city (a view);
// north, an owner that views nothing, reads no other hub's feed.
func TestBrokerRefusesAnotherHubsTopics(t *testing.T) {
	testenv.Short(t)
	dir := t.TempDir()
	var acl, passwd, settings string
	sections := map[string]string{"north": "hub: {id: north, townships: [zhaoren]}", "south": "hub: {id: south, townships: [xiangong]}",
		"city": "hub: {id: city, view: [all]}"}
	for _, id := range []string{"north", "south", "city"} {
		body := hubConfig(id, sections[id],
			"127.0.0.1:1", dir, "tcp://127.0.0.1:1883")
		body = strings.Replace(body, "  client_id: snowhub-"+id, "  client_id: "+id+"\n  username: "+id+"\n  password: pw-"+id+"-0123456789", 1)
		cfg, err := configs.Parse(id+".yaml", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		f, err := mqttacl.Mosquitto(cfg, dir)
		if err != nil {
			t.Fatal(err)
		}
		acl, passwd, settings = acl+f.ACL+"\n", passwd+f.Passwd, f.Settings
	}
	if strings.Contains(acl, "topic readwrite #") {
		t.Fatalf("a prefecture hub may publish anywhere:\n%s", acl)
	}
	for name, body := range map[string]string{"acl": acl, "passwd": passwd, "snowhub.conf": settings} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The shipped mosquitto.conf (deploy/compose), including the generated files.
	shipped, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy/compose/mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	mq := testenv.StartMosquittoConf(t, func(port int) string {
		s := strings.Replace(string(shipped), "listener 1883\n", fmt.Sprintf("listener %d 127.0.0.1\n", port), 1)
		s = strings.ReplaceAll(s, "/mosquitto/data/", data+"/")
		s = strings.ReplaceAll(s, "/mosquitto/config/snowhub", dir)
		return "user root\nlog_type error\nlog_type warning\n" + s
	})

	connect := func(user string) mqtt.Client {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID(user).SetUsername(user).SetPassword("pw-" + user + "-0123456789"))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect %s: %v", user, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	north, south, city := connect("north"), connect("south"), connect("city")
	got := make(chan string, 10)
	for _, f := range []string{"snowbright/hubs/+/incidents/+", "snowbright/hubs/+/status"} {
		if tok := city.Subscribe(f, 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("city subscribes: %v", tok.Error())
		}
	}
	stolen := make(chan string, 10)
	north.Subscribe("snowbright/hubs/#", 1, func(_ mqtt.Client, m mqtt.Message) { stolen <- m.Topic() }).WaitTimeout(10 * time.Second)
	for _, topic := range []string{"snowbright/hubs/north/incidents/INC-north-20261125-0001", "snowbright/hubs/north/status",
		"snowbright/hubs/south/incidents/INC-south-20261125-0001"} {
		south.Publish(topic, 1, false, `{"hub":"north","state":"online"}`).WaitTimeout(5 * time.Second)
	}
	select {
	case topic := <-got:
		if topic != "snowbright/hubs/south/incidents/INC-south-20261125-0001" {
			t.Fatalf("the broker let south publish on %s", topic)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("south's own feed did not reach city")
	}
	select {
	case topic := <-got:
		t.Fatalf("the broker let south publish on %s", topic)
	case topic := <-stolen:
		t.Fatalf("the broker let north read %s", topic)
	case <-time.After(500 * time.Millisecond):
	}
}
