package camera_test

import (
	"context"
	"testing"
	"time"

	"snowhub/camera"
	"snowhub/camera/simcam"
)

// A camera with a sub-stream is judged on the sub-stream (pulled
// continuously), grid viewers get it, and the main stream is pulled once,
// only while a focused tile watches it, however many watch it.
func TestSubstream(t *testing.T) {
	sim := startSim(t, simcam.Camera{Path: "/main", Behaviour: simcam.Normal}, simcam.Camera{Path: "/sub", Behaviour: simcam.Normal})
	// Default stall and offline times: the pull counts below must not see
	// a reconnect for a frame a loaded test machine delayed.
	m := camera.NewManager(camera.Options{ViewerLinger: time.Second, BackoffMin: 200 * time.Millisecond, Settle: time.Second})
	m.Start(context.Background())
	defer m.Close()
	m.Update([]camera.Spec{{ID: "c", URL: sim.URL("/main"), SubstreamURL: sim.URL("/sub"), Transport: "tcp", Watch: true}})
	waitState(t, m, "c", camera.StateOnline, "", 10*time.Second)
	if sim.DescribesOf("/main") != 0 || sim.DescribesOf("/sub") != 1 {
		t.Fatalf("describes: main %d, sub %d; want the sub-stream pulled alone", sim.DescribesOf("/main"), sim.DescribesOf("/sub"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	grid, err := m.WatchStream(ctx, "c", camera.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := grid.Init(ctx); err != nil {
		t.Fatal(err)
	}
	var mains []*camera.Viewer
	for i := 0; i < 3; i++ {
		v, err := m.WatchStream(ctx, "c", camera.StreamMain)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Init(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Next(ctx); err != nil {
			t.Fatal(err)
		}
		mains = append(mains, v)
	}
	if n := sim.DescribesOf("/main"); n != 1 {
		t.Fatalf("main stream pulled %d times for 3 viewers", n)
	}
	if n := sim.DescribesOf("/sub"); n != 1 {
		t.Fatalf("sub-stream pulled %d times", n)
	}
	for _, v := range mains {
		v.Close()
	}
	// Released after the linger: no more attempts on the main stream, and
	// the camera is still judged (online) on its sub-stream.
	time.Sleep(3 * time.Second)
	before := sim.DescribesOf("/main")
	sim.SetBehaviour("/main", simcam.Down)
	time.Sleep(2 * time.Second)
	if sim.DescribesOf("/main") != before {
		t.Fatal("main stream still pulled after its viewers left")
	}
	if st, _ := m.Status("c"); st.State != camera.StateOnline {
		t.Fatalf("state %s with the main stream down: the camera is judged on its sub-stream", st.State)
	}
	grid.Close()
	if _, err := m.WatchStream(ctx, "c", "third"); err == nil {
		t.Fatal("an unknown stream accepted")
	}
}
