package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"snowhub/configs"
)

// A CSV's file name says what it holds and for which period, in the
// county's local dates: 考单-乡镇-2026-12-01至2026-12-03.csv. The period's
// end is exclusive (a day ends at the next midnight), so the last day named
// is the one before it.

// groupZH is a figures group as a file name says it.
var groupZH = map[string]string{"township": "乡镇", "village": "村", "assignee": "人员", "department": "部门"}

// localZone is the county's zone (the calendar's), UTC if it cannot load.
func localZone(cfg *configs.Config) *time.Location {
	if cfg != nil {
		if z, err := time.LoadLocation(cfg.Alerts.Calendar.TimeZone); err == nil {
			return z
		}
	}
	return time.UTC
}

// periodName is "FROM至TO" in local dates, to exclusive.
func periodName(from, to time.Time, zone *time.Location) string {
	last := to
	if to.After(from) {
		last = to.Add(-time.Nanosecond)
	}
	return from.In(zone).Format("2006-01-02") + "至" + last.In(zone).Format("2006-01-02")
}

// attachCSV sets a CSV answer's headers: its type and its file name, the
// Chinese name for browsers (RFC 6266 filename*) and an ASCII one for
// clients that read only filename.
func attachCSV(w http.ResponseWriter, name, ascii string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name)))
}
