package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"snowhub/internal/auth"
)

// Named wall layouts, kept per user on the server so that a wall PC that
// reboots comes back as it was left:
//
//	GET    /api/v1/layouts          → {"current": NAME, "layouts": [...]}
//	PUT    /api/v1/layouts/{name}   saves one and makes it current → the same
//	DELETE /api/v1/layouts/{name}   → the same
//
// They live in DATA_DIR/layouts.json, rewritten whole through a temporary
// file and a rename, so a crash leaves the old file or the new one.

// WallLayout is one saved arrangement of the wall.
type WallLayout struct {
	Name    string    `json:"name"`
	Layout  string    `json:"layout"`  // 1 | 2 | 3 | 4 | 5 | 6 | 1+5 | 1+7
	Cameras []string  `json:"cameras"` // tiles in order
	Tour    *WallTour `json:"tour,omitempty"`
}

// WallTour is a named camera group cycling every Every seconds (轮巡).
type WallTour struct {
	Name    string   `json:"name"`
	Cameras []string `json:"cameras"`
	Every   int      `json:"every"`
}

type userLayouts struct {
	Current string       `json:"current"`
	Layouts []WallLayout `json:"layouts"`
}

const (
	maxLayoutsPerUser = 50
	maxLayoutCameras  = 1000
	maxLayoutName     = 40
)

var wallLayouts = []string{"1", "2", "3", "4", "5", "6", "1+5", "1+7"}

type layoutStore struct {
	mu   sync.Mutex
	path string
	byU  map[string]*userLayouts
}

func newLayoutStore(dataDir string) *layoutStore {
	if dataDir == "" {
		return &layoutStore{byU: map[string]*userLayouts{}}
	}
	return &layoutStore{path: filepath.Join(dataDir, "layouts.json")}
}

// load reads the file once, on first use. Called with mu held.
func (s *layoutStore) load() error {
	if s.byU != nil {
		return nil
	}
	s.byU = map[string]*userLayouts{}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		s.byU = nil
		return fmt.Errorf("layouts: %w", err)
	}
	if err := json.Unmarshal(b, &s.byU); err != nil {
		s.byU = nil
		return fmt.Errorf("layouts: %s: %w", s.path, err)
	}
	return nil
}

// save writes every user's layouts atomically. Called with mu held.
func (s *layoutStore) save() error {
	if s.path == "" {
		return nil // no data_dir: kept in memory only (tests)
	}
	b, err := json.MarshalIndent(s.byU, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o750); err != nil {
		return fmt.Errorf("layouts: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".layouts-*.json")
	if err != nil {
		return fmt.Errorf("layouts: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("layouts: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("layouts: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("layouts: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("layouts: %w", err)
	}
	return nil
}

func (s *layoutStore) get(user string) (userLayouts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return userLayouts{}, err
	}
	return s.copyOf(user), nil
}

func (s *layoutStore) copyOf(user string) userLayouts {
	u := s.byU[user]
	if u == nil {
		return userLayouts{Layouts: []WallLayout{}}
	}
	return userLayouts{Current: u.Current, Layouts: slices.Clone(u.Layouts)}
}

// change applies f to a user's layouts and writes them; on a failed write
// memory keeps what the disk has.
func (s *layoutStore) change(user string, f func(u *userLayouts) error) (userLayouts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return userLayouts{}, err
	}
	old := s.byU[user]
	u := &userLayouts{Layouts: []WallLayout{}}
	if old != nil {
		u.Current, u.Layouts = old.Current, slices.Clone(old.Layouts)
	}
	if err := f(u); err != nil {
		return userLayouts{}, err
	}
	s.byU[user] = u
	if err := s.save(); err != nil {
		if old == nil {
			delete(s.byU, user)
		} else {
			s.byU[user] = old
		}
		return userLayouts{}, err
	}
	return s.copyOf(user), nil
}

type layoutError struct {
	status int
	msg    string
}

func (e *layoutError) Error() string { return e.msg }

func validLayoutName(name string) error {
	n := utf8.RuneCountInString(name)
	if n == 0 || n > maxLayoutName || strings.TrimSpace(name) != name {
		return &layoutError{400, fmt.Sprintf("布局名称须为 1–%d 个字符，首尾无空格 / a layout name is 1-%d characters without surrounding spaces", maxLayoutName, maxLayoutName)}
	}
	if strings.ContainsAny(name, "/\\\x00") {
		return &layoutError{400, "布局名称不能含 / 或 \\ / a layout name has no slash"}
	}
	return nil
}

func (s *Server) layoutRoutes(api func(string, func(http.ResponseWriter, *http.Request, auth.Principal))) {
	api("GET /api/v1/layouts", s.layoutsGet)
	api("PUT /api/v1/layouts/{name}", s.layoutsPut)
	api("DELETE /api/v1/layouts/{name}", s.layoutsDelete)
}

func (s *Server) layoutsGet(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	u, err := s.layouts.get(p.Name)
	if err != nil {
		s.log.Error("layouts", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, 200, u)
}

func (s *Server) layoutsPut(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	name := r.PathValue("name")
	if err := validLayoutName(name); err != nil {
		writeLayoutErr(w, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<10+1))
	if err != nil {
		writeError(w, 400, "读取请求失败 / reading the body: "+err.Error())
		return
	}
	if len(body) > 256<<10 {
		writeError(w, http.StatusRequestEntityTooLarge, "布局过大（上限 256 KiB）/ a layout is at most 256 KiB")
		return
	}
	var l WallLayout
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		writeError(w, 400, "布局格式有误 / body is not a layout: "+err.Error())
		return
	}
	l.Name = name
	if !slices.Contains(wallLayouts, l.Layout) {
		writeError(w, 400, fmt.Sprintf("未知的画面布局 %q / layout: one of %s", l.Layout, strings.Join(wallLayouts, ", ")))
		return
	}
	if len(l.Cameras) > maxLayoutCameras || (l.Tour != nil && len(l.Tour.Cameras) > maxLayoutCameras) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("摄像机过多（上限 %d）/ at most %d cameras", maxLayoutCameras, maxLayoutCameras))
		return
	}
	if l.Cameras == nil {
		l.Cameras = []string{}
	}
	if l.Tour != nil && (l.Tour.Every < 5 || l.Tour.Every > 3600) {
		writeError(w, 400, "轮巡间隔须为 5–3600 秒 / tour.every: 5 to 3600 seconds")
		return
	}
	u, err := s.layouts.change(p.Name, func(u *userLayouts) error {
		i := slices.IndexFunc(u.Layouts, func(x WallLayout) bool { return x.Name == name })
		switch {
		case i >= 0:
			u.Layouts[i] = l
		case len(u.Layouts) >= maxLayoutsPerUser:
			return &layoutError{409, fmt.Sprintf("每人最多保存 %d 个布局 / at most %d layouts per user", maxLayoutsPerUser, maxLayoutsPerUser)}
		default:
			u.Layouts = append(u.Layouts, l)
		}
		u.Current = name
		return nil
	})
	if err != nil {
		writeLayoutErr(w, err)
		return
	}
	writeJSON(w, 200, u)
}

func (s *Server) layoutsDelete(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	name := r.PathValue("name")
	u, err := s.layouts.change(p.Name, func(u *userLayouts) error {
		i := slices.IndexFunc(u.Layouts, func(x WallLayout) bool { return x.Name == name })
		if i < 0 {
			return &layoutError{404, fmt.Sprintf("布局 %q 不存在 / layout %q not found", name, name)}
		}
		u.Layouts = slices.Delete(u.Layouts, i, i+1)
		if u.Current == name {
			u.Current = ""
		}
		return nil
	})
	if err != nil {
		writeLayoutErr(w, err)
		return
	}
	writeJSON(w, 200, u)
}

func writeLayoutErr(w http.ResponseWriter, err error) {
	var le *layoutError
	if errors.As(err, &le) {
		writeError(w, le.status, le.msg)
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}
