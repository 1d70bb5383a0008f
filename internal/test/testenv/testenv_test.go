package testenv

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// TestPeersStart proves each real peer starts, answers and stops, so a
// failure elsewhere is not a broken peer.
func TestPeersStart(t *testing.T) {
	t.Run("mosquitto", func(t *testing.T) {
		m := StartMosquitto(t)
		m.Stop()
		if err := WaitTCP(m.Addr, 300*time.Millisecond); err == nil {
			t.Fatal("mosquitto still listening after Stop")
		}
		m.Start()
		if err := WaitTCP(m.Addr, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("influxdb", func(t *testing.T) {
		db := StartInfluxDB(t, "probe")
		b := db.MustQuery(t, "SHOW DATABASES")
		if !bytes.Contains(b, []byte(`"probe"`)) {
			t.Fatalf("SHOW DATABASES = %s", b)
		}
	})
	t.Run("gstreamer-rtsp", func(t *testing.T) {
		s := StartGstRTSP(t, RTSPOptions{})
		c, err := net.Dial("tcp", strings.TrimPrefix(strings.Split(s.URL, "/cam")[0], "rtsp://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("DESCRIBE " + s.URL + " RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"))
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		if !bytes.HasPrefix(buf[:n], []byte("RTSP/1.0 200")) || !bytes.Contains(buf[:n], []byte("H264")) {
			t.Fatalf("DESCRIBE answered %q", buf[:n])
		}
	})
}
