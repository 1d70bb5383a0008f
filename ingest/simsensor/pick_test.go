package simsensor

import (
	"math/rand/v2"
	"testing"

	"snowhub/configs"
)

// A run of simulated alarms never repeats the kind or the sensor of the one
// before, and over a few dozen it has every kind that can alarm: the wall
// no longer fills with one identical red title.
func TestAlarmsVaryInKindAndPlace(t *testing.T) {
	var sensors []configs.Sensor
	for i, k := range []string{"smoke", "panic", "power", "water_level", "temperature", "door", "motion", "smoke", "panic"} {
		sensors = append(sensors, configs.Sensor{ID: k + string(rune('a'+i)), Kind: k})
	}
	r := rand.New(rand.NewPCG(1, 2))
	var last configs.Sensor
	kinds := map[string]int{}
	for i := 0; i < 60; i++ {
		sn, ok := pickAlarm(sensors, last, r.IntN)
		if !ok {
			t.Fatal("no sensor picked")
		}
		if i > 0 && (sn.Kind == last.Kind || sn.ID == last.ID) {
			t.Fatalf("alarm %d: %s (%s) after %s (%s)", i, sn.ID, sn.Kind, last.ID, last.Kind)
		}
		if sn.Kind == "door" || sn.Kind == "motion" {
			t.Fatalf("alarm of kind %s, which no default rule makes an incident of", sn.Kind)
		}
		kinds[sn.Kind]++
		last = sn
	}
	if len(kinds) != len(alarmKinds) {
		t.Errorf("kinds over 60 alarms: %v", kinds)
	}
	if _, ok := pickAlarm([]configs.Sensor{{ID: "d", Kind: "door"}}, configs.Sensor{}, r.IntN); ok {
		t.Error("picked a door sensor")
	}
	if sn, ok := pickAlarm([]configs.Sensor{{ID: "s", Kind: "smoke"}}, configs.Sensor{ID: "s", Kind: "smoke"}, r.IntN); !ok || sn.ID != "s" {
		t.Error("a county with one alarm sensor has no alarm")
	}
}
