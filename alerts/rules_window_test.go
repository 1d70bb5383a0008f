package alerts

import (
	"testing"
	"time"

	"snowhub/configs"
)

// TestRuleWindowIsTheCountysTimeOfDay: a rule watching 22:00–06:00 watches
// Beijing's night on a hub whose process runs in UTC (time.Local is UTC in
// the binary): 15:00Z is 23:00 in the county, inside; 23:00Z is 07:00, out.
func TestRuleWindowIsTheCountysTimeOfDay(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	night := &rule{Rule: configs.Rule{From: "22:00", To: "06:00"}}
	day := &rule{Rule: configs.Rule{From: "08:00", To: "18:00"}}
	for _, tt := range []struct {
		r    *rule
		at   string
		want bool
	}{
		{night, "2026-12-04T15:00:00Z", true},  // 23:00 in the county
		{night, "2026-12-04T21:59:00Z", true},  // 05:59
		{night, "2026-12-04T23:00:00Z", false}, // 07:00
		{night, "2026-12-04T13:59:00Z", false}, // 21:59
		{day, "2026-12-04T01:00:00Z", true},    // 09:00
		{day, "2026-12-04T11:00:00Z", false},   // 19:00
		{&rule{}, "2026-12-04T11:00:00Z", true},
	} {
		at, _ := time.Parse(time.RFC3339, tt.at)
		if got := tt.r.inWindow(at, sh); got != tt.want {
			t.Errorf("%s–%s at %s (%s in the county): %v, want %v", tt.r.From, tt.r.To, tt.at, at.In(sh).Format("15:04"), got, tt.want)
		}
	}
}
