// Package loglimit bounds the log lines that devices and unauthenticated
// peers can cause (a refused login, a refused publish, a malformed packet,
// a wrong bearer token): each kind of line at most once per interval per
// key and a few a second in all, the rest counted, so that a flood of
// attempts cannot fill the disk the spool and the incidents live on. The
// next line of a key says how many of its lines were left out.
package loglimit

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// maxKeys bounds what a Limiter remembers: a flood of random client ids
// or user names must not grow it for ever (past it, it starts afresh; the
// overall rate still holds).
const maxKeys = 4096

// Limiter passes a line per key at most once per Every, and at most Rate
// lines a second (Burst at once) in all.
type Limiter struct {
	every time.Duration
	all   *rate.Limiter
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*keyState

	suppressed prometheus.Counter
}

type keyState struct {
	last time.Time
	left int64 // lines left out since the last one logged
}

// Options configure a Limiter; zero values take the defaults.
type Options struct {
	Every time.Duration // per key; default 10 s
	Rate  float64       // lines a second in all; default 5
	Burst int           // default 20
	// Suppressed counts the lines left out (may be nil).
	Suppressed prometheus.Counter
	Now        func() time.Time // tests; default time.Now
}

// New builds a Limiter.
func New(o Options) *Limiter {
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	if o.Rate <= 0 {
		o.Rate = 5
	}
	if o.Burst <= 0 {
		o.Burst = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter{every: o.Every, all: rate.NewLimiter(rate.Limit(o.Rate), o.Burst), now: o.Now,
		keys: map[string]*keyState{}, suppressed: o.Suppressed}
}

// Suppressed is the counter of lines left out (nil when none was given).
func (l *Limiter) Suppressed() prometheus.Counter { return l.suppressed }

// Allow says whether a line of key may be logged now, and how many lines
// of key were left out before it.
func (l *Limiter) Allow(key string) (ok bool, left int64) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil {
		if len(l.keys) >= maxKeys {
			clear(l.keys)
		}
		k = &keyState{}
		l.keys[key] = k
	}
	if (!k.last.IsZero() && now.Sub(k.last) < l.every) || !l.all.AllowN(now, 1) {
		k.left++
		if l.suppressed != nil {
			l.suppressed.Inc()
		}
		return false, 0
	}
	k.last, left, k.left = now, k.left, 0
	return true, left
}

// Log logs msg at level through log when key's line is allowed, adding
// "suppressed" when lines of key were left out before it.
func (l *Limiter) Log(log *slog.Logger, level slog.Level, key, msg string, args ...any) {
	ok, left := l.Allow(key)
	if !ok {
		return
	}
	if left > 0 {
		args = append(args, "suppressed", left)
	}
	log.Log(context.Background(), level, msg, args...)
}

// Handler passes h's records through the Limiter: every record at
// min_level or above, keyed by its message and its "error" attribute
// (clipped). Attributes named in drop are removed (a library's raw
// packet: what a device sent is not written to the log).
func (l *Limiter) Handler(h slog.Handler, min slog.Level, drop ...string) slog.Handler {
	return &handler{h: h, l: l, min: min, drop: drop}
}

type handler struct {
	h     slog.Handler
	l     *Limiter
	min   slog.Level
	drop  []string
	group string // the key's prefix from WithGroup and WithAttrs callers
}

func (h *handler) Enabled(ctx context.Context, lv slog.Level) bool { return h.h.Enabled(ctx, lv) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	errText := ""
	r.Attrs(func(a slog.Attr) bool {
		for _, d := range h.drop {
			if a.Key == d {
				return true
			}
		}
		if a.Key == "error" || a.Key == "err" {
			errText = a.Value.String()
			if len(errText) > 64 {
				errText = errText[:64]
			}
		}
		out.AddAttrs(a)
		return true
	})
	if r.Level >= h.min {
		ok, left := h.l.Allow(h.group + r.Message + "|" + errText)
		if !ok {
			return nil
		}
		if left > 0 {
			out.AddAttrs(slog.Int64("suppressed", left))
		}
	}
	return h.h.Handle(ctx, out)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	keep := as[:0:0]
	for _, a := range as {
		dropped := false
		for _, d := range h.drop {
			dropped = dropped || a.Key == d
		}
		if !dropped {
			keep = append(keep, a)
		}
	}
	c := *h
	c.h = h.h.WithAttrs(keep)
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	c.h = h.h.WithGroup(name)
	c.group = strings.Join([]string{h.group, name}, ".")
	return &c
}

// Counter is the count of lines left out by the limiter of one source
// (broker, mqtt, http): snowhub_log_suppressed_total{source}.
func Counter(source string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_log_suppressed_total",
		Help:        "Log lines a device or an unauthenticated peer caused that were left out (a line per kind and key at most once per interval, a few a second in all), by source.",
		ConstLabels: prometheus.Labels{"source": source}})
}
