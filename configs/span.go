package configs

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Span is a time limit of the incident process: a Go duration (30s, 5m,
// 2h), whole days (7d), or working days (1wd, 30wd) counted on the
// county's calendar (alerts.calendar). Only one unit kind per value.
type Span struct {
	D  time.Duration // clock time (days as 24h)
	WD int           // working days; when set, D is zero
}

// D builds a clock-time span; WD a working-day span.
func Dur(d time.Duration) Span { return Span{D: d} }
func WD(n int) Span            { return Span{WD: n} }

// IsZero reports an unset span.
func (s Span) IsZero() bool { return s.D == 0 && s.WD == 0 }

func (s Span) String() string {
	switch {
	case s.WD != 0:
		return fmt.Sprintf("%dwd", s.WD)
	case s.D != 0 && s.D%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", s.D/(24*time.Hour))
	}
	return s.D.String()
}

// ParseSpan reads "1wd", "7d" or a Go duration.
func ParseSpan(v string) (Span, error) {
	v = strings.TrimSpace(v)
	switch {
	case strings.HasSuffix(v, "wd"):
		n, err := strconv.Atoi(strings.TrimSuffix(v, "wd"))
		if err != nil || n < 0 {
			return Span{}, fmt.Errorf("%q is not a number of working days like 1wd or 30wd", v)
		}
		return Span{WD: n}, nil
	case strings.HasSuffix(v, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
		if err != nil || n < 0 {
			return Span{}, fmt.Errorf("%q is not a number of days like 7d", v)
		}
		return Span{D: time.Duration(n) * 24 * time.Hour}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return Span{}, fmt.Errorf("%q is not a duration (use 30s, 5m, 2h, 7d, or working days: 1wd)", v)
	}
	return Span{D: d}, nil
}

// UnmarshalYAML reads a span from its text.
func (s *Span) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSpan(n.Value)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalYAML writes a span as its text.
func (s Span) MarshalYAML() (any, error) { return s.String(), nil }
