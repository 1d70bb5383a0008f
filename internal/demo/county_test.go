package demo

import (
	"slices"
	"strings"
	"testing"

	"snowhub/configs"
)

func demoConfig(t *testing.T) *configs.Config {
	t.Helper()
	cfg, err := configs.Parse("demo.yaml", Config("127.0.0.1:0", t.TempDir(), "rtsp://127.0.0.1:8554", "127.0.0.1:1883", "http://127.0.0.1:8086"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The demo county's configuration is valid, people and departments included.
func TestDemoConfigIsValid(t *testing.T) {
	cfg := demoConfig(t)
	if len(cfg.People) == 0 || len(cfg.Departments) != 3 {
		t.Fatalf("people %d, departments %d", len(cfg.People), len(cfg.Departments))
	}
}

// Every camera stands in the village its name says, and every sensor looks
// at a camera of its own village: a smoke alarm in 东街社区 brings a
// 东街社区 camera to the front, and no title names two villages.
func TestDemoCamerasAreInTheirOwnVillage(t *testing.T) {
	cfg := demoConfig(t)
	top := configs.NewTopology(cfg)
	var names []string
	for _, v := range top.VillageName {
		names = append(names, v)
	}
	villageOf := map[string]string{}
	for _, c := range cfg.Cameras {
		villageOf[c.ID] = c.Village
		own := top.VillageName[c.Village]
		if !strings.HasPrefix(c.Name, own+" ") {
			t.Errorf("camera %s %q stands in %s", c.ID, c.Name, own)
		}
		for _, other := range names {
			if other != own && strings.Contains(c.Name, other) {
				t.Errorf("camera %s %q of %s names %s", c.ID, c.Name, own, other)
			}
		}
	}
	kinds := map[string]int{}
	for _, s := range cfg.Sensors {
		kinds[s.Kind]++
		if s.Camera != "" && villageOf[s.Camera] != s.Village {
			t.Errorf("sensor %s of %s looks at %s of %s", s.ID, s.Village, s.Camera, villageOf[s.Camera])
		}
		if !strings.HasPrefix(s.Name, top.VillageName[s.Village]+" ") {
			t.Errorf("sensor %s %q stands in %s", s.ID, s.Name, top.VillageName[s.Village])
		}
	}
	// The printed alarm command's sensor is there, and smoke is in more
	// than one village.
	if !slices.ContainsFunc(cfg.Sensors, func(s configs.Sensor) bool { return s.ID == "smoke-0001" }) || kinds["smoke"] < 2 {
		t.Errorf("sensors by kind %v", kinds)
	}
}

// A newcomer sees every desk: the demo has a township, a village and a
// department user (configs.Roles), each valid.
func TestDemoHasEveryDesk(t *testing.T) {
	cfg := demoConfig(t)
	for _, role := range []string{configs.RoleOperator, configs.RoleTownship, configs.RoleVillage, configs.RoleDepartment, configs.RoleTechnician} {
		if !slices.ContainsFunc(cfg.Users, func(u configs.User) bool { return u.Role == role }) {
			t.Errorf("no demo user of role %s", role)
		}
	}
}

// The printed MQTT command is one to paste: the embedded broker's real
// host and port, never a placeholder.
func TestMQTTCommandHasTheRealPort(t *testing.T) {
	got := MQTTCommand("tcp://127.0.0.1:41883")
	if !strings.Contains(got, "-h 127.0.0.1 -p 41883 ") || strings.Contains(got, "PORT") {
		t.Errorf("command %q", got)
	}
}
