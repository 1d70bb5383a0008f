package configs

import (
	"strings"
	"testing"
)

const twoTownships = `county: {id: changwu, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: 东街社区}
  - id: xiangong
    name: 相公镇
    villages:
      - {id: v-xg-01, name: 相公村}
cameras:
  - {id: cam-zr, village: v-zr-01, url: "rtsp://10.0.0.1/a"}
  - {id: cam-xg, village: v-xg-01, url: "rtsp://10.0.0.2/a"}
sensors:
  - {id: smoke-zr, kind: smoke, village: v-zr-01}
  - {id: smoke-xg, kind: smoke, village: v-xg-01}
users:
  - {name: county-ops, role: operator, token: "ops-token-0123456789"}
`

func TestHubSection(t *testing.T) {
	tests := []struct {
		name    string
		hub     string
		wantErr []string
		cams    []string // Owned().Cameras
		sensors []string
	}{
		{name: "no hub section owns everything", hub: "", cams: []string{"cam-zr", "cam-xg"}, sensors: []string{"smoke-zr", "smoke-xg"}},
		{name: "owner of one township", hub: "hub: {id: north, townships: [zhaoren]}", cams: []string{"cam-zr"}, sensors: []string{"smoke-zr"}},
		{name: "a view owns nothing", hub: "hub: {id: city, view: [all]}", cams: nil, sensors: nil},
		{name: "unknown township", hub: "hub:\n  id: north\n  townships: [zhaoren, nowhere]",
			wantErr: []string{`x.yaml:21: hub.townships[1]: unknown township "nowhere"`}},
		{name: "bad id and self view", hub: "hub:\n  id: North-1\n  view: [North-1]",
			wantErr: []string{`x.yaml:20: hub.id: "North-1": a hub id is 1-32 lower-case letters, digits or '_', beginning with a letter or digit`,
				`x.yaml:21: hub.view[0]: a hub does not view itself ("North-1" is this hub)`}},
		{name: "no id", hub: "hub:\n  townships: [zhaoren]", wantErr: []string{`x.yaml:19: hub.id: a hub section needs an id (lower-case letters, digits, '_')`}},
		{name: "owns and views nothing", hub: "hub:\n  id: north", wantErr: []string{`x.yaml:19: hub: a hub owns townships, views other hubs, or both`}},
		{name: "unknown key", hub: "hub:\n  id: north\n  townships: [zhaoren]\n  veiw: [all]", wantErr: []string{`x.yaml:22: hub.veiw: unknown key (did you mean "view"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.yaml", []byte(twoTownships+tt.hub+"\n"))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Parse = nil, want %q", tt.wantErr)
				}
				if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tt.wantErr, "\n") {
					t.Fatalf("errors:\n%s\nwant:\n%s", err, strings.Join(tt.wantErr, "\n"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := c.Owned()
			var cams, sensors []string
			for _, x := range o.Cameras {
				cams = append(cams, x.ID)
			}
			for _, x := range o.Sensors {
				sensors = append(sensors, x.ID)
			}
			if strings.Join(cams, ",") != strings.Join(tt.cams, ",") || strings.Join(sensors, ",") != strings.Join(tt.sensors, ",") {
				t.Errorf("owned cameras %v sensors %v, want %v %v", cams, sensors, tt.cams, tt.sensors)
			}
			if len(c.Cameras) != 2 || len(c.Townships) != 2 {
				t.Errorf("Owned changed the whole configuration: %d cameras", len(c.Cameras))
			}
		})
	}
}
