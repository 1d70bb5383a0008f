package demo

import (
	"testing"

	"snowhub/configs"
)

// The demo county's configuration is valid, people and departments included.
func TestDemoConfigIsValid(t *testing.T) {
	cfg, err := configs.Parse("demo.yaml", Config("127.0.0.1:0", t.TempDir(), "rtsp://127.0.0.1:8554", "127.0.0.1:1883", "http://127.0.0.1:8086"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.People) == 0 || len(cfg.Departments) != 3 {
		t.Fatalf("people %d, departments %d", len(cfg.People), len(cfg.Departments))
	}
}
