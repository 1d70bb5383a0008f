package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var hubBin struct {
	once sync.Once
	path string
	err  error
}

// HubBinary builds cmd/snowhub once per test binary and returns its path.
// A package's TestMain calls RemoveHubBinary when its tests are done.
func HubBinary(t testing.TB) string {
	t.Helper()
	hubBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "snowhub-bin-")
		if err != nil {
			hubBin.err = err
			return
		}
		hubBin.path = filepath.Join(dir, "snowhub")
		if out, err := exec.Command("go", "build", "-o", hubBin.path, "snowhub/cmd/snowhub").CombinedOutput(); err != nil {
			hubBin.err = fmt.Errorf("build snowhub: %v\n%s", err, out)
		}
	})
	if hubBin.err != nil {
		t.Fatal(hubBin.err)
	}
	return hubBin.path
}

// RemoveHubBinary removes what HubBinary built.
func RemoveHubBinary() {
	if hubBin.path != "" {
		os.RemoveAll(filepath.Dir(hubBin.path))
	}
}

// Hub is a snowhub process run by a test on one configuration file: Start
// returns once its MQTT session is up; Kill (SIGKILL, a crash or power cut)
// and Start again restart it on the same files.
type Hub struct {
	*Process
	Base string // http://127.0.0.1:PORT
}

// NewHub prepares a hub on config, listening on port (the config's
// listen); it is not started.
func NewHub(t testing.TB, config string, port int) *Hub {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return &Hub{Process: newProcess(t, addr, HubBinary(t), "-config", config), Base: "http://" + addr}
}

// Start starts the hub and waits until /readyz says its MQTT session is up.
func (h *Hub) Start() {
	h.t.Helper()
	h.Process.Start()
	WaitFor(h.t, 30*time.Second, "the hub connected to the broker", func() bool {
		resp, err := http.Get(h.Base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var r map[string]string
		json.NewDecoder(resp.Body).Decode(&r)
		return r["mqtt"] == "ok"
	})
}

// Reload asks the running hub to read its configuration again (SIGHUP).
func (h *Hub) Reload() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		_ = h.cmd.Process.Signal(syscall.SIGHUP)
	}
}
