package timeseries

import (
	"context"
	"fmt"
	"time"
)

// OngoingOutages reads, from the recorded camera transitions up to
// before, when the outage each camera was still in began: the first
// offline transition after its last transition to any other state, the
// same rule the uptime report's outages follow (a restart's unknown →
// offline is not recorded as leaving offline, so an outage runs on across
// hub restarts). Cameras whose last recorded state is not offline are
// absent. It looks back as far as the uptime report does.
func (w *Writer) OngoingOutages(ctx context.Context, before time.Time) (map[string]time.Time, error) {
	// stateDuration counts, on each row, how long the state has been
	// offline without a break (-1 when it is not); the last row of each
	// camera then says whether it is down and since when, so one row per
	// camera comes back rather than 90 days of transitions.
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == "device_state" and r.kind == "camera" and r._field == "state")
  |> group(columns: ["device"])
  |> sort(columns: ["_time"])
  |> stateDuration(fn: (r) => r._value == "offline", column: "down_ns", unit: 1ns)
  |> last(column: "_time")
  |> keep(columns: ["_time", "device", "down_ns"])`,
		fluxString(w.fluxBucket()), before.Add(-lookback).UTC().Format(time.RFC3339Nano), before.UTC().Format(time.RFC3339Nano))
	res, err := w.query.Query(ctx, flux)
	if err != nil {
		return nil, fmt.Errorf("ongoing outages query: %w", err)
	}
	defer res.Close()
	out := map[string]time.Time{}
	for res.Next() {
		r := res.Record()
		dev, _ := r.ValueByKey("device").(string)
		d, ok := r.ValueByKey("down_ns").(int64)
		if dev == "" || !ok || d < 0 {
			continue
		}
		out[dev] = r.Time().Add(-time.Duration(d))
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("ongoing outages query: %w", err)
	}
	return out, nil
}
