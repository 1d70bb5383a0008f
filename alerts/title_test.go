package alerts

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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

// A village outage counts its devices with 台 (devices are 台, not 个).
func TestOutageTitleCountsDevicesWithTai(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		must(t, e.Evaluate(ctx, camState(fmt.Sprintf("cam-v2-%02d", i), "offline", t0.Add(time.Duration(i)*time.Second))))
	}
	e.Tick(ctx, t0.Add(time.Hour))
	inc := open(e)
	if len(inc) != 1 || !strings.HasPrefix(inc[0].Title, "西街社区 ") || !strings.HasSuffix(inc[0].Title, " 台设备离线") {
		t.Fatalf("incidents: %+v", inc)
	}
}
