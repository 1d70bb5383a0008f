package event

import "testing"

func TestChinese(t *testing.T) {
	for in, want := range map[string]string{
		Bilingual("自动派单到镇", "automatic dispatch to the township desk"):                                               "自动派单到镇",
		"派 李网格 实地走访 / sent on site":                                                                                  "派 李网格 实地走访",
		Bilingual("县联络办督办：接单 超期（期限 12-03 17:30）", "county liaison office, tier 1: accept overdue since 12-03 17:30"): "县联络办督办：接单 超期（期限 12-03 17:30）",
		// A person's own words are never cut.
		"水管破裂 / 已关阀":    "水管破裂 / 已关阀",
		"3/4 户停水":       "3/4 户停水",
		"pump / broken": "pump / broken",
		"水管破裂 /":        "水管破裂 /",
		"":              "",
	} {
		if got := Chinese(in); got != want {
			t.Errorf("Chinese(%q) = %q, want %q", in, got, want)
		}
	}
	if zh, en, ok := SplitBilingual(Bilingual("已确认告警", "alarm acknowledged")); !ok || zh != "已确认告警" || en != "alarm acknowledged" {
		t.Errorf("SplitBilingual: %q %q %v", zh, en, ok)
	}
}
