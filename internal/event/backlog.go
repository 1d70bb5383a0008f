package event

import (
	"io"
	"strconv"
	"time"
)

// BacklogSeries is one township's (or the county's) backlog at each point
// of Backlog.At: incidents open then, and of those, opened more than 7 and
// more than 30 days before.
type BacklogSeries struct {
	Key     string `json:"key"`
	Name    string `json:"name"`
	Open    []int  `json:"open"`
	Over7d  []int  `json:"over_7d"`
	Over30d []int  `json:"over_30d"`
}

// Backlog is GET /api/v1/stats/backlog: the points (local midnights) and a
// series per group row, with the total of the rows the caller may see.
type Backlog struct {
	Group string          `json:"group"`
	At    []time.Time     `json:"at"`
	Rows  []BacklogSeries `json:"rows"`
	Total BacklogSeries   `json:"total"`
}

// BacklogCSVHeader is the backlog CSV's first line; columns are only ever
// added at the end. The total is the row with an empty key.
// Chinese first, each cell ending in its English key.
var BacklogCSVHeader = []string{"时点 at", "分组 group", "编号 key", "名称 name", "在办 open", "超7天 over_7d", "超30天 over_30d"}

// WriteBacklogCSV writes one line per point and row, the total last at
// each point.
func WriteBacklogCSV(w io.Writer, b Backlog) error {
	cw := NewCSVWriter(w)
	_ = cw.Write(BacklogCSVHeader)
	i := strconv.Itoa
	for n, at := range b.At {
		for _, r := range append(b.Rows[:len(b.Rows):len(b.Rows)], b.Total) {
			_ = cw.Write([]string{at.Format(time.RFC3339), b.Group, r.Key, r.Name, i(r.Open[n]), i(r.Over7d[n]), i(r.Over30d[n])})
		}
	}
	return cw.Flush()
}
