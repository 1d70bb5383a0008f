package prefecture

import (
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// What a hub accepts from another hub is checked against the shared
// configuration every hub loads (docs/prefecture.md, "Trust"): the hubs:
// list says who owns which township, who views whom and where each serves
// live video; the county tree says which devices exist and where. A hub's
// broker login binds it to its own topics (the generated ACL), so the
// topic says who speaks; the list says what it may say.

// Reasons a message of another hub is refused, the label of
// snowhub_prefecture_refused_total.
const (
	RefusedUnlisted   = "unlisted_hub"     // a hub the list does not give this view
	RefusedTownship   = "foreign_township" // a township, device or incident the list gives another hub
	RefusedUnknown    = "unknown_id"       // a device, village or township the configuration does not know
	RefusedFuture     = "future_time"      // a status or state dated after now plus the skew
	RefusedFull       = "full"             // more than a view keeps of one hub (count or bytes)
	RefusedNotAView   = "not_a_view"       // a request from a hub that is not a view of this one
	RefusedPerson     = "person"           // a request for a person the asking hub does not serve
	RefusedWrongReply = "wrong_hub_reply"  // an answer from a hub the request did not go to
)

// RefusedReasons lists every reason, for the metric's series.
var RefusedReasons = []string{RefusedUnlisted, RefusedTownship, RefusedUnknown, RefusedFuture, RefusedFull,
	RefusedNotAView, RefusedPerson, RefusedWrongReply}

// ClockSkew is how far in the future another hub's status or device state
// may be dated: further, it would outlast the hub (a status of 2099 kept a
// stopped hub "online").
const ClockSkew = 30 * time.Second

// Limits of what a view keeps of one other hub. Devices are bounded by
// the configuration (only its ids are kept, with its names); incidents by
// count and bytes, and each incident's free text by length.
const (
	DefaultMaxIncidents = 100_000
	DefaultMaxBytes     = 256 << 20
	maxTitle            = 512  // bytes of an incident's title
	maxNote             = 4096 // bytes of one step's note and the like
	maxShort            = 256  // bytes of a state, cause, codec, error
	maxHubs             = 64   // hubs a view of the old form keeps, "all" being any
)

// Refusals counts and logs what is refused: each reason and hub is logged
// once (the first time), every one counted.
type Refusals struct {
	log    *slog.Logger
	counts sync.Map // reason → *atomic.Uint64
	mu     sync.Mutex
	logged map[string]bool
}

// NewRefusals builds the counters; log may be nil.
func NewRefusals(log *slog.Logger) *Refusals {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Refusals{log: log, logged: map[string]bool{}}
}

// Count is how many messages were refused for reason.
func (r *Refusals) Count(reason string) uint64 {
	if r == nil {
		return 0
	}
	if c, ok := r.counts.Load(reason); ok {
		return c.(*atomic.Uint64).Load()
	}
	return 0
}

func (r *Refusals) add(hub, reason, msg string, args ...any) {
	if r == nil {
		return
	}
	c, _ := r.counts.LoadOrStore(reason, new(atomic.Uint64))
	c.(*atomic.Uint64).Add(1)
	key := reason + "/" + hub
	r.mu.Lock()
	first := !r.logged[key] && len(r.logged) < 1024
	if first {
		r.logged[key] = true
	}
	r.mu.Unlock()
	if first {
		r.log.Warn(msg+" (logged once per hub and reason; counted in snowhub_prefecture_refused_total)",
			append([]any{"hub", hub, "reason", reason}, args...)...)
	}
}

// trust is what a view checks other hubs' messages against: the shared
// configuration, indexed once per configuration (reloads bring new
// devices).
type trust struct {
	cfg  *configs.Config
	topo *configs.Topology
}

type trustCache struct {
	mu  sync.Mutex
	cur *trust
}

func (c *trustCache) get(cfg *configs.Config) *trust {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil || c.cur.cfg != cfg {
		c.cur = &trust{cfg: cfg, topo: configs.NewTopology(cfg)}
	}
	return c.cur
}

// ownsTownship reports whether hub may speak for township: by the list,
// or (the old form, which cannot check) whenever the township exists.
func (t *trust) ownsTownship(hub, township string) bool {
	if t.topo.TownshipName[township] == "" {
		return false
	}
	return !t.cfg.Listed() || t.cfg.TownshipHub(township) == hub
}

// placeOf checks a village and township a hub's message names: known,
// the village in the township, the township the hub's.
func (t *trust) placeOf(hub, township, village string) string {
	switch {
	case t.topo.TownshipName[township] == "":
		return RefusedUnknown
	case village != "" && t.topo.VillageTownship[village] != township:
		return RefusedUnknown
	case !t.ownsTownship(hub, township):
		return RefusedTownship
	}
	return ""
}

// device checks a device id of hub's feed and gives its place and name
// from the configuration (never the feed's).
func (t *trust) device(hub, id string, camera bool) (configs.DeviceInfo, string) {
	d, ok := t.topo.Devices[id]
	if !ok || d.Camera != camera {
		return d, RefusedUnknown
	}
	if !t.ownsTownship(hub, d.Township) {
		return d, RefusedTownship
	}
	return d, ""
}

// incident checks an incident of hub's feed: an id of the hub, its places
// and devices known and the hub's, owners the county or the hub's own
// townships (a forged owner would put it on another township's desk).
func (t *trust) incident(hub string, inc *event.Incident) string {
	if len(inc.ID) > maxShort || !hasHubPrefix(inc.ID, hub) {
		return RefusedUnknown
	}
	if r := t.placeOf(hub, inc.Township, inc.Village); r != "" {
		return r
	}
	owners := append([]string{inc.Owner}, inc.Owners...)
	for _, o := range owners {
		if o != "" && o != auth.County && !t.ownsTownship(hub, o) {
			if t.topo.TownshipName[o] == "" {
				return RefusedUnknown
			}
			return RefusedTownship
		}
	}
	devs := append(append([]string{inc.Device}, inc.Devices...), inc.Cameras...)
	for _, id := range devs {
		if id == "" {
			continue
		}
		if _, ok := t.topo.Devices[id]; !ok {
			return RefusedUnknown
		}
	}
	return ""
}

// hasHubPrefix: the owner's engine names its incidents INC-{hub}-....
func hasHubPrefix(id, hub string) bool {
	p := "INC-" + hub + "-"
	return len(id) > len(p) && id[:len(p)] == p
}

// clip cuts s to at most n bytes on a rune boundary, marked with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// clipIncident bounds an incident's free text as a view keeps it.
func clipIncident(inc *event.Incident) {
	inc.Title = clip(inc.Title, maxTitle)
	inc.Kind, inc.Severity, inc.State = clip(inc.Kind, maxShort), clip(inc.Severity, maxShort), clip(inc.State, maxShort)
	inc.Source, inc.Ref, inc.Class, inc.CreatedBy = clip(inc.Source, maxShort), clip(inc.Ref, maxShort), clip(inc.Class, maxShort), clip(inc.CreatedBy, maxShort)
	inc.History = slices.Clone(inc.History)
	for i := range inc.History {
		s := &inc.History[i]
		s.Note, s.By, s.Action = clip(s.Note, maxNote), clip(s.By, maxShort), clip(s.Action, maxShort)
	}
}

// clipCamera gives a camera of another hub the configuration's name and
// place, and bounds the rest of its text.
func clipCamera(c *event.CameraStatus, d configs.DeviceInfo) {
	c.Name, c.Township, c.Village = d.Name, d.Township, d.Village
	c.State, c.Prev, c.Cause, c.Codec = clip(c.State, maxShort), clip(c.Prev, maxShort), clip(c.Cause, maxShort), clip(c.Codec, maxShort)
	c.LastError, c.MaintenanceNote = clip(c.LastError, maxShort), clip(c.MaintenanceNote, maxNote)
}

func clipSensor(s *event.SensorStatus, d configs.DeviceInfo) {
	s.Name, s.Township, s.Village, s.Kind = d.Name, d.Township, d.Village, d.Kind
	s.State, s.Prev, s.Cause = clip(s.State, maxShort), clip(s.Prev, maxShort), clip(s.Cause, maxShort)
}

// admit decides whether this owner answers a request from hub view for
// the person named: with a list, view must be a view of this hub, and the
// person one that view serves (the county's, a department's, or a
// township's the view owns or views); a hub's own login acts for nobody.
// The owner's engine then decides with its own idea of the person whether
// their scope covers the matter. It returns the person or the refusal.
func admit(cfg *configs.Config, self, view, user string) (auth.Principal, *ActionReply, string) {
	refuse := func(reason, zh, en string) (auth.Principal, *ActionReply, string) {
		return auth.Principal{}, &ActionReply{Status: http.StatusForbidden, Error: event.Bilingual(zh, en)}, reason
	}
	if cfg.Listed() && !cfg.HubViews(view, self) {
		return refuse(RefusedNotAView, "中心 "+view+" 不是本中心 "+self+" 的查看中心（hubs: 清单），不予受理",
			"hub "+view+" is not a view of hub "+self+" by the hubs: list; nothing was done")
	}
	p, ok := Principal(cfg, user)
	if !ok || p.Role == auth.RoleHub {
		return refuse(RefusedPerson, "用户 "+user+" 在所属中心 "+self+" 未配置", "user "+user+" is not configured at hub "+self)
	}
	if cfg.Listed() && (p.Role == auth.RoleTownship || p.Role == auth.RoleVillage) {
		home := cfg.TownshipHub(p.Township)
		if home != view && !cfg.HubViews(view, home) {
			return refuse(RefusedPerson, "用户 "+user+" 不属于中心 "+view+" 所辖或所查看的乡镇，不予受理",
				"user "+user+" is not of a township hub "+view+" owns or views; nothing was done")
		}
	}
	return p, nil, ""
}

// check tests one feed message of m.Hub against the shared configuration
// and bounds its text; it returns the reason to refuse it, or "".
func (v *View) check(m *Message) string {
	t := v.checks()
	if t == nil {
		return ""
	}
	switch {
	case m.Kind == KindIncident && m.Incident != nil:
		if r := t.incident(m.Hub, m.Incident); r != "" {
			return r
		}
		clipIncident(m.Incident)
	case m.Kind == KindCamera && m.Camera != nil:
		d, r := t.device(m.Hub, m.Camera.ID, true)
		if r != "" {
			return r
		}
		clipCamera(m.Camera, d)
	case m.Kind == KindSensor && m.Sensor != nil:
		d, r := t.device(m.Hub, m.Sensor.ID, false)
		if r != "" {
			return r
		}
		clipSensor(m.Sensor, d)
	default:
		return ""
	}
	if m.Kind != KindIncident && m.At.After(v.o.Now().Add(ClockSkew)) {
		// A state dated ahead would hide every true one after it.
		return RefusedFuture
	}
	return ""
}
