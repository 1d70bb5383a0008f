package configs

import (
	"slices"
	"time"
)

// MaintenanceConfig bounds maintenance windows, which silence a device's
// incidents: a township (or technician, or village) may set at most Max;
// the county (operator, admin) at most CountyMax. Alarm sensors (AlarmKinds)
// are put into maintenance by the county only.
type MaintenanceConfig struct {
	Max        Span     `yaml:"max"`         // default 7d
	CountyMax  Span     `yaml:"county_max"`  // default 366d
	AlarmKinds []string `yaml:"alarm_kinds"` // default smoke, panic, gas
}

// DefaultAlarmKinds are the sensors whose silence only the county decides.
var DefaultAlarmKinds = []string{"smoke", "panic", "gas"}

func applyMaintenanceDefaults(m *MaintenanceConfig) {
	if m.Max.IsZero() {
		m.Max = Dur(7 * 24 * time.Hour)
	}
	if m.CountyMax.IsZero() {
		m.CountyMax = Dur(366 * 24 * time.Hour)
	}
	if m.AlarmKinds == nil {
		m.AlarmKinds = slices.Clone(DefaultAlarmKinds)
	}
}

func validateMaintenance(p *problems, m MaintenanceConfig) {
	if m.Max.WD != 0 || m.CountyMax.WD != 0 {
		p.add("maintenance", "max and county_max are clock time (7d, 12h), not working days")
	}
	if m.CountyMax.D < m.Max.D {
		p.add("maintenance.county_max", "is shorter than maintenance.max (%s)", m.Max)
	}
	for i, k := range m.AlarmKinds {
		if !slices.Contains(SensorKinds, k) && !(len(k) > 7 && k[:7] == "custom:") {
			p.add(pathf("maintenance.alarm_kinds[%d]", i), "%q is not a sensor kind", k)
		}
	}
}

// IsAlarmKind reports whether sensors of kind are alarm sensors.
func (m MaintenanceConfig) IsAlarmKind(kind string) bool { return slices.Contains(m.AlarmKinds, kind) }
