package configs

// Topology indexes the county tree of one configuration: built once per
// configuration, read by every component instead of maps of its own.
type Topology struct {
	Config *Config

	TownshipName     map[string]string   // township → name
	VillageName      map[string]string   // village → name
	VillageTownship  map[string]string   // village → township
	TownshipVillages map[string][]string // township → villages, in file order
	GridVillage      map[string]string   // grid → village
	GridName         map[string]string
	Devices          map[string]DeviceInfo
	VillageCameras   map[string]int // cameras per village
	People           map[string]Person
	Departments      map[string]Department
}

// DeviceInfo is where a device stands.
type DeviceInfo struct {
	ID, Name, Kind          string // kind: "camera" or the sensor kind
	Village, Township, Grid string
	Camera, Key             bool
	LooksAt                 string // a sensor's camera
}

// NewTopology indexes cfg.
func NewTopology(cfg *Config) *Topology {
	t := &Topology{Config: cfg, TownshipName: map[string]string{}, VillageName: map[string]string{},
		VillageTownship: map[string]string{}, TownshipVillages: map[string][]string{}, GridVillage: map[string]string{},
		GridName: map[string]string{}, Devices: map[string]DeviceInfo{}, VillageCameras: map[string]int{},
		People: map[string]Person{}, Departments: map[string]Department{}}
	for _, tw := range cfg.Townships {
		t.TownshipName[tw.ID] = tw.Name
		for _, v := range tw.Villages {
			t.VillageName[v.ID] = v.Name
			t.VillageTownship[v.ID] = tw.ID
			t.TownshipVillages[tw.ID] = append(t.TownshipVillages[tw.ID], v.ID)
			for _, g := range v.Grids {
				t.GridVillage[g.ID] = v.ID
				t.GridName[g.ID] = g.Name
			}
		}
	}
	for _, c := range cfg.Cameras {
		t.Devices[c.ID] = DeviceInfo{ID: c.ID, Name: c.Name, Kind: "camera", Village: c.Village,
			Township: t.VillageTownship[c.Village], Grid: c.Grid, Camera: true, Key: c.Key}
		t.VillageCameras[c.Village]++
	}
	for _, s := range cfg.Sensors {
		t.Devices[s.ID] = DeviceInfo{ID: s.ID, Name: s.Name, Kind: s.Kind, Village: s.Village,
			Township: t.VillageTownship[s.Village], Grid: s.Grid, LooksAt: s.Camera}
	}
	for _, p := range cfg.People {
		if p.Village != "" {
			p.Township = t.VillageTownship[p.Village]
		}
		t.People[p.ID] = p
	}
	for _, d := range cfg.Departments {
		t.Departments[d.ID] = d
	}
	return t
}
