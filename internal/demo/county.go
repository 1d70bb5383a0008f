package demo

import (
	"fmt"
	"strings"
)

// Camera behaviours of the demo county: most are healthy, a few show what
// technicians meet on rural links.
var cameraBehaviours = map[string]string{
	"cam-0005": "flap",   // drops for 20 s every few minutes
	"cam-0009": "stall",  // connection stays open, frames stop
	"cam-0012": "lowfps", // 3 fps instead of 25
}

type village struct{ id, name string }
type township struct {
	id, name string
	villages []village
}

var county = []township{
	{"zhaoren", "昭仁街道", []village{{"v-zr-01", "东街社区"}, {"v-zr-02", "西街社区"}, {"v-zr-03", "南街社区"}}},
	{"xiangong", "相公镇", []village{{"v-xg-01", "相公村"}, {"v-xg-02", "巨家村"}}},
	{"tingkou", "亭口镇", []village{{"v-tk-01", "亭口村"}, {"v-tk-02", "宇家村"}}},
}

var cameraNames = []string{
	"312国道 昭仁路口", "东街 菜市场", "西街 学校门口", "南街 桥头", "昭仁 汽车站",
	"相公 集市", "相公村 村委会", "巨家村 水库", "巨家村 十字路口", "亭口 大桥",
	"亭口村 卫生院", "宇家村 村口", "312国道 亭口段", "泾河 堤坝", "相公镇 加油站", "宇家村 小学",
}

var sensorKinds = []struct{ kind, name string }{
	{"smoke", "烟感"}, {"water_level", "水位计"}, {"door", "门磁"}, {"motion", "红外"}, {"panic", "一键报警"},
	{"power", "断电监测"}, {"temperature", "温度"},
}

// Tokens of the demo's users; printed when the demo starts.
var Tokens = []struct{ Name, Role, Township, Token string }{
	{"county-ops", "operator", "", "demo-operator-token-0001"},
	{"zhaoren-desk", "township", "zhaoren", "demo-zhaoren-token-0001"},
	{"xiangong-desk", "township", "xiangong", "demo-xiangong-token-0001"},
	{"tingkou-desk", "township", "tingkou", "demo-tingkou-token-00001"},
	{"tech-1", "technician", "", "demo-technician-token-01"},
}

// CameraPaths lists the demo cameras' RTSP paths with their behaviours.
func CameraPaths() map[string]string {
	out := map[string]string{}
	for i := range cameraNames {
		id := fmt.Sprintf("cam-%04d", i+1)
		b := cameraBehaviours[id]
		if b == "" {
			b = "normal"
		}
		out["/"+id] = b
	}
	return out
}

// Config is the demo county's configuration as YAML, with the cameras served
// at rtspBase (rtsp://127.0.0.1:PORT), the embedded broker on mqttListen and
// InfluxDB at influxURL.
func Config(listen, dataDir, rtspBase, mqttListen, influxURL string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %s\ndata_dir: %s\n", listen, dataDir)
	fmt.Fprintf(&b, "mqtt:\n  broker: \"\"\n  embedded_listen: %s\n  client_id: snowhub-demo\n", mqttListen)
	fmt.Fprintf(&b, "influx:\n  url: %s\n  org: snowbright\n  bucket: snowhub\n", influxURL)
	b.WriteString("county: {id: changwu, name: 长武县}\ncamera:\n  probe_interval: 30s\n  backoff_max: 20s\n")
	b.WriteString("townships:\n")
	var villages []village
	for _, t := range county {
		fmt.Fprintf(&b, "  - id: %s\n    name: %s\n    villages:\n", t.id, t.name)
		for _, v := range t.villages {
			fmt.Fprintf(&b, "      - {id: %s, name: %s, grids: [{id: %s-g1, name: 第一网格}]}\n", v.id, v.name, v.id)
			villages = append(villages, v)
		}
	}
	// The people incidents are assigned to (派人): a grid worker per
	// village and a cadre per township; the departments summoned.
	b.WriteString("people:\n")
	for _, t := range county {
		fmt.Fprintf(&b, "  - {id: cadre-%s, name: %s包村干部, role: cadre, township: %s}\n", t.id, t.name, t.id)
		for _, v := range t.villages {
			fmt.Fprintf(&b, "  - {id: gw-%s, name: %s网格员, role: grid_worker, village: %s, grid: %s-g1}\n", v.id, v.name, v.id, v.id)
		}
	}
	b.WriteString("departments:\n  - {id: power, name: 供电所, kinds: [power]}\n  - {id: water, name: 水利站, kinds: [water_level]}\n  - {id: fire, name: 消防, kinds: [smoke]}\n")
	b.WriteString("cameras:\n")
	for i, name := range cameraNames {
		id := fmt.Sprintf("cam-%04d", i+1)
		v := villages[i%len(villages)]
		watch := i < 12 // the rest are probed, as most of a county's cameras are
		fmt.Fprintf(&b, "  - {id: %s, name: %q, village: %s, url: %q, transport: tcp, watch: %t, key: %t, fps: 25}\n",
			id, name, v.id, rtspBase+"/"+id, watch, i == 0 || i == 12)
	}
	b.WriteString("sensors:\n")
	for i := 0; i < 20; i++ {
		k := sensorKinds[i%len(sensorKinds)]
		v := villages[i%len(villages)]
		cam := fmt.Sprintf("cam-%04d", i%len(cameraNames)+1)
		fmt.Fprintf(&b, "  - {id: %s-%04d, name: %q, kind: %s, village: %s, camera: %s", strings.ReplaceAll(k.kind, "_", "-"), i+1,
			v.name+" "+k.name, k.kind, v.id, cam)
		if k.kind == "door" {
			// One gateway speaks Zigbee2MQTT, as many village bridges do.
			fmt.Fprintf(&b, ", z2m: %q", fmt.Sprintf("door_%s_%d", v.id, i+1))
		}
		b.WriteString("}\n")
	}
	b.WriteString("users:\n")
	for _, u := range Tokens {
		fmt.Fprintf(&b, "  - {name: %s, role: %s", u.Name, u.Role)
		if u.Township != "" {
			fmt.Fprintf(&b, ", township: %s", u.Township)
		}
		fmt.Fprintf(&b, ", token: %s}\n", u.Token)
	}
	return []byte(b.String())
}
