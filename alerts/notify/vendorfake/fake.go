// Package vendorfake holds local stand-ins for the vendor endpoints snowhub
// notifies through: the WeCom group robot, the DingTalk custom robot, and the
// Alibaba Cloud and Tencent Cloud SMS APIs. Each is an httptest server
// written from the vendor's public documentation (not from an SDK): it checks
// what the vendor checks (signatures, timestamp windows, body sizes) and
// answers with the vendor's own error codes when a limit is passed, so the
// notifier's error handling is tested against the answers it will really get.
//
// Windows and block durations are fields, so tests can shrink a minute to
// milliseconds.
package vendorfake

import (
	"regexp"
	"strings"
	"sync"
	"time"
)

// Received is one message a fake accepted.
type Received struct {
	At      time.Time
	Target  string // robot token / key, or phone number
	MsgType string // text | markdown | sms
	Content string
	Raw     []byte
}

// log is the part every fake shares: what it accepted and what it refused.
type log struct {
	mu       sync.Mutex
	accepted []Received
	refused  map[string]int // error code → count
	onAccept func(Received)
}

func (l *log) accept(r Received) {
	l.mu.Lock()
	l.accepted = append(l.accepted, r)
	f := l.onAccept
	l.mu.Unlock()
	if f != nil {
		f(r)
	}
}

// OnAccept calls f with every message accepted from now on (benchmarks
// time their deliveries by it).
func (l *log) OnAccept(f func(Received)) {
	l.mu.Lock()
	l.onAccept = f
	l.mu.Unlock()
}

func (l *log) refuse(code string) {
	l.mu.Lock()
	if l.refused == nil {
		l.refused = map[string]int{}
	}
	l.refused[code]++
	l.mu.Unlock()
}

// Messages returns a copy of every accepted message, in arrival order.
func (l *log) Messages() []Received {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Received(nil), l.accepted...)
}

// Refused returns how often each error code was answered.
func (l *log) Refused() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]int, len(l.refused))
	for k, v := range l.refused {
		m[k] = v
	}
	return m
}

// window counts events in a sliding window, the way the robots' "20 a
// minute" is enforced.
type window struct {
	times []time.Time
}

// add records an event at now and reports how many fall within d before it.
func (w *window) add(now time.Time, d time.Duration) int {
	cut := now.Add(-d)
	i := 0
	for i < len(w.times) && !w.times[i].After(cut) {
		i++
	}
	w.times = append(w.times[i:], now)
	return len(w.times)
}

// MaxInWindow returns the largest number of messages of target accepted
// within any span of d: what a group actually saw.
func MaxInWindow(msgs []Received, target string, d time.Duration) int {
	var ts []time.Time
	for _, m := range msgs {
		if target == "" || m.Target == target {
			ts = append(ts, m.At)
		}
	}
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func nowOr(f func() time.Time) time.Time {
	if f != nil {
		return f()
	}
	return time.Now()
}

// mdLink is a markdown link or image as DingTalk and WeCom render one.
var mdLink = regexp.MustCompile(`!?\[([^\]\n]*)\]\(([^)\s]*)[^)]*\)`)

// Links are the links a markdown message shows (each "text → url"): what a
// person in the group can click.
func Links(markdown string) []string {
	var out []string
	for _, m := range mdLink.FindAllStringSubmatch(markdown, -1) {
		out = append(out, m[1]+" → "+m[2])
	}
	return out
}

// Headings are the lines a markdown message shows as headings.
func Headings(markdown string) []string {
	var out []string
	for _, l := range strings.Split(markdown, "\n") {
		if t := strings.TrimLeft(l, " "); strings.HasPrefix(t, "#") {
			out = append(out, t)
		}
	}
	return out
}

// englishRun is three or more English words in a row (an address is one
// word: its parts are not separated by spaces).
var englishRun = regexp.MustCompile(`[A-Za-z]+(?:[,:;]?[ \t]+[A-Za-z]+){2,}`)

// EnglishRuns are the runs of three or more English words in a message:
// what a person in a township's group should never have to read (the
// hub's own notes carry an English half for the English pages only).
func EnglishRuns(text string) []string { return englishRun.FindAllString(text, -1) }
