package configs

import (
	_ "embed"
	"fmt"
	"reflect"
	"strings"
)

// Example is configs/example.yaml: a realistic county, also the reference.
//
//go:embed example.yaml
var Example []byte

// Summary is the one line `snowhub -check` prints for a valid file.
func (c *Config) Summary() string {
	villages := 0
	for _, t := range c.Townships {
		villages += len(t.Villages)
	}
	return fmt.Sprintf("ok: 1 county, %d townships, %d villages, %d cameras, %d sensors",
		len(c.Townships), villages, len(c.Cameras), len(c.Sensors))
}

// Change is what a reload changes.
type Change struct {
	CamerasAdded, CamerasRemoved, CamerasChanged []string
	SensorsAdded, SensorsRemoved, SensorsChanged []string
	UsersChanged                                 bool
	TopologyChanged                              bool
	RulesChanged                                 bool
	// NeedsRestart lists settings that cannot change while the hub runs.
	NeedsRestart []string
}

// String summarises the change for the log.
func (ch Change) String() string {
	var parts []string
	add := func(what string, ids []string) {
		if len(ids) > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", what, len(ids)))
		}
	}
	add("cameras added", ch.CamerasAdded)
	add("cameras removed", ch.CamerasRemoved)
	add("cameras changed", ch.CamerasChanged)
	add("sensors added", ch.SensorsAdded)
	add("sensors removed", ch.SensorsRemoved)
	add("sensors changed", ch.SensorsChanged)
	if ch.UsersChanged {
		parts = append(parts, "users changed")
	}
	if ch.TopologyChanged {
		parts = append(parts, "townships or villages changed")
	}
	if ch.RulesChanged {
		parts = append(parts, "alert settings changed")
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

// Diff compares two configurations by device id and by setting.
func Diff(old, cur *Config) Change {
	var ch Change
	ch.CamerasAdded, ch.CamerasRemoved, ch.CamerasChanged = diffByID(old.Cameras, cur.Cameras, func(c Camera) string { return c.ID })
	ch.SensorsAdded, ch.SensorsRemoved, ch.SensorsChanged = diffByID(old.Sensors, cur.Sensors, func(s Sensor) string { return s.ID })
	ch.UsersChanged = !reflect.DeepEqual(old.Users, cur.Users)
	ch.TopologyChanged = !reflect.DeepEqual(old.Townships, cur.Townships) || old.County != cur.County
	ch.RulesChanged = !reflect.DeepEqual(old.Alerts, cur.Alerts)
	restart := []struct {
		key     string
		changed bool
	}{
		{"listen", old.Listen != cur.Listen},
		{"data_dir", old.DataDir != cur.DataDir},
		{"log", old.Log != cur.Log},
		{"mqtt.broker", old.MQTT.Broker != cur.MQTT.Broker},
		{"mqtt.embedded_listen", old.MQTT.EmbeddedListen != cur.MQTT.EmbeddedListen},
		{"mqtt.client_id", old.MQTT.ClientID != cur.MQTT.ClientID},
		{"influx", old.Influx != cur.Influx},
		{"hub", !reflect.DeepEqual(old.Hub, cur.Hub)},
	}
	for _, r := range restart {
		if r.changed {
			ch.NeedsRestart = append(ch.NeedsRestart, r.key)
		}
	}
	return ch
}

func diffByID[T any](old, cur []T, id func(T) string) (added, removed, changed []string) {
	prev := make(map[string]T, len(old))
	for _, x := range old {
		prev[id(x)] = x
	}
	seen := make(map[string]bool, len(cur))
	for _, x := range cur {
		k := id(x)
		seen[k] = true
		if p, ok := prev[k]; !ok {
			added = append(added, k)
		} else if !reflect.DeepEqual(p, x) {
			changed = append(changed, k)
		}
	}
	for _, x := range old {
		if !seen[id(x)] {
			removed = append(removed, id(x))
		}
	}
	return added, removed, changed
}
