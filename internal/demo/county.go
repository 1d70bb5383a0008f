package demo

import (
	"fmt"
	"net"
	"net/url"
	"snowhub/internal/password"
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

// demoCamera is a camera of the demo county: named for the village it
// stands in ("东街社区 菜市场"), so its tile, its tree entry and an
// incident's title all say the same place.
type demoCamera struct {
	village, place string
	key            bool // a key crossing (重点路口)
}

func (c demoCamera) name(villages map[string]string) string {
	return villages[c.village] + " " + c.place
}

// cameras are the demo's cameras, cam-0001 first, each in its own village.
var cameras = []demoCamera{
	{"v-zr-01", "312国道路口", true}, {"v-zr-01", "菜市场", false}, {"v-zr-01", "汽车站", false},
	{"v-zr-02", "学校门口", false}, {"v-zr-02", "十字路口", false},
	{"v-zr-03", "桥头", false},
	{"v-xg-01", "集市", false}, {"v-xg-01", "村委会", false}, {"v-xg-01", "加油站", false},
	{"v-xg-02", "水库", false}, {"v-xg-02", "十字路口", false},
	{"v-tk-01", "泾河大桥", false}, {"v-tk-01", "卫生院", false}, {"v-tk-01", "312国道亭口段", true},
	{"v-tk-02", "村口", false}, {"v-tk-02", "小学", false},
}

// sensorsPerVillage is how many sensors each village has, of different
// kinds: across the villages every kind is in several places.
const sensorsPerVillage = 3

var sensorKinds = []struct{ kind, name string }{
	{"smoke", "烟感"}, {"water_level", "水位计"}, {"door", "门磁"}, {"motion", "红外"}, {"panic", "一键报警"},
	{"power", "断电监测"}, {"temperature", "温度"},
}

// Token is a demo user: its name, role, where it belongs and its token.
type Token struct{ Name, Role, Township, Village, Department, Token string }

// Tokens of the demo's users, one of each kind of desk; printed when the
// demo starts.
var Tokens = []Token{
	{Name: "county-ops", Role: "operator", Token: "demo-operator-token-0001"},
	{Name: "zhaoren-desk", Role: "township", Township: "zhaoren", Token: "demo-zhaoren-token-0001"},
	{Name: "xiangong-desk", Role: "township", Township: "xiangong", Token: "demo-xiangong-token-0001"},
	{Name: "tingkou-desk", Role: "township", Township: "tingkou", Token: "demo-tingkou-token-00001"},
	{Name: "dongjie-village", Role: "village", Village: "v-zr-01", Token: "demo-dongjie-village-001"},
	{Name: "fire-dept", Role: "department", Department: "fire", Token: "demo-fire-department-001"},
	{Name: "tech-1", Role: "technician", Token: "demo-technician-token-01"},
}

// Login is a demo account that logs in with a name and password at
// /login. Demo only: a real configuration declares no password in clear.
type Login struct{ Name, Role, Password string }

// Logins are the demo's administrators, printed with their passwords when
// the demo starts: the admin makes the county's accounts at /admin.
var Logins = []Login{
	{Name: "demo-admin", Role: "admin", Password: "Demo-Admin-2026#"},
	{Name: "demo-security", Role: "security_admin", Password: "Demo-Security-2026#"},
}

// MQTTCommand is the command the demo prints to raise an alarm by hand,
// with the embedded broker's own host and port (broker: tcp://HOST:PORT).
func MQTTCommand(broker string) string {
	host, port := "127.0.0.1", "1883"
	if u, err := url.Parse(broker); err == nil && u.Host != "" {
		if h, p, err := net.SplitHostPort(u.Host); err == nil {
			host, port = h, p
		}
	}
	return fmt.Sprintf(`mosquitto_pub -h %s -p %s -t snowbright/sensors/smoke-0001/event -m '{"value":1}'`, host, port)
}

// CameraPaths lists the demo cameras' RTSP paths with their behaviours.
func CameraPaths() map[string]string {
	out := map[string]string{}
	for i := range cameras {
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
	names := map[string]string{}
	for _, v := range villages {
		names[v.id] = v.name
	}
	b.WriteString("cameras:\n")
	inVillage := map[string][]string{} // village → its cameras' ids
	for i, c := range cameras {
		id := fmt.Sprintf("cam-%04d", i+1)
		inVillage[c.village] = append(inVillage[c.village], id)
		watch := i < 12 // the rest are probed, as most of a county's cameras are
		fmt.Fprintf(&b, "  - {id: %s, name: %q, village: %s, url: %q, transport: tcp, watch: %t, key: %t, fps: 25}\n",
			id, c.name(names), c.village, rtspBase+"/"+id, watch, c.key)
	}
	// Each village has sensors of a few kinds, each looking at a camera of
	// its own village: an alarm brings that village's picture to the front.
	b.WriteString("sensors:\n")
	n := 0
	for vi, v := range villages {
		for j := 0; j < sensorsPerVillage; j++ {
			k := sensorKinds[(vi*sensorsPerVillage+j)%len(sensorKinds)]
			cams := inVillage[v.id]
			n++
			fmt.Fprintf(&b, "  - {id: %s-%04d, name: %q, kind: %s, village: %s", strings.ReplaceAll(k.kind, "_", "-"), n,
				v.name+" "+k.name, k.kind, v.id)
			if len(cams) > 0 {
				fmt.Fprintf(&b, ", camera: %s", cams[j%len(cams)])
			}
			if k.kind == "door" {
				// One gateway speaks Zigbee2MQTT, as many village bridges do.
				fmt.Fprintf(&b, ", z2m: %q", fmt.Sprintf("door_%s_%d", v.id, n))
			}
			b.WriteString("}\n")
		}
	}
	b.WriteString("users:\n")
	for _, u := range Tokens {
		fmt.Fprintf(&b, "  - {name: %s, role: %s", u.Name, u.Role)
		for _, kv := range [][2]string{{"township", u.Township}, {"village", u.Village}, {"department", u.Department}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, ", %s: %s", kv[0], kv[1])
			}
		}
		fmt.Fprintf(&b, ", token: %s}\n", u.Token)
	}
	for _, l := range Logins {
		h, err := password.Hash(l.Password, password.Default)
		if err != nil {
			panic(err) // the system's random source failed
		}
		fmt.Fprintf(&b, "  - {name: %s, role: %s, password_hash: %q}\n", l.Name, l.Role, h)
	}
	return []byte(b.String())
}
