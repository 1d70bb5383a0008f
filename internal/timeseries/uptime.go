package timeseries

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"snowhub/internal/event"
)

// CameraInfo is a configured camera the report covers.
type CameraInfo struct {
	ID, Name, Township, Village, TownshipName string
}

// UptimeQuery asks for a report over [From, To).
type UptimeQuery struct {
	From, To time.Time
	Township string
	Cameras  []CameraInfo
}

// lookback bounds how far before From the report looks for the state in
// force at From: a camera silent in the time series for longer is unknown.
const lookback = 90 * 24 * time.Hour

type transition struct {
	at    time.Time
	state string
	cause string
}

// Uptime computes uptime and outages per camera, and the time-weighted
// online rate per township, from the recorded state transitions (not from
// samples), so the figures agree with the transitions to the second.
func (w *Writer) Uptime(ctx context.Context, q UptimeQuery) (*event.UptimeReport, error) {
	if !q.To.After(q.From) {
		return nil, event.BadRequest("to must be after from")
	}
	byCam, err := w.transitions(ctx, q)
	if err != nil {
		return nil, err
	}
	return computeUptime(q, byCam), nil
}

// fluxBucket names the bucket for Flux: InfluxDB 1.8 wants
// "database/retention-policy", and a token of "user:password" (or none)
// means 1.8.
func (w *Writer) fluxBucket() string {
	b, tok := w.o.Config.Bucket, w.o.Config.Token
	if (tok == "" || strings.Contains(tok, ":")) && !strings.Contains(b, "/") {
		return b + "/autogen"
	}
	return b
}

func (w *Writer) transitions(ctx context.Context, q UptimeQuery) (map[string][]transition, error) {
	filter := `r._measurement == "device_state" and r.kind == "camera" and (r._field == "state" or r._field == "cause")`
	if q.Township != "" {
		// A township id has the configuration's form, so nothing a caller
		// sends can change the query; it is quoted as a Flux string too.
		if !idRE.MatchString(q.Township) {
			return nil, event.BadRequest("township: 1-64 letters, digits, '.', '_' or '-'")
		}
		filter += ` and r.township == ` + fluxString(q.Township)
	}
	out := map[string][]transition{}
	// Two queries: the state in force at From is each series' last
	// transition in the lookback (one row per camera comes back, where
	// reading every transition of 90 days was some 30 million rows for a
	// prefecture: docs/scale.md), then every transition within the range.
	base := `from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => %s)%s
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> keep(columns: ["_time", "device", "state", "cause"])`
	bucket := fluxString(w.fluxBucket())
	from, to := q.From.UTC().Format(time.RFC3339Nano), q.To.UTC().Format(time.RFC3339Nano)
	for _, flux := range []string{
		fmt.Sprintf(base, bucket, q.From.Add(-lookback).UTC().Format(time.RFC3339Nano), from, filter, "\n  |> last()"),
		fmt.Sprintf(base, bucket, from, to, filter, ""),
	} {
		if err := w.readTransitions(ctx, flux, out); err != nil {
			return nil, err
		}
	}
	for _, ts := range out {
		sort.SliceStable(ts, func(i, j int) bool { return ts[i].at.Before(ts[j].at) })
	}
	return out, nil
}

// readTransitions adds the rows of one transitions query to out.
func (w *Writer) readTransitions(ctx context.Context, flux string, out map[string][]transition) error {
	res, err := w.query.Query(ctx, flux)
	if err != nil {
		return fmt.Errorf("uptime query: %w", err)
	}
	defer res.Close()
	for res.Next() {
		r := res.Record()
		dev, _ := r.ValueByKey("device").(string)
		st, _ := r.ValueByKey("state").(string)
		cause, _ := r.ValueByKey("cause").(string)
		if dev == "" || st == "" {
			continue
		}
		out[dev] = append(out[dev], transition{at: r.Time(), state: st, cause: cause})
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("uptime query: %w", err)
	}
	return nil
}

// idRE is the form of the configuration's ids (configs).
var idRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// fluxString quotes s as a Flux string literal: backslash, double quote and
// "${" (Flux's string interpolation) are escaped, as are control characters.
func fluxString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			b.WriteString(`\$`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			// Flux has no escape for other control characters; none
			// belongs in a bucket name or an id.
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// computeUptime is the pure arithmetic of the report.
func computeUptime(q UptimeQuery, byCam map[string][]transition) *event.UptimeReport {
	rep := &event.UptimeReport{From: q.From, To: q.To, Cameras: []event.CameraUptime{}, Townships: []event.TownshipUptime{}, Worst: []string{}}
	type agg struct {
		name          string
		up, known     float64
		cameras, down int
	}
	towns := map[string]*agg{}
	for _, c := range q.Cameras {
		cu := event.CameraUptime{ID: c.ID, Name: c.Name, Township: c.Township, Village: c.Village, Outages: []event.Outage{}, NoData: []event.Span{}}
		state, cause := event.StateUnknown, ""
		spanStart := q.From
		var outage *event.Outage
		account := func(until time.Time) {
			d := until.Sub(spanStart).Seconds()
			if d <= 0 {
				return
			}
			switch state {
			case event.StateOnline:
				cu.OnlineSec += d
			case event.StateDegraded:
				cu.DegradedSec += d
			case event.StateOffline:
				cu.OfflineSec += d
			case event.StateMaintenance:
				cu.MaintSec += d
			default:
				cu.UnknownSec += d
				if n := len(cu.NoData); n > 0 && cu.NoData[n-1].To.Equal(spanStart) {
					cu.NoData[n-1].To = until
				} else {
					cu.NoData = append(cu.NoData, event.Span{From: spanStart, To: until})
				}
			}
		}
		enter := func(at time.Time, st, why string) {
			if st == event.StateOffline && outage == nil {
				outage = &event.Outage{From: at, Cause: why}
			} else if st != event.StateOffline && outage != nil {
				outage.To = at
				cu.Outages = append(cu.Outages, *outage)
				outage = nil
			}
			state, cause = st, why
		}
		for _, t := range byCam[c.ID] {
			switch {
			case t.at.Before(q.From):
				state, cause = t.state, t.cause // in force at From
			case t.at.Before(q.To):
				if outage == nil && state == event.StateOffline && spanStart.Equal(q.From) {
					outage = &event.Outage{From: q.From, Cause: cause}
				}
				account(t.at)
				spanStart = t.at
				enter(t.at, t.state, t.cause)
			}
		}
		if outage == nil && state == event.StateOffline && spanStart.Equal(q.From) {
			outage = &event.Outage{From: q.From, Cause: cause}
		}
		account(q.To)
		if outage != nil {
			cu.Outages = append(cu.Outages, *outage) // still down: no end
		}
		cu.State = state
		known := cu.OnlineSec + cu.DegradedSec + cu.OfflineSec
		if known > 0 {
			cu.Uptime = (cu.OnlineSec + cu.DegradedSec) / known
		}
		rep.Cameras = append(rep.Cameras, cu)
		a := towns[c.Township]
		if a == nil {
			a = &agg{name: c.TownshipName}
			towns[c.Township] = a
		}
		a.cameras++
		a.up += cu.OnlineSec + cu.DegradedSec
		a.known += known
		if state == event.StateOffline {
			a.down++
		}
	}
	for id, a := range towns {
		t := event.TownshipUptime{ID: id, Name: a.name, Cameras: a.cameras, DownNow: a.down}
		if a.known > 0 {
			t.OnlineRate = a.up / a.known
		}
		rep.Townships = append(rep.Townships, t)
	}
	sort.Slice(rep.Townships, func(i, j int) bool { return rep.Townships[i].ID < rep.Townships[j].ID })
	worst := make([]event.CameraUptime, 0, len(rep.Cameras))
	for _, c := range rep.Cameras {
		if c.OnlineSec+c.DegradedSec+c.OfflineSec > 0 {
			worst = append(worst, c)
		}
	}
	sort.SliceStable(worst, func(i, j int) bool { return worst[i].Uptime < worst[j].Uptime })
	for i := 0; i < len(worst) && i < 10; i++ {
		rep.Worst = append(rep.Worst, worst[i].ID)
	}
	return rep
}
