package notify

import (
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"snowhub/configs"
	"snowhub/internal/event"
)

// Notice is one step due to one channel for one route: what the per-channel
// queue holds.
type Notice struct {
	Key     uint64    `json:"-"` // position in its channel's queue
	Channel string    `json:"channel"`
	Step    Step      `json:"step"`
	Route   string    `json:"route"`
	Chain   []string  `json:"chain,omitempty"`  // the route's channels after this one
	People  []Person  `json:"people,omitempty"` // @-mentions, SMS numbers
	Repeat  int       `json:"repeat,omitempty"` // 0 the first notice, n the n-th reminder
	Queued  time.Time `json:"queued"`
	// Copied is set once a copy went down the chain while this channel was
	// failing; the notice itself stays queued for when it is fixed.
	Copied bool `json:"copied,omitempty"`
}

// Person is someone to mention or text.
type Person struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone"`
}

var severityNames = map[string]string{"critical": "紧急", "major": "重要", "minor": "一般"}

// severityRank orders digests: the most severe first.
func severityRank(s string) int {
	switch s {
	case "critical":
		return 0
	case "major":
		return 1
	case "minor":
		return 2
	}
	return 3
}

var stepNames = map[string]string{
	"open": "新事件", "dispatch": "已派单，待接单", "accept": "已接单，待派人", "assign": "已派人", "resolve": "已办结，待评价",
	"evaluate": "已评价", "review": "已考评", "escalate": "上报县级", "hold": "挂起", "resume": "恢复办理",
	"reopen": "重办", "reassign": "转办", "clear": "告警已解除（仍需处置）", "update": "告警再次触发", "overdue": "超时",
	"supervise": "督办", "summon": "吹哨，部门报到", "report": "部门已报到", "done": "部门已办结",
	"extend": "申请延期", "approve_extension": "批准延期", "reject_extension": "驳回延期", "remind": "催办", "acknowledge": "已确认", "unsatisfied": "群众不满意",
	"flapping": "设备频繁掉线", "storm": "同类报警并为一件", "maintenance": "进入维护", "maintenance_end": "维护结束",
}

// StepName is an action in Chinese.
func StepName(action string) string {
	if n, ok := stepNames[action]; ok {
		return n
	}
	return action
}

// Names resolves ids to the names people know.
type Names interface {
	Township(id string) string
	Village(id string) string
}

type renderer struct {
	loc       *time.Location
	publicURL string
	names     Names
	notice    *template.Template // nil: built in
	sms       *template.Template
	now       func() time.Time // the clock a deadline is read against
}

func newRenderer(c configs.NotifyConfig, names Names) (*renderer, error) {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil || c.TimeZone == "" {
		loc = time.FixedZone("CST", 8*3600)
	}
	r := &renderer{loc: loc, publicURL: strings.TrimRight(c.PublicURL, "/"), names: names, now: time.Now}
	if c.Templates.Notice != "" {
		if r.notice, err = configs.ParseNotifyTemplate("notice", c.Templates.Notice); err != nil {
			return nil, fmt.Errorf("notify.templates.notice: %w", err)
		}
	}
	if c.Templates.SMS != "" {
		if r.sms, err = configs.ParseNotifyTemplate("sms", c.Templates.SMS); err != nil {
			return nil, fmt.Errorf("notify.templates.sms: %w", err)
		}
	}
	return r, nil
}

func (r *renderer) township(id string) string {
	if r.names != nil {
		if n := r.names.Township(id); n != "" {
			return n
		}
	}
	return id
}

func (r *renderer) village(id string) string {
	if id == "" {
		return ""
	}
	if r.names != nil {
		if n := r.names.Village(id); n != "" {
			return n
		}
	}
	return id
}

func (r *renderer) link(s *Step) string {
	if r.publicURL == "" {
		return ""
	}
	return r.publicURL + "/township/" + s.Township + "?incident=" + s.Incident
}

func (r *renderer) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(r.loc).Format("01-02 15:04")
}

// due is a deadline as a message says it: the clock time before it
// ("12-03 17:30 前"), how long it has been late after it
// ("12-03 17:30，已超时 2 小时 15 分"); a reminder or a delayed message
// never says "before" a time already past.
func (r *renderer) due(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	late := r.now().Sub(t)
	if late <= 0 {
		return r.when(t) + " 前"
	}
	return r.when(t) + "，" + lateText(late)
}

// lateText is how long a deadline has been past: 已超时 2 小时 15 分.
func lateText(d time.Duration) string {
	m := int(d / time.Minute)
	if m < 1 {
		return "已超时"
	}
	days, hours, mins := m/(24*60), m/60%24, m%60
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%d 天", days))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%d 小时", hours))
	}
	if mins > 0 && days == 0 {
		parts = append(parts, fmt.Sprintf("%d 分", mins))
	}
	return "已超时 " + strings.Join(parts, " ")
}

func (r *renderer) action(s *Step) string {
	if s.Action == "evaluate" && s.Rating == "unsatisfied" {
		return "unsatisfied"
	}
	return s.Action
}

// fields are the template's data (configs.NotifyTemplateFields). A note
// the hub wrote in both languages gives its Chinese half (event.Chinese):
// messages are read by people in Chinese. Every
// field a person typed or a device sent (title, note, names, source) is
// text: esc makes it so for the channel's format (mdText for a markdown
// robot, oneLine for text), so a built-in or an operator's template cannot
// turn it into a link or a heading.
func (r *renderer) fields(n *Notice, esc func(string) string) map[string]any {
	s := &n.Step
	place := strings.TrimSpace(r.township(s.Township) + " " + r.village(s.Village))
	return map[string]any{"StepID": s.ID, "Incident": s.Incident, "Action": r.action(s), "Step": StepName(r.action(s)),
		"Severity": s.Severity, "SeverityName": severityName(s.Severity), "Title": esc(s.Title), "Kind": s.Kind,
		"Township": s.Township, "TownshipName": esc(r.township(s.Township)), "Village": s.Village,
		"VillageName": esc(r.village(s.Village)), "Place": esc(place), "Deadline": r.when(s.Deadline),
		"At": s.At.In(r.loc).Format("01-02 15:04:05"), "Link": r.link(s), "Repeat": n.Repeat, "Tier": s.Tier,
		"Assignee": esc(s.Assignee), "Mentions": mentions(n), "Note": esc(event.Chinese(s.Note)), "Source": esc(s.Source), "State": s.State, "By": esc(s.By)}
}

// oneLine folds every run of CR, LF and other control characters into one
// space: a field of one line stays one line whatever was typed into it.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	space := false
	for _, c := range s {
		if unicode.IsControl(c) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(c)
	}
	return b.String()
}

// mdMarkup maps the characters that DingTalk's and WeCom's markdown read as
// markup (links and images, headings, quotes, emphasis, code, HTML such as
// WeCom's <font>) to their full-width forms, which both render as
// the characters themselves: a note "[点此处理](http://…)" stays those words
// and no link. Backslash escapes are not used: neither vendor documents them.
var mdMarkup = strings.NewReplacer(
	"[", "［", "]", "］", "<", "＜", ">", "＞", "#", "＃", "*", "＊", "`", "｀",
)

// mdText is a user field for a markdown robot: one line, no markup.
func mdText(s string) string { return mdMarkup.Replace(oneLine(s)) }

// textFor is the escaping of a channel's format.
func textFor(markdown bool) func(string) string {
	if markdown {
		return mdText
	}
	return oneLine
}

func severityName(s string) string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return s
}

// noticeText renders one notice for a group robot (markdown or text).
func (r *renderer) noticeText(n *Notice, markdown bool) (title, text string) {
	esc := textFor(markdown)
	f := r.fields(n, esc)
	// DingTalk shows the markdown title as text (the chat list's preview).
	title = fmt.Sprintf("【%s】%s", f["SeverityName"], oneLine(n.Step.Title))
	if r.notice != nil {
		var b strings.Builder
		if err := r.notice.Execute(&b, f); err == nil {
			return title, b.String()
		}
	}
	var b strings.Builder
	head := fmt.Sprintf("【%s】%s", f["SeverityName"], f["Title"])
	if n.Repeat > 0 {
		head = fmt.Sprintf("【第%d次提醒】", n.Repeat) + head
	}
	if markdown {
		fmt.Fprintf(&b, "### %s\n", head)
	} else {
		b.WriteString(head + "\n")
	}
	line := func(k, v string) {
		if v == "" {
			return
		}
		if markdown {
			fmt.Fprintf(&b, "> %s：%s\n\n", k, v)
		} else {
			fmt.Fprintf(&b, "%s：%s\n", k, v)
		}
	}
	line("地点", f["Place"].(string))
	stepText := f["Step"].(string)
	if n.Step.Tier > 0 {
		stepText += fmt.Sprintf("（第%d级）", n.Step.Tier)
	}
	line("步骤", stepText)
	line("时限", r.due(n.Step.Deadline))
	if n.Step.Assignee != "" {
		line("责任人", f["Assignee"].(string))
	}
	if n.Step.Note != "" {
		line("说明", esc(truncRunes(event.Chinese(n.Step.Note), 200)))
	}
	line("事件", n.Step.Incident+"（步骤 "+n.Step.ID+"）")
	if l := f["Link"].(string); l != "" {
		if markdown {
			fmt.Fprintf(&b, "[查看事件](%s)\n", l)
		} else {
			b.WriteString("查看：" + l + "\n")
		}
	}
	for _, p := range mentions(n) {
		fmt.Fprintf(&b, "@%s ", p)
	}
	return title, strings.TrimRight(b.String(), " \n")
}

// mentions are the phones a group message @s: the route's people and the
// incident's assignee.
func mentions(n *Notice) []string {
	var out []string
	for _, p := range n.People {
		out = append(out, p.Phone)
	}
	if ph := n.Step.AssigneePhone; ph != "" && !slices.Contains(out, ph) {
		out = append(out, ph)
	}
	return out
}

// smsText is the short text for the HTTP gateway, and smsParams the clouds'
// template variables.
func (r *renderer) smsText(n *Notice) string {
	f := r.fields(n, oneLine)
	if r.sms != nil {
		var b strings.Builder
		if err := r.sms.Execute(&b, f); err == nil {
			return b.String()
		}
	}
	s := fmt.Sprintf("【%s】%s，%s，%s", f["SeverityName"], truncRunes(oneLine(n.Step.Title), 30), f["Place"], f["Step"])
	if d := n.Step.Deadline; !d.IsZero() {
		if r.now().After(d) {
			s += "，" + lateText(r.now().Sub(d))
		} else {
			s += "，时限" + r.when(d)
		}
	}
	return s + "。事件" + n.Step.Incident
}

func (r *renderer) smsParams(n *Notice) smsParams {
	f := r.fields(n, oneLine)
	// The clouds cap each variable (Alibaba: 35 characters).
	return smsParams{Sev: f["SeverityName"].(string), Title: truncRunes(oneLine(n.Step.Title), 20),
		Place: truncRunes(f["Place"].(string), 20), Step: truncRunes(f["Step"].(string), 20), ID: n.Step.Incident}
}

func (r *renderer) webhookBody(n *Notice) WebhookBody {
	s := &n.Step
	_, text := r.noticeText(n, false)
	return WebhookBody{StepID: s.ID, Repeat: n.Repeat, Incident: s.Incident, Action: s.Action, Step: StepName(r.action(s)),
		At: s.At, Severity: s.Severity, Title: s.Title, Township: s.Township, Village: s.Village,
		Deadline: s.Deadline, Link: r.link(s), Text: text, Data: s.Data}
}

func truncRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// truncBytes cuts s to at most n bytes on a rune boundary.
func truncBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// compactAbove is the digest size past which lines are short.
const compactAbove = 100

// digest merges notices into as few messages as fit maxBytes: counts by
// township and severity, the most severe first, then every incident id
// with its title and step. Parts are numbered (1/3) when it must split.
func (r *renderer) digest(ns []*Notice, markdown bool, maxBytes int, keyword string) []*message {
	sorted := slices.Clone(ns)
	slices.SortStableFunc(sorted, func(a, b *Notice) int {
		if d := severityRank(a.Step.Severity) - severityRank(b.Step.Severity); d != 0 {
			return d
		}
		return a.Step.At.Compare(b.Step.At)
	})
	esc := textFor(markdown)
	// Counts by township and severity.
	type tk struct{ t, s string }
	counts := map[tk]int{}
	var towns []string
	for _, n := range sorted {
		k := tk{n.Step.Township, n.Step.Severity}
		if counts[k] == 0 && !slices.Contains(towns, n.Step.Township) {
			towns = append(towns, n.Step.Township)
		}
		counts[k]++
	}
	slices.Sort(towns)
	var summary strings.Builder
	for _, t := range towns {
		var parts []string
		for _, sev := range configs.Severities {
			if c := counts[tk{t, sev}]; c > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", severityName(sev), c))
			}
		}
		if markdown {
			fmt.Fprintf(&summary, "> %s：%s\n\n", esc(r.township(t)), strings.Join(parts, " · "))
		} else {
			fmt.Fprintf(&summary, "%s：%s\n", r.township(t), strings.Join(parts, " · "))
		}
	}
	// One line per notice; an incident's several steps each keep their line
	// so every step id is there.
	// A large digest lists each incident in a short line (id, severity,
	// village, step), without a link of its own: a group's 20 messages a
	// minute then carry thousands of ids.
	compact := len(sorted) > compactAbove
	lines := make([]string, len(sorted))
	for i, n := range sorted {
		s := &n.Step
		if compact {
			lines[i] = fmt.Sprintf("%s %s·%s·%s", s.Incident, severityName(s.Severity), esc(r.village(s.Village)), StepName(r.action(s)))
			if n.Repeat > 0 {
				lines[i] += fmt.Sprintf("·第%d次提醒", n.Repeat)
			}
			continue
		}
		l := fmt.Sprintf("%s【%s】%s %s %s · %s", s.Incident, severityName(s.Severity), esc(truncRunes(s.Title, 24)),
			esc(r.village(s.Village)), StepName(r.action(s)), r.when(s.At))
		if n.Repeat > 0 {
			l += fmt.Sprintf(" · 第%d次提醒", n.Repeat)
		}
		if markdown {
			if link := r.link(s); link != "" {
				l = "- [" + s.Incident + "](" + link + ")" + strings.TrimPrefix(l, s.Incident)
			} else {
				l = "- " + l
			}
		}
		lines[i] = truncBytes(l, maxBytes/4)
	}
	head := func(i, total int) string {
		h := fmt.Sprintf("事件汇总：%d 条待处理", len(sorted))
		if total > 1 {
			h += fmt.Sprintf("（%d/%d）", i, total)
		}
		if compact && r.publicURL != "" {
			if markdown {
				h += "，[查看全部](" + r.publicURL + "/)"
			} else {
				h += "，查看全部：" + r.publicURL + "/"
			}
		}
		if keyword != "" && !strings.Contains(h, keyword) {
			h = keyword + " " + h
		}
		if markdown {
			return "### " + h + "\n"
		}
		return h + "\n"
	}
	// Pack lines into parts, leaving room for the longest header.
	room := maxBytes - len(head(99, 99)) - 8
	var parts [][]int // indexes into sorted
	var cur []int
	size := len(summary.String())
	for i, l := range lines {
		if len(cur) > 0 && size+len(l)+1 > room {
			parts = append(parts, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += len(l) + 1
	}
	if len(cur) > 0 {
		parts = append(parts, cur)
	}
	out := make([]*message, len(parts))
	for pi, idx := range parts {
		var b strings.Builder
		b.WriteString(head(pi+1, len(parts)))
		if pi == 0 {
			b.WriteString(summary.String())
		}
		m := &message{Digest: true, Title: fmt.Sprintf("事件汇总 %d 条", len(sorted))}
		seen := map[string]bool{}
		for _, i := range idx {
			b.WriteString(lines[i] + "\n")
			m.Notices = append(m.Notices, sorted[i])
			for _, p := range mentions(sorted[i]) {
				if !seen[p] {
					seen[p] = true
					m.Mentions = append(m.Mentions, p)
				}
			}
		}
		m.Text = strings.TrimRight(b.String(), "\n")
		out[pi] = m
	}
	return out
}
