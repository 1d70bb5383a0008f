package camera_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"snowhub/camera"
)

// TestReportedCamera: a camera whose source reports its state (a GB/T
// 28181 channel) is pulled and probed by nobody: it is unknown until
// reported, then takes the reported state with its cause and reason as
// transitions; maintenance wins over it; it has no video to watch; a
// camera the hub pulls refuses a report.
func TestReportedCamera(t *testing.T) {
	var mu sync.Mutex
	var got []string
	m := camera.NewManager(camera.Options{ProbeInterval: 20 * time.Millisecond, ProbeTimeout: 20 * time.Millisecond,
		OnTransition: func(tr camera.Transition) {
			if tr.ID != "61042800001310000001" {
				return
			}
			mu.Lock()
			got = append(got, tr.From+">"+tr.To+"/"+tr.Cause)
			mu.Unlock()
		}})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const id = "61042800001310000001"
	m.Update([]camera.Spec{{ID: id, Name: "东街路口", Source: "gb28181"}, {ID: "rtsp-cam", URL: "rtsp://127.0.0.1:1/x"}})
	time.Sleep(100 * time.Millisecond) // several probe intervals: a probe would have failed it by now
	if st, _ := m.Status(id); st.State != camera.StateUnknown || st.Source != "gb28181" {
		t.Fatalf("before any report: %s source %q, want unknown gb28181", st.State, st.Source)
	}
	if err := m.Report(id, camera.StateOnline, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := m.Report(id, camera.StateOffline, "keepalive_lost", "心跳中断 / keepalives lost"); err != nil {
		t.Fatal(err)
	}
	st, _ := m.Status(id)
	if st.State != camera.StateOffline || st.Cause != "keepalive_lost" || st.LastError != "心跳中断 / keepalives lost" || st.Name != "东街路口" {
		t.Fatalf("after the reports: %+v", st)
	}
	if err := m.SetMaintenance(id, time.Now().Add(time.Hour), "换线"); err != nil {
		t.Fatal(err)
	}
	if err := m.Report(id, camera.StateOnline, "", ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(id); st.State != camera.StateMaintenance {
		t.Fatalf("reported online under maintenance: %s", st.State)
	}
	if err := m.ClearMaintenance(id); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Watch(context.Background(), id); !errors.Is(err, camera.ErrNotFound) {
		t.Fatalf("watching a reported camera: %v", err)
	}
	if err := m.Report("rtsp-cam", camera.StateOnline, "", ""); err == nil {
		t.Fatal("a pulled camera took a report")
	}
	mu.Lock()
	defer mu.Unlock()
	want := "unknown>online/ online>offline/keepalive_lost offline>maintenance/maintenance maintenance>online/"
	if s := strings.Join(got, " "); s != want {
		t.Fatalf("transitions %q, want %q", s, want)
	}
}
