package alerts

import (
	"context"
	"testing"
	"time"

	"snowhub/configs"
	"snowhub/internal/event"
)

var beijing = time.FixedZone("CST", 8*3600)

func TestCalendarWorkingDays(t *testing.T) {
	fri := time.Date(2026, 11, 27, 17, 0, 0, 0, beijing) // a Friday
	tests := []struct {
		name string
		cal  configs.Calendar
		from time.Time
		span configs.Span
		want time.Time
	}{
		{"Friday 17:00 + 1wd is Monday 17:00", configs.Calendar{}, fri, configs.WD(1), time.Date(2026, 11, 30, 17, 0, 0, 0, beijing)},
		{"a Monday holiday moves it to Tuesday", configs.Calendar{Holidays: []string{"2026-11-30"}}, fri, configs.WD(1), time.Date(2026, 12, 1, 17, 0, 0, 0, beijing)},
		{"a Saturday worked (调休) counts", configs.Calendar{ExtraWorkdays: []string{"2026-11-28"}}, fri, configs.WD(1), time.Date(2026, 11, 28, 17, 0, 0, 0, beijing)},
		{"5wd over a weekend", configs.Calendar{}, time.Date(2026, 11, 25, 9, 0, 0, 0, beijing), configs.WD(5), time.Date(2026, 12, 2, 9, 0, 0, 0, beijing)},
		{"a six-day week", configs.Calendar{Workdays: []string{"mon", "tue", "wed", "thu", "fri", "sat"}}, fri, configs.WD(1), time.Date(2026, 11, 28, 17, 0, 0, 0, beijing)},
		{"clock time ignores the calendar", configs.Calendar{}, fri, configs.Dur(24 * time.Hour), time.Date(2026, 11, 28, 17, 0, 0, 0, beijing)},
		{"Friday 17:00 Beijing in UTC", configs.Calendar{}, fri.UTC(), configs.WD(1), time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},
		{"a day off start counts from that time", configs.Calendar{}, time.Date(2026, 11, 29, 10, 0, 0, 0, beijing), configs.WD(1), time.Date(2026, 11, 30, 10, 0, 0, 0, beijing)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cal.TimeZone = "Asia/Shanghai"
			if got := NewCalendar(tt.cal).Add(tt.from, tt.span); !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// A minor incident opened Friday 17:00 Beijing time with accept: 1wd is
// due Monday 17:00; a holiday moves it further.
func TestWorkingDayDeadline(t *testing.T) {
	fri := time.Date(2026, 11, 27, 17, 0, 0, 0, beijing)
	for _, tt := range []struct {
		holidays string
		want     time.Time
	}{
		{"[]", time.Date(2026, 11, 30, 17, 0, 0, 0, beijing)},
		{"[2026-11-30]", time.Date(2026, 12, 1, 17, 0, 0, 0, beijing)},
	} {
		clk := &clock{t: fri}
		extra := "alerts:\n  deadlines:\n    minor: {accept: 1wd}\n  calendar: {holidays: " + tt.holidays + "}\n"
		e, _ := newEngine(t, testConfig(t, extra), t.TempDir(), clk)
		i, err := e.Create(context.Background(), ops, event.CreateRequest{Title: "路灯不亮", Village: "v-zr-01", Source: "grid"})
		must(t, err)
		if i.State != StateDispatched || !i.Deadline.Equal(tt.want) {
			t.Fatalf("holidays %s: accept due %v, want %v", tt.holidays, i.Deadline.In(beijing), tt.want)
		}
		e.Tick(context.Background(), tt.want.Add(-time.Second))
		if i, _ := e.Get(ops, i.ID); i.Overdue {
			t.Fatal("overdue before its working-day deadline")
		}
	}
}

func TestClassOverridesTheSeverity(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	i, err := e.Create(ctx, ops, event.CreateRequest{Title: "12345 投诉噪音", Village: "v-zr-01", Source: "hotline_12345", Severity: "major"})
	must(t, err)
	i, err = e.Act(ctx, zhaoren, i.ID, "accept", event.ActionRequest{})
	must(t, err)
	for _, d := range i.Dues {
		if d.Step == "resolve" && !d.Due.Equal(t0.Add(7*24*time.Hour)) {
			t.Fatalf("hotline resolve due %v, want 7 days", d.Due)
		}
	}
	// Critical alarms keep machine speed whatever the class.
	i, err = e.Create(ctx, ops, event.CreateRequest{Title: "一键报警", Village: "v-zr-01", Severity: "critical", Class: "hard"})
	must(t, err)
	i, err = e.Act(ctx, zhaoren, i.ID, "accept", event.ActionRequest{})
	must(t, err)
	for _, d := range i.Dues {
		if d.Step == "resolve" && !d.Due.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("critical resolve due %v, want 2 h", d.Due)
		}
	}
}

// Cameras that blip offline for less than the camera offline rule's
// duration never make a village outage.
func TestVillageOutageIgnoresBlips(t *testing.T) {
	clk := &clock{t: t0}
	e, _ := newEngine(t, testConfig(t, ""), t.TempDir(), clk)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		id := cameraID(i)
		must(t, e.Evaluate(ctx, camState(id, "offline", t0.Add(time.Duration(i)*time.Second))))
		must(t, e.Evaluate(ctx, camState(id, "online", t0.Add(time.Duration(i)*time.Second+30*time.Second))))
	}
	e.Tick(ctx, t0.Add(time.Hour))
	if inc := open(e); len(inc) != 0 {
		t.Fatalf("blips made %d incidents: %s", len(inc), inc[0].Title)
	}
}
