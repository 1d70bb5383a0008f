package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/internal/event"
	"snowhub/internal/testenv"
)

// TestSIGKILLLosesNothing kills the hub process with SIGKILL while sensors
// raise alarms and right after an answered action: after a restart every
// alarm has exactly one incident and the action stands.
func TestSIGKILLLosesNothing(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "snowhub")
	if out, err := exec.Command("go", "build", "-o", bin, "snowhub/cmd/snowhub").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port := testenv.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "listen: 127.0.0.1:%d\ndata_dir: %s\nmqtt: {broker: %q, client_id: snowhub-crash}\n", port, filepath.Join(dir, "data"), mq.URL)
	cfg.WriteString("influx: {url: \"http://127.0.0.1:1\"}\ncounty: {id: c, name: C}\ntownships:\n  - id: t1\n    name: T1\n    villages:\n      - {id: v1, name: V1}\nsensors:\n")
	const alarms = 40
	for i := 0; i < alarms; i++ {
		fmt.Fprintf(&cfg, "  - {id: smoke-%02d, kind: smoke, village: v1}\n", i)
	}
	cfg.WriteString("users:\n  - {name: ops, role: operator, token: " + opsToken + "}\n")
	path := filepath.Join(dir, "snowhub.yaml")
	os.WriteFile(path, []byte(cfg.String()), 0o644)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var logs bytes.Buffer
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "-config", path)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, 30*time.Second, "the hub connected to the broker", func() bool {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var r map[string]string
			json.NewDecoder(resp.Body).Decode(&r)
			return r["mqtt"] == "ok"
		})
		return cmd
	}
	kill := func(cmd *exec.Cmd) { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub output:\n%s", logs.String())
		}
	})
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

	hub := start()
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID("crash-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	for i := 0; i < alarms; i++ {
		if i == alarms/2 {
			kill(hub) // mid-stream: some alarms were being handled, some not yet acknowledged
		}
		tok := pub.Publish(fmt.Sprintf("snowbright/sensors/smoke-%02d/event", i), 1, false, `{"value":1}`)
		tok.WaitTimeout(5 * time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	hub = start()
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
	kill(hub)
	hub = start()
	defer kill(hub)
	for _, inc := range list() {
		if inc.ID == id && inc.State != "accepted" {
			t.Fatalf("after SIGKILL the accepted incident is %s", inc.State)
		}
	}
}
