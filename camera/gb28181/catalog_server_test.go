package gb28181_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"snowhub/camera/gb28181"
)

const (
	ch1 = "61042800001310000011"
	ch2 = "61042800001310000012"
	ch3 = "61042800001320000013"
)

// syncBuf is a log the server writes from its goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *syncBuf) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.b.String(), s)
}

func channelIDs(s *gb28181.Server) string {
	var ids []string
	for _, c := range s.Channels() {
		ids = append(ids, c.ID)
	}
	return strings.Join(ids, ",")
}

// TestCatalogQuery: on REGISTER the hub asks the device for its catalog,
// over the transport the device registered on; the answer comes in two
// messages and is put in force only when SumNum items have come; a
// refresh asks nothing, a registration after an unregister asks again;
// a second catalog replaces the first.
func TestCatalogQuery(t *testing.T) {
	for _, tp := range []string{"UDP", "TCP"} {
		t.Run(tp, func(t *testing.T) {
			var mu sync.Mutex
			var told []string
			s := startHub(t, gb28181.Options{Devices: devices(camA), CatalogTimeout: 2 * time.Second,
				OnCatalog: func(id string) { mu.Lock(); told = append(told, id); mu.Unlock() }})
			ctx := ctxT(t)
			dev := newFakeDevice(t, camA, "pw-"+camA, s.Addr(), tp)
			mustStatus(t, "register", 200)(dev.register(ctx, 3600))
			q := dev.query(time.Second)
			if q.cmd != "Catalog" || q.device != camA || q.sn == "" {
				t.Fatalf("query %+v, want Catalog for %s", q, camA)
			}
			mustStatus(t, "catalog 1/2", 200)(dev.catalog(ctx, q.sn, 3, ch1+"|东街路口|610428101201|ON", ch2+"|西街|610428101202|ON"))
			if got := channelIDs(s); got != "" {
				t.Fatalf("channels %q before the catalog is whole", got)
			}
			mustStatus(t, "catalog 2/2", 200)(dev.catalog(ctx, q.sn, 3, ch3+"|村委会|610428|OFF"))
			if got := channelIDs(s); got != ch1+","+ch2+","+ch3 {
				t.Fatalf("channels %q", got)
			}
			cs := s.Channels()
			if cs[0].Name != "东街路口" || cs[0].Device != camA || cs[0].CivilCode != "610428101201" || cs[0].State != gb28181.StateOnline {
				t.Fatalf("channel %+v", cs[0])
			}
			if cs[2].Status != gb28181.ChannelOff || cs[2].State != gb28181.StateOffline || cs[2].Cause != gb28181.CauseChannelOff {
				t.Fatalf("the OFF channel: %+v", cs[2])
			}
			if d, _ := s.Device(camA); d.Channels != 3 || d.CatalogAt.IsZero() || d.CatalogError != "" {
				t.Fatalf("device after its catalog: %+v", d)
			}

			mustStatus(t, "refresh", 200)(dev.register(ctx, 3600))
			dev.noQuery(200 * time.Millisecond)
			mustStatus(t, "unregister", 200)(dev.register(ctx, 0))
			mustStatus(t, "register again", 200)(dev.register(ctx, 3600))
			q2 := dev.query(time.Second)
			if q2.sn == q.sn {
				t.Fatalf("the second query has the first's SN %s", q.sn)
			}
			mustStatus(t, "smaller catalog", 200)(dev.catalog(ctx, q2.sn, 1, ch2+"|西街|610428101202|ON"))
			if got := channelIDs(s); got != ch2 {
				t.Fatalf("after the second catalog: %q", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(told, " ") != camA+" "+camA {
				t.Fatalf("OnCatalog told %v, want the device twice", told)
			}
		})
	}
}

// TestCatalogTimeoutAndMalformed: a catalog short of its SumNum is put in
// force with what came once the timeout passes, and says it is
// incomplete; a device that refuses the query keeps none and says
// why; broken answers (larger ones sipgo's transport drops itself) are refused, counted, and logged once per
// device; channels over MaxChannels are dropped and counted; a stranger's
// catalog is refused.
func TestCatalogTimeoutAndMalformed(t *testing.T) {
	logs := &syncBuf{}
	s := startHub(t, gb28181.Options{Devices: devices(camA, camB), CatalogTimeout: 300 * time.Millisecond, MaxChannels: 2,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx := ctxT(t)
	a := newFakeDevice(t, camA, "pw-"+camA, s.Addr(), "UDP")
	mustStatus(t, "register", 200)(a.register(ctx, 3600))
	q := a.query(time.Second)
	mustStatus(t, "1 of 4", 200)(a.catalog(ctx, q.sn, 4, ch1+"|东街路口|610428101201|ON"))
	time.Sleep(100 * time.Millisecond)
	if got := channelIDs(s); got != "" {
		t.Fatalf("channels %q before the timeout", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for channelIDs(s) != ch1 {
		if time.Now().After(deadline) {
			t.Fatalf("channels %q, want %s after the timeout", channelIDs(s), ch1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d, _ := s.Device(camA); !strings.Contains(d.CatalogError, "目录不完整") || !strings.Contains(d.CatalogError, "1 of 4") {
		t.Fatalf("catalog error %q", d.CatalogError)
	}

	mustStatus(t, "bad XML", 400)(a.message(ctx, []byte(`<Response><CmdType>Catalog</CmdType><SN>1</SN><SumNum>1</SumNum><DeviceList><Item><DeviceID>610`)))
	mustStatus(t, "bad SumNum", 400)(a.message(ctx, []byte(`<Response><CmdType>Catalog</CmdType><SN>1</SN><SumNum>many</SumNum></Response>`)))
	if d, _ := s.Device(camA); d.CatalogErrors != 2 || d.Channels != 1 {
		t.Fatalf("after 2 malformed answers: errors %d, channels %d", d.CatalogErrors, d.Channels)
	}
	if n := logs.count("malformed catalog answer"); n != 1 {
		t.Fatalf("malformed answers logged %d times, want once", n)
	}

	// Over MaxChannels (2): the third is dropped and counted.
	// (Over TCP: sipgo's client keeps UDP requests within the MTU, as
	// devices split their catalogs for it.)
	overTCP := newFakeDevice(t, camA, "pw-"+camA, s.Addr(), "TCP")
	mustStatus(t, "three channels", 200)(overTCP.catalog(ctx, "99", 3, ch1+"|a|610428|ON", ch2+"|b|610428|ON", ch3+"|c|610428|ON"))
	if d, _ := s.Device(camA); d.Channels != 2 || d.CatalogErrors != 3 {
		t.Fatalf("over the limit: channels %d errors %d", d.Channels, d.CatalogErrors)
	}

	// A device that refuses the query: no channels, and the reason says
	// why.
	b := newFakeDevice(t, camB, "pw-"+camB, s.Addr(), "UDP")
	b.refuse = 403
	mustStatus(t, "register camB", 200)(b.register(ctx, 3600))
	deadline = time.Now().Add(2 * time.Second)
	for {
		d, _ := s.Device(camB)
		if strings.Contains(d.CatalogError, "拒绝目录查询（403）") && d.Channels == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("camB: %+v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}

	stranger := newFakeDevice(t, "61042800001320009999", "x", s.Addr(), "UDP")
	mustStatus(t, "a stranger's catalog", 403)(stranger.catalog(ctx, "1", 1, ch3+"|c|610428|ON"))
}
