package alerts

import (
	"testing"

	"snowhub/configs"
)

// Default titles name the village once: demo devices are named after their
// village, and the wall showed "东街社区 东街社区 烟感 烟雾报警".
func TestDefaultTitlesSayTheVillageOnce(t *testing.T) {
	rules := map[string]*rule{}
	for _, r := range compileRules(&configs.Config{}) {
		rules[r.Name] = r
	}
	for _, tc := range []struct {
		rule string
		d    titleData
		want string
	}{
		{"smoke", titleData{Village: "东街社区", DeviceName: "东街社区 烟感"}, "东街社区 烟感 烟雾报警"},
		{"smoke", titleData{Village: "东街社区", DeviceName: "便民超市 烟感"}, "东街社区 便民超市 烟感 烟雾报警"},
		{"camera-offline", titleData{Village: "相公村", DeviceName: "相公村 村委会"}, "相公村 村委会 离线"},
		{"camera-offline", titleData{Village: "", DeviceName: "312国道 昭仁路口"}, "312国道 昭仁路口 离线"},
		{"water-high", titleData{Village: "巨家村", DeviceName: "巨家村 水库 水位", Value: 3.4}, "巨家村 水库 水位超警戒 3.4 m"},
		// The kind is said once: the device's name ends with the rule's words.
		{"panic", titleData{Village: "北街社区", DeviceName: "北街社区一键报警"}, "北街社区一键报警"},
		{"panic", titleData{Village: "北街社区", DeviceName: "北街社区 一键报警 按钮"}, "北街社区 一键报警 按钮"},
		{"panic", titleData{Village: "北街社区", DeviceName: "北街 3 号院 按钮"}, "北街社区 北街 3 号院 按钮 一键报警"},
	} {
		r := rules[tc.rule]
		if r == nil {
			t.Fatalf("no default rule %q", tc.rule)
		}
		if got := r.render(tc.d); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.rule, got, tc.want)
		}
	}
}
