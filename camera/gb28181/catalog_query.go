package gb28181

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// collection is a catalog being collected: the answers to one query (one
// SN) until SumNum items have come or the deadline passes.
type collection struct {
	sn       string
	sum      int // -1 until the first answer says it
	items    map[string]Channel
	seen     int // items answered so far, kept or not
	dropped  int // items over Options.MaxChannels
	deadline time.Time
}

// queryCatalog asks a device for its catalog (MESSAGE, MANSCDP Query
// Catalog) at the address and transport it last spoke from, and opens the
// collection its answers fill. The query is sent off the caller's
// goroutine: the answers come as MESSAGEs of their own.
func (s *Server) queryCatalog(id string) {
	now := s.now()
	s.mu.Lock()
	r := s.devices[id]
	if r == nil || s.stopping || r.Addr == "" {
		s.mu.Unlock()
		return
	}
	sn := strconv.FormatUint(s.sn.Add(1), 10)
	addr, tp := r.Addr, r.Transport
	r.coll = &collection{sn: sn, sum: -1, items: map[string]Channel{}, deadline: now.Add(s.o.CatalogTimeout)}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		why := s.sendQuery(id, addr, tp, sn)
		if why == "" {
			return
		}
		s.mu.Lock()
		if r.coll != nil && r.coll.sn == sn && len(r.coll.items) == 0 {
			r.CatalogError = why
		}
		s.mu.Unlock()
		s.log.Warn("gb28181: catalog query", "device", id, "addr", addr, "why", why)
	}()
}

// sendQuery sends one Catalog query and says, in "中文 / English", why it
// was not taken ("" when the device answered 200).
func (s *Server) sendQuery(id, addr, tp, sn string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return bilingual("设备地址无效："+addr, "the device's address is not host:port: "+addr)
	}
	p, _ := strconv.Atoi(port)
	body, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(fmt.Sprintf(
		"<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Query>\r\n<CmdType>Catalog</CmdType>\r\n<SN>%s</SN>\r\n<DeviceID>%s</DeviceID>\r\n</Query>\r\n", sn, id)))
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: id, Host: host, Port: p})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: s.o.ID, Host: s.o.Domain}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: id, Host: s.o.Domain}, Params: sip.NewParams()})
	req.AppendHeader(sip.NewHeader("Content-Type", "Application/MANSCDP+xml"))
	req.SetBody(body)
	req.SetTransport(tp)
	req.SetDestination(addr)
	ctx, cancel := context.WithTimeout(s.ctx, s.o.CatalogTimeout)
	defer cancel()
	res, err := s.client.Do(ctx, req)
	switch {
	case s.ctx.Err() != nil:
		return ""
	case err != nil:
		return bilingual("目录查询未获应答（"+addr+" "+tp+"）", "the catalog query was not answered ("+addr+" "+tp+")")
	case res.StatusCode != 200:
		code := strconv.Itoa(int(res.StatusCode))
		return bilingual("设备拒绝目录查询（"+code+"）", "the device refused the catalog query ("+code+")")
	}
	return ""
}

// onCatalog takes one Catalog answer of a registered device into its
// collection; the catalog in force is replaced once SumNum items have
// come (or, with what came, when the collection times out).
func (s *Server) onCatalog(id string, body []byte) (code int) {
	a, err := parseCatalog(body)
	now := s.now()
	s.mu.Lock()
	r := s.devices[id]
	if r == nil || r.State == StateHeld || r.State == StateRefused {
		s.mu.Unlock()
		return 403
	}
	if err != nil {
		s.malformed(r, err.Error())
		s.mu.Unlock()
		return 400
	}
	if a.Bad > 0 {
		s.malformed(r, fmt.Sprintf("%d items without a 20-digit id", a.Bad))
	}
	c := r.coll
	if c == nil || c.sn != a.SN {
		// An answer to no query of ours (another SN, or after the timeout):
		// a device that sends its catalog unasked, or late. Taken as a
		// catalog of its own.
		c = &collection{sn: a.SN, sum: -1, items: map[string]Channel{}, deadline: now.Add(s.o.CatalogTimeout)}
		r.coll = c
	}
	if c.sum < 0 || a.SumNum > c.sum {
		c.sum = a.SumNum
	}
	for _, ch := range a.Items {
		if _, dup := c.items[ch.ID]; !dup && len(c.items) >= s.o.MaxChannels {
			c.dropped++
			continue
		}
		ch.Device = id
		c.items[ch.ID] = ch
	}
	// Items not kept (directories, broken ones, those over the limit)
	// still count towards SumNum: the catalog is whole when every item
	// of it has been seen.
	c.seen += len(a.Items) + a.Skipped + a.Bad
	done := c.seen >= c.sum
	if done {
		s.commitCatalog(r, now)
	}
	s.mu.Unlock()
	if done {
		s.catalogChanged(id)
	}
	return 200
}

// commitCatalog puts the collection in force. Called with mu held.
func (s *Server) commitCatalog(r *record, now time.Time) {
	c := r.coll
	r.coll = nil
	if c.dropped > 0 {
		s.malformed(r, fmt.Sprintf("%d channels over the limit of %d", c.dropped, s.o.MaxChannels))
	}
	r.channels = c.items
	r.Channels, r.CatalogAt, r.CatalogError = len(c.items), now, ""
	if c.seen < c.sum {
		r.CatalogError = bilingual(fmt.Sprintf("目录不完整：应有 %d 项，%s 内收到 %d 项", c.sum, s.o.CatalogTimeout, c.seen),
			fmt.Sprintf("catalog incomplete: %d of %d items within %s", c.seen, c.sum, s.o.CatalogTimeout))
	}
}

// expireCatalogs ends the collections whose time is up: what came is put
// in force (a device that lost one message of four still has three
// quarters of its cameras), nothing that came leaves the old catalog.
// Called with mu held; returns the devices whose catalog changed.
func (s *Server) expireCatalogs(now time.Time) []string {
	var changed []string
	for id, r := range s.devices {
		c := r.coll
		if c == nil || now.Before(c.deadline) {
			continue
		}
		if c.seen == 0 {
			r.coll = nil
			if r.CatalogError == "" {
				r.CatalogError = bilingual(fmt.Sprintf("%s 内未收到目录", s.o.CatalogTimeout),
					fmt.Sprintf("no catalog answer within %s", s.o.CatalogTimeout))
			}
			continue
		}
		s.commitCatalog(r, now)
		changed = append(changed, id)
	}
	return changed
}

// malformed counts a broken catalog answer on the device and logs the
// first of each device only: a device that always sends it must not fill
// the log. Called with mu held.
func (s *Server) malformed(r *record, why string) {
	r.CatalogErrors++
	if r.CatalogErrors == 1 {
		s.log.Warn("gb28181: malformed catalog answer (logged once per device; counted in catalog_errors)", "device", r.ID, "addr", r.Addr, "err", why)
	}
}

func (s *Server) catalogChanged(ids ...string) {
	for _, id := range ids {
		s.log.Info("gb28181: catalog", "device", id)
	}
	if s.o.OnCatalog == nil || len(ids) == 0 {
		return
	}
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	for _, id := range ids {
		s.o.OnCatalog(id)
	}
}

// Channels is every channel of every device's catalog in force, by id,
// with its state now (see channelState).
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	var out []Channel
	for _, r := range s.devices {
		for _, c := range r.channels {
			out = append(out, s.place(channelState(c, r.Device)))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// place puts the channel where gb28181.channels says, else where its
// CivilCode says (the longest configured code it begins with: a village's
// before its township's), else nowhere: unplaced, for the admin.
func (s *Server) place(c Channel) Channel {
	p, ok := s.placed[c.ID]
	for n := len(c.CivilCode); !ok && n >= 6; n-- {
		p, ok = s.o.Places[c.CivilCode[:n]]
	}
	if ok {
		c.Township, c.Village, c.Placed = p.Township, p.Village, true
	}
	return c
}

// channelState: a channel follows its device (a device offline or unknown
// takes its channels with it, with its cause and reason), then its own
// catalog Status (OFF is offline).
func channelState(c Channel, d Device) Channel {
	switch {
	case d.State != StateOnline:
		c.State, c.Cause = d.State, d.Cause
		if c.State != StateUnknown {
			c.State = StateOffline
		}
		c.Reason = bilingual("所属设备 "+d.ID+" "+zhState(d.State)+"："+zhOf(d.Reason),
			"its device "+d.ID+" is "+d.State+": "+enOf(d.Reason))
	case c.Status == ChannelOff:
		c.State, c.Cause = StateOffline, CauseChannelOff
		c.Reason = bilingual("设备报告该通道状态为 OFF", "the device reports the channel OFF")
	default:
		c.State, c.Cause, c.Reason = StateOnline, "", ""
	}
	return c
}

func zhState(state string) string {
	switch state {
	case StateOffline:
		return "离线"
	case StateUnknown:
		return "状态未知"
	}
	return state
}

// zhOf and enOf split a "中文 / English" reason.
func zhOf(reason string) string { zh, _, _ := strings.Cut(reason, " / "); return zh }
func enOf(reason string) string {
	if _, en, ok := strings.Cut(reason, " / "); ok {
		return en
	}
	return reason
}
