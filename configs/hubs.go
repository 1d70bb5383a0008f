package configs

import (
	"net/url"
	"slices"
)

// HubEntry is one hub of the prefecture's list (top-level hubs:). Every
// hub loads the same list, so each can check what another hub says
// against it: which townships it owns, whom it views, where its live
// video is (docs/prefecture.md, "Trust").
type HubEntry struct {
	ID string `yaml:"id"`
	// Townships are the townships the hub owns: their devices and
	// incidents are its, and no other hub's feed may carry them.
	Townships []string `yaml:"townships"`
	// View lists the hubs whose feeds it shows and to which it forwards
	// its people's steps, or [all] for every other hub of the list. Only
	// a hub listed here as a view of an owner may ask that owner to act.
	View []string `yaml:"view"`
	// URL is where views pull the hub's cameras' live video, with their
	// hub credential: the address of the list, never one a hub announces.
	URL string `yaml:"url"`
}

// Listed reports whether the prefecture is described by a hubs: list, so
// that what one hub says of itself can be checked. The old form (hub:
// with townships and view, no list) trusts what each hub announces.
func (c *Config) Listed() bool { return len(c.Hubs) > 0 }

// HubEntryOf is hub id's entry of the list.
func (c *Config) HubEntryOf(id string) (HubEntry, bool) {
	for _, h := range c.Hubs {
		if h.ID == id {
			return h, true
		}
	}
	return HubEntry{}, false
}

// TownshipHub is the hub of the list that owns township ("" if none).
func (c *Config) TownshipHub(township string) string {
	for _, h := range c.Hubs {
		if slices.Contains(h.Townships, township) {
			return h.ID
		}
	}
	return ""
}

// HubViews reports whether, by the list, hub viewer views hub owner: it
// shows owner's feed and may forward its people's steps to it.
func (c *Config) HubViews(viewer, owner string) bool {
	if viewer == owner {
		return false
	}
	v, ok := c.HubEntryOf(viewer)
	if _, listed := c.HubEntryOf(owner); !ok || !listed {
		return false
	}
	return slices.Contains(v.View, "all") || slices.Contains(v.View, owner)
}

// PrefectureWarning is what a hub of the old form (hub.townships and
// hub.view, no hubs: list) logs at start: it cannot check what other
// hubs say they own, nor who may ask it to act. "" when there is nothing
// to say.
func (c *Config) PrefectureWarning() string {
	if !c.Federated() || c.Listed() {
		return ""
	}
	return "hub: without a hubs: list, the townships, video addresses and views other hubs announce cannot be checked; give every hub the same hubs: list (docs/prefecture.md)"
}

// validateHubs checks the list and, when it is valid, makes this hub's
// section its entry (hub.townships, hub.view and hub.url come from it).
func validateHubs(p *problems, c *Config, townships map[string]bool) {
	h := c.Hub
	for key, set := range map[string]bool{"hub.townships": len(h.Townships) > 0, "hub.view": len(h.View) > 0, "hub.url": h.URL != ""} {
		if set {
			p.add(key, "given by this hub's entry of hubs: when the list is present; remove it here")
		}
	}
	ids := map[string]int{}
	owner := map[string]string{}
	for i, e := range c.Hubs {
		base := pathf("hubs[%d]", i)
		switch _, dup := ids[e.ID]; {
		case !hubIDRE.MatchString(e.ID):
			p.add(base+".id", "%q: a hub id is 1-32 lower-case letters, digits or '_', beginning with a letter or digit", e.ID)
		case dup:
			p.add(base+".id", "hub %q listed twice (hubs[%d])", e.ID, ids[e.ID])
		default:
			ids[e.ID] = i
		}
		for j, t := range e.Townships {
			at := pathf("%s.townships[%d]", base, j)
			switch {
			case !townships[t]:
				p.add(at, "unknown township %q", t)
			case owner[t] == e.ID:
				p.add(at, "township %q listed twice", t)
			case owner[t] != "":
				p.add(at, "township %q is owned by hub %s already: a township has one owner", t, owner[t])
			default:
				owner[t] = e.ID
			}
		}
		if len(e.Townships) == 0 && len(e.View) == 0 {
			p.add(base, "a hub owns townships, views other hubs, or both")
		}
		if e.URL != "" {
			if msg := hubURLProblem(e.URL, len(e.Townships) > 0); msg != "" {
				p.add(base+".url", "%s", msg)
			}
		}
	}
	for i, e := range c.Hubs {
		for j, v := range e.View {
			at := pathf("hubs[%d].view[%d]", i, j)
			switch _, known := ids[v]; {
			case v == "all":
				if len(e.View) > 1 {
					p.add(at, "[all] stands alone: it is every other hub of the list")
				}
			case v == e.ID:
				p.add(at, "a hub does not view itself (%q is this entry)", v)
			case !known:
				p.add(at, "%q is not a hub of the list (or \"all\")", v)
			}
		}
	}
	switch e, ok := c.HubEntryOf(h.ID); {
	case h.ID == "":
		p.add("hub.id", "with a hubs: list, hub.id says which entry is this hub")
	case !ok:
		p.add("hub.id", "%q is not in the hubs: list", h.ID)
	default:
		c.Hub.Townships, c.Hub.View, c.Hub.URL = slices.Clone(e.Townships), slices.Clone(e.View), e.URL
	}
}

// hubURLProblem says what is wrong with a hub's live-video address.
func hubURLProblem(addr string, owns bool) string {
	u, err := url.Parse(addr)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "give the address other hubs reach this hub at, as http://host:port or https://host:port"
	case u.User != nil:
		return "no user or password in the address: it is published to every hub (the views log in with their own hub user)"
	case u.RawQuery != "" || u.Fragment != "":
		return "no query or fragment: the API paths are appended to it"
	case !owns:
		return "a hub that owns no township has no cameras for other hubs to watch"
	}
	return ""
}
