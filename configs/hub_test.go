package configs

import (
	"strings"
	"testing"
)

const twoTownships = `mqtt: {broker: "tcp://broker.city:1883"}
county: {id: changwu, name: 长武县}
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
			wantErr: []string{`x.yaml:22: hub.townships[1]: unknown township "nowhere"`}},
		{name: "bad id and self view", hub: "hub:\n  id: North-1\n  view: [North-1]",
			wantErr: []string{`x.yaml:21: hub.id: "North-1": a hub id is 1-32 lower-case letters, digits or '_', beginning with a letter or digit`,
				`x.yaml:22: hub.view[0]: a hub does not view itself ("North-1" is this hub)`}},
		{name: "no id", hub: "hub:\n  townships: [zhaoren]", wantErr: []string{`x.yaml:20: hub.id: a hub section needs an id (lower-case letters, digits, '_')`}},
		{name: "owns and views nothing", hub: "hub:\n  id: north", wantErr: []string{`x.yaml:20: hub: a hub owns townships, views other hubs, or both`}},
		{name: "owner with its address", hub: "hub: {id: north, townships: [zhaoren], url: \"http://hub-north.county:8080\"}", cams: []string{"cam-zr"}, sensors: []string{"smoke-zr"}},
		{name: "bad addresses", hub: "hub:\n  id: north\n  townships: [zhaoren]\n  url: \"ftp://x\"",
			wantErr: []string{`x.yaml:23: hub.url: give the address other hubs reach this hub at, as http://host:port or https://host:port`}},
		{name: "address with a password", hub: "hub:\n  id: north\n  townships: [zhaoren]\n  url: \"http://a:b@x:8080\"",
			wantErr: []string{`x.yaml:23: hub.url: no user or password in the address: it is published to every hub (the views log in with their own hub user)`}},
		{name: "a view has no cameras to serve", hub: "hub:\n  id: city\n  view: [all]\n  url: \"http://x:8080\"",
			wantErr: []string{`x.yaml:23: hub.url: a hub that owns no township has no cameras for other hubs to watch`}},
		{name: "unknown key", hub: "hub:\n  id: north\n  townships: [zhaoren]\n  veiw: [all]", wantErr: []string{`x.yaml:23: hub.veiw: unknown key (did you mean "view"?)`}},
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

func TestHubUser(t *testing.T) {
	y := twoTownships + `  - {name: city, role: hub, token: "city-hub-token-0123456789"}
  - {name: North-Hub, role: hub, token: "bad-hub-name-token-0123"}
hub: {id: city, view: [all]}
`
	_, err := Parse("x.yaml", []byte(y))
	want := `x.yaml:21: users[2].name: "North-Hub": a hub user is named after the hub's id (lower-case letters, digits, '_')`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	c, err := Parse("x.yaml", []byte(strings.Replace(y, "  - {name: North-Hub, role: hub, token: \"bad-hub-name-token-0123\"}\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := c.HubUser(); !ok || u.Token != "city-hub-token-0123456789" {
		t.Fatalf("HubUser = %+v %v", u, ok)
	}
	c.Hub.ID = "north"
	if _, ok := c.HubUser(); ok {
		t.Error("a hub found another hub's user as its own")
	}
}

// The embedded broker admits no other hub: a hub section on it is refused.
func TestHubNeedsASharedBroker(t *testing.T) {
	y := strings.Replace(twoTownships, `mqtt: {broker: "tcp://broker.city:1883"}`, `mqtt: {}`, 1) + "hub: {id: north, townships: [zhaoren]}\n"
	_, err := Parse("x.yaml", []byte(y))
	want := `x.yaml:20: hub.id: the hubs of a prefecture share one broker (Mosquitto, EMQX): set mqtt.broker; the embedded broker serves a single county hub`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

// The prefecture's list: ids unique, a township owned once, views naming
// hubs of the list; hub.id picks the entry, which becomes the hub section.
func TestHubsList(t *testing.T) {
	list := "hubs:\n  - {id: north, townships: [zhaoren], url: \"http://north:8080\"}\n  - {id: south, townships: [xiangong]}\n  - {id: city, view: [all]}\n"
	tests := []struct {
		name, yaml string
		wantErr    []string
	}{
		{name: "owner", yaml: list + "hub: {id: north}"},
		{name: "view", yaml: list + "hub: {id: city}"},
		{name: "township owned twice", yaml: "hubs:\n  - {id: north, townships: [zhaoren]}\n  - {id: south, townships: [xiangong, zhaoren]}\nhub: {id: north}",
			wantErr: []string{`x.yaml:22: hubs[1].townships[1]: township "zhaoren" is owned by hub north already: a township has one owner`}},
		{name: "id twice, unknown view, unknown township", yaml: "hubs:\n  - {id: north, townships: [zhaoren]}\n  - {id: north, townships: [nowhere]}\n  - {id: city, view: [south]}\nhub: {id: city}",
			wantErr: []string{`x.yaml:22: hubs[1].id: hub "north" listed twice (hubs[0])`, `x.yaml:22: hubs[1].townships[0]: unknown township "nowhere"`,
				`x.yaml:23: hubs[2].view[0]: "south" is not a hub of the list (or "all")`}},
		{name: "not in the list", yaml: list + "hub: {id: east}", wantErr: []string{`x.yaml:24: hub.id: "east" is not in the hubs: list`}},
		{name: "no id", yaml: list + "hub: {report_unknown: true}", wantErr: []string{`x.yaml:24: hub.id: with a hubs: list, hub.id says which entry is this hub`}},
		{name: "both forms", yaml: list + "hub:\n  id: north\n  townships: [zhaoren]",
			wantErr: []string{`x.yaml:26: hub.townships: given by this hub's entry of hubs: when the list is present; remove it here`}},
		{name: "unknown key", yaml: "hubs:\n  - {id: north, townships: [zhaoren], veiw: [all]}\nhub: {id: north}",
			wantErr: []string{`x.yaml:21: hubs[0].veiw: unknown key (did you mean "view"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.yaml", []byte(twoTownships+tt.yaml+"\n"))
			if tt.wantErr != nil {
				if err == nil || err.Error() != strings.Join(tt.wantErr, "\n") {
					t.Fatalf("errors:\n%v\nwant:\n%s", err, strings.Join(tt.wantErr, "\n"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.PrefectureWarning() != "" {
				t.Errorf("a hub of the list warns: %s", c.PrefectureWarning())
			}
			e, _ := c.HubEntryOf(c.Hub.ID)
			if strings.Join(c.Hub.Townships, ",") != strings.Join(e.Townships, ",") || c.Hub.URL != e.URL {
				t.Errorf("hub section %+v is not its entry %+v", c.Hub, e)
			}
		})
	}
	c, err := Parse("x.yaml", []byte(twoTownships+list+"hub: {id: city}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		viewer, owner string
		want          bool
	}{{"city", "north", true}, {"city", "south", true}, {"north", "south", false}, {"south", "city", false}, {"city", "east", false}, {"city", "city", false}} {
		if got := c.HubViews(x.viewer, x.owner); got != x.want {
			t.Errorf("HubViews(%s, %s) = %v", x.viewer, x.owner, got)
		}
	}
	if c.TownshipHub("xiangong") != "south" || c.Views("east") || !c.Views("north") {
		t.Errorf("TownshipHub(xiangong) = %q; Views(east) %v; Views(north) %v", c.TownshipHub("xiangong"), c.Views("east"), c.Views("north"))
	}
	old, err := Parse("x.yaml", []byte(twoTownships+"hub: {id: north, townships: [zhaoren]}\n"))
	if err != nil || old.PrefectureWarning() == "" {
		t.Errorf("the old form does not warn that it cannot check ownership (%v)", err)
	}
}
