package dashboard

import (
	"net/http"

	"snowhub/configs"
	"snowhub/internal/auth"
)

// The county tree for the pages: townships, villages, cameras, people and
// departments, as the caller may see them.

type topoVillage struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Cameras []string `json:"cameras"`
	Sensors []string `json:"sensors"`
	// KeyCameras are the village's key crossings (cameras[].key), which
	// the pages mark and list first.
	KeyCameras []string `json:"key_cameras"`
}

type topoTownship struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Villages []topoVillage `json:"villages"`
}

func (s *Server) topology(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	cfg := s.o.Config()
	cams, sens, keys := map[string][]string{}, map[string][]string{}, map[string][]string{}
	for _, c := range cfg.Cameras {
		cams[c.Village] = append(cams[c.Village], c.ID)
		if c.Key {
			keys[c.Village] = append(keys[c.Village], c.ID)
		}
	}
	for _, x := range cfg.Sensors {
		sens[x.Village] = append(sens[x.Village], x.ID)
	}
	out := struct {
		County      configs.Area   `json:"county"`
		Townships   []topoTownship `json:"townships"`
		People      []topoPerson   `json:"people"`      // whom the caller's desks can assign (派人)
		Departments []topoDept     `json:"departments"` // whom they can summon (吹哨)
		NoteLimit   int            `json:"note_limit"`  // characters a note may have
	}{County: cfg.County, Townships: []topoTownship{}, People: s.people(cfg, p), Departments: []topoDept{}, NoteLimit: cfg.Alerts.NoteLimit}
	for _, d := range cfg.Departments {
		out.Departments = append(out.Departments, topoDept{ID: d.ID, Name: d.Name, Kinds: nonNil(d.Kinds)})
	}
	// A department is summoned anywhere in the county: it gets the names of
	// the places (where to go), none of their devices.
	namesOnly := p.Role == auth.RoleDepartment
	for _, t := range cfg.Townships {
		if !p.CanSee(t.ID) && !namesOnly {
			continue
		}
		tt := topoTownship{ID: t.ID, Name: t.Name, Villages: []topoVillage{}}
		for _, v := range t.Villages {
			if namesOnly {
				tt.Villages = append(tt.Villages, topoVillage{ID: v.ID, Name: v.Name, Cameras: []string{}, Sensors: []string{}, KeyCameras: []string{}})
				continue
			}
			tt.Villages = append(tt.Villages, topoVillage{ID: v.ID, Name: v.Name, Cameras: nonNil(cams[v.ID]), Sensors: nonNil(sens[v.ID]), KeyCameras: nonNil(keys[v.ID])})
		}
		out.Townships = append(out.Townships, tt)
	}
	writeJSON(w, 200, out)
}

type topoPerson struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Township string `json:"township"`
	Village  string `json:"village,omitempty"`
	Grid     string `json:"grid,omitempty"`
	Phone    string `json:"phone,omitempty"`
}

type topoDept struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Kinds []string `json:"kinds"`
}

// people lists the roster of the townships p may see.
func (s *Server) people(cfg *configs.Config, p auth.Principal) []topoPerson {
	township := configs.NewTopology(cfg).VillageTownship
	out := []topoPerson{}
	for _, x := range cfg.People {
		t := x.Township
		if x.Village != "" {
			t = township[x.Village]
		}
		if !p.CanSee(t) {
			continue
		}
		out = append(out, topoPerson{ID: x.ID, Name: x.Name, Role: x.Role, Township: t, Village: x.Village, Grid: x.Grid, Phone: x.Phone})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
