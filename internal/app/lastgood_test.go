package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/test/testenv"
)

// A refused reload is no trap: the hub process starts good, its file is
// broken and the reload refused, the process is killed (a crash, a power
// cut), and the next start comes up on the last good configuration, says
// so in /readyz, the log and a metric, while -check still fails on the
// file. Fixing the file and reloading ends it.
func TestRefusedReloadThenCrashStartsOnLastGood(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	port := testenv.FreePort(t)
	good := fmt.Sprintf("listen: 127.0.0.1:%d\ndata_dir: %s\nmqtt: {broker: %q, client_id: lastgood}\n", port, data, mq.URL) +
		"influx: {url: \"http://127.0.0.1:1\"}\ncounty: {id: c, name: C}\ntownships:\n  - id: t1\n    name: T1\n    villages:\n      - {id: v1, name: V1}\n" +
		"sensors:\n  - {id: smoke-01, kind: smoke, village: v1}\n" +
		"users:\n  - {name: ops, role: operator, token: " + opsToken + "}\n"
	path := filepath.Join(dir, "snowhub.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	get := func(p string) string {
		resp, err := http.Get("http://127.0.0.1:" + fmt.Sprint(port) + p)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	readyConfig := func() string {
		var r map[string]string
		json.Unmarshal([]byte(get("/readyz")), &r)
		return r["config"]
	}

	write(good)
	hub := testenv.NewHub(t, path, port)
	hub.Start()
	testenv.WaitFor(t, 10*time.Second, "the last good copy written", func() bool {
		_, err := os.Stat(filepath.Join(data, configs.LastGoodName))
		return err == nil
	})
	if st, _ := os.Stat(filepath.Join(data, configs.LastGoodName)); st.Mode().Perm()&0o077 != 0 {
		t.Errorf("the last good copy (with the file's secrets) is mode %v, want readable by the hub's user only", st.Mode().Perm())
	}

	// Broken: an unknown key and a sensor in a village that does not exist.
	write(strings.Replace(good, "sensors:\n  - {id: smoke-01, kind: smoke, village: v1}\n",
		"sensors:\n  - {id: smoke-01, kind: smoke, village: v9}\nbogus_key: 1\n", 1))
	hub.Reload()
	testenv.WaitFor(t, 10*time.Second, "the reload refused", func() bool { return strings.Contains(readyConfig(), "reload refused") })
	hub.Kill()
	hub.Start() // waits for the MQTT session: the hub came up
	rc := readyConfig()
	if !strings.Contains(rc, "last good") || !strings.Contains(rc, "上次有效") || !strings.Contains(rc, "bogus_key") {
		t.Errorf("/readyz config = %q, want it to say the hub runs on the last good configuration and where the file is wrong", rc)
	}
	if m := get("/metrics"); !strings.Contains(m, "snowhub_config_last_good 1") {
		t.Error("snowhub_config_last_good is not 1 on the last good configuration")
	}
	out := hub.Output()
	i := strings.Index(out, "配置文件无效，已以上次有效的配置启动")
	if i < 0 || !strings.Contains(out[i:], "bogus_key") || !strings.Contains(out[i:], "v9") {
		t.Errorf("the log does not say, Chinese first, that the hub started on the last good configuration and why:\n%s", out)
	}
	// It serves the last good configuration: the operator's token works.
	req, _ := http.NewRequest("GET", hub.Base+"/api/v1/sensors", nil)
	req.Header.Set("Authorization", "Bearer "+opsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "smoke-01") {
		t.Errorf("sensors on the last good configuration: %d %s", resp.StatusCode, b)
	}

	// -check still fails on the file.
	if out, err := exec.Command(testenv.HubBinary(t), "-config", path, "-check").CombinedOutput(); err == nil {
		t.Errorf("-check passed a file that does not load:\n%s", out)
	} else if !strings.Contains(string(out), "bogus_key") {
		t.Errorf("-check does not name the file's problem:\n%s", out)
	}

	// Fixed and reloaded: back on the file.
	write(good)
	hub.Reload()
	testenv.WaitFor(t, 10*time.Second, "the fixed file reloaded", func() bool { return readyConfig() == "ok" })
	if m := get("/metrics"); !strings.Contains(m, "snowhub_config_last_good 0") {
		t.Error("snowhub_config_last_good is not 0 after the file loads again")
	}
}

// The copy is atomic and parses as the file it copies; data_dir is found in
// a file that does not load.
func TestLastGoodCopy(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ file, want string }{
		{"data_dir: /srv/hub\nbogus: 1\n", "/srv/hub"},
		{"listen: [\ndata_dir: \"/srv/x\" # here\n", "/srv/x"},
		{"listen: 1\n", "./var"},
	} {
		if got := configs.DataDirOf([]byte(tc.file)); got != tc.want {
			t.Errorf("DataDirOf(%q) = %q, want %q", tc.file, got, tc.want)
		}
	}
	src := filepath.Join(dir, "a.yaml")
	if err := configs.SaveLastGood(dir, src, []byte("data_dir: x\n")); err != nil {
		t.Fatal(err)
	}
	if err := configs.SaveLastGood(dir, src, []byte("data_dir: y\n")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("data_dir holds %d files after two saves, want the copy alone (no temporary left)", len(ents))
	}
	b, _ := os.ReadFile(filepath.Join(dir, configs.LastGoodName))
	if !strings.HasSuffix(string(b), "data_dir: y\n") || !strings.HasPrefix(string(b), "#") {
		t.Errorf("the copy is %q", b)
	}
}
