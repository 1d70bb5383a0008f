package chaos

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading of the hub's resources from its /metrics.
type Sample struct {
	At         time.Time
	Goroutines float64 // go_goroutines
	FDs        float64 // process_open_fds
	RSS        float64 // process_resident_memory_bytes
}

// ParseSample reads the resource gauges from a Prometheus text exposition.
func ParseSample(r io.Reader, at time.Time) (Sample, error) {
	s := Sample{At: at}
	want := map[string]*float64{"go_goroutines": &s.Goroutines, "process_open_fds": &s.FDs, "process_resident_memory_bytes": &s.RSS}
	found := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if p := want[name]; ok && p != nil {
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				return s, fmt.Errorf("%s: %w", name, err)
			}
			*p = v
			found++
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if found < len(want) {
		return s, fmt.Errorf("metrics hold %d of go_goroutines, process_open_fds, process_resident_memory_bytes", found)
	}
	return s, nil
}

// Slope is the least-squares slope of y over time, per hour.
func Slope(samples []Sample, y func(Sample) float64) float64 {
	n := float64(len(samples))
	if n < 2 {
		return 0
	}
	t0 := samples[0].At
	var sx, sy, sxx, sxy float64
	for _, s := range samples {
		x := s.At.Sub(t0).Hours()
		v := y(s)
		sx += x
		sy += v
		sxx += x * x
		sxy += x * v
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// Trend is one resource's verdict over a run.
type Trend struct {
	Name    string
	Mean    float64
	PerHour float64 // least-squares slope
	Drift   float64 // slope × the run's length: what the line gained
	Flat    bool
}

func (t Trend) String() string {
	verdict := "flat"
	if !t.Flat {
		verdict = "GROWING"
	}
	return fmt.Sprintf("%s: mean %.1f, slope %+.2f/h, drift %+.2f over the run (%s)", t.Name, t.Mean, t.PerHour, t.Drift, verdict)
}

// Trends judges each resource over the second half of the samples (the
// first half is warm-up: caches, pools and connections filling). A
// resource is flat when the line's drift over that half stays within
// tolerance of its mean (and within floor, for small counts).
func Trends(samples []Sample, tolerance float64) []Trend {
	half := samples[len(samples)/2:]
	var out []Trend
	for _, r := range []struct {
		name  string
		floor float64
		y     func(Sample) float64
	}{
		{"goroutines", 5, func(s Sample) float64 { return s.Goroutines }},
		{"open fds", 3, func(s Sample) float64 { return s.FDs }},
		{"rss bytes", 8 << 20, func(s Sample) float64 { return s.RSS }},
	} {
		var mean float64
		for _, s := range half {
			mean += r.y(s)
		}
		if len(half) > 0 {
			mean /= float64(len(half))
		}
		slope := Slope(half, r.y)
		hours := 0.0
		if len(half) > 1 {
			hours = half[len(half)-1].At.Sub(half[0].At).Hours()
		}
		drift := slope * hours
		out = append(out, Trend{Name: r.name, Mean: mean, PerHour: slope, Drift: drift,
			Flat: math.Abs(drift) <= math.Max(r.floor, tolerance*mean)})
	}
	return out
}
