package gb28181_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// hubID and hubDomain are the hub's SIP identity in the tests: a county
// platform of Xianyang (6104), as GB/T 28181 numbers them.
const (
	hubID     = "61042800002000000001"
	hubDomain = "6104280000"
)

// fakeDevice is a GB/T 28181 device written on sipgo's client: it
// registers with digest and sends keepalives the way an IPC does. Each
// fakeDevice has its own user agent, so its own source port: a new one
// with the same id is that device behind a rebound NAT.
type fakeDevice struct {
	t         *testing.T
	id, pass  string
	hub       string // host:port
	transport string
	ua        *sipgo.UserAgent
	c         *sipgo.Client
	sn        int
	// queries are the MANSCDP queries the hub sent the device (answered
	// 200), with their bodies decoded.
	queries chan query
	refuse  int // when set, the hub's queries are answered with this status
}

// query is a MANSCDP Query the hub sent.
type query struct{ cmd, sn, device string }

func newFakeDevice(t *testing.T, id, pass, hub, transport string) *fakeDevice {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(id), sipgo.WithUserAgentHostname(hubDomain))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDevice{t: t, id: id, pass: pass, hub: hub, transport: transport, ua: ua, c: c, queries: make(chan query, 16)}
	// The hub's requests arrive on the client's own socket (as over NAT):
	// a server on the same user agent answers them.
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		var q struct {
			XMLName  xml.Name
			CmdType  string `xml:"CmdType"`
			SN       string `xml:"SN"`
			DeviceID string `xml:"DeviceID"`
		}
		dec := xml.NewDecoder(bytes.NewReader(req.Body()))
		dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) {
			return simplifiedchinese.GB18030.NewDecoder().Reader(in), nil
		}
		if err := dec.Decode(&q); err != nil || q.XMLName.Local != "Query" {
			tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
			return
		}
		if d.refuse != 0 {
			tx.Respond(sip.NewResponseFromRequest(req, d.refuse, "Refused", nil))
			return
		}
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		select {
		case d.queries <- query{q.CmdType, q.SN, q.DeviceID}:
		default:
		}
	})
	t.Cleanup(d.close)
	return d
}

func (d *fakeDevice) close() {
	d.c.Close()
	d.ua.Close()
}

func (d *fakeDevice) uri() sip.Uri {
	host, port, _ := net.SplitHostPort(d.hub)
	p, _ := strconv.Atoi(port)
	return sip.Uri{Scheme: "sip", User: hubID, Host: host, Port: p}
}

// register sends a REGISTER for expires seconds, answers a 401 with the
// digest of d.pass, and returns the final status.
func (d *fakeDevice) register(ctx context.Context, expires int) (int, error) {
	req := sip.NewRequest(sip.REGISTER, d.uri())
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@127.0.0.1>", d.id)))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetTransport(d.transport)
	res, err := d.c.Do(ctx, req, sipgo.ClientRequestRegisterBuild)
	if err != nil {
		return 0, err
	}
	if res.StatusCode == sip.StatusUnauthorized {
		res, err = d.c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: d.id, Password: d.pass})
		if err != nil {
			return 0, err
		}
	}
	return int(res.StatusCode), nil
}

// message sends a MESSAGE with a MANSCDP body in the given bytes.
func (d *fakeDevice) message(ctx context.Context, body []byte) (int, error) {
	req := sip.NewRequest(sip.MESSAGE, d.uri())
	req.AppendHeader(sip.NewHeader("Content-Type", "Application/MANSCDP+xml"))
	req.SetBody(body)
	req.SetTransport(d.transport)
	res, err := d.c.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	return int(res.StatusCode), nil
}

// keepalive sends a Keepalive as devices do: GB2312 declared, GB18030
// bytes.
func (d *fakeDevice) keepalive(ctx context.Context) (int, error) {
	d.sn++
	return d.message(ctx, gbBody(fmt.Sprintf(`<?xml version="1.0" encoding="GB2312"?>
<Notify>
<CmdType>Keepalive</CmdType>
<SN>%d</SN>
<DeviceID>%s</DeviceID>
<Status>OK</Status>
<Info>
</Info>
</Notify>
`, d.sn, d.id)))
}

func gbBody(s string) []byte {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

// mustStatus fails the test unless the call answered want.
func mustStatus(t *testing.T, what string, want int) func(int, error) {
	t.Helper()
	return func(got int, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got != want {
			t.Fatalf("%s: status %d, want %d", what, got, want)
		}
	}
}

func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded)
}

// query waits for the hub's next query to the device.
func (d *fakeDevice) query(within time.Duration) query {
	d.t.Helper()
	select {
	case q := <-d.queries:
		return q
	case <-time.After(within):
		d.t.Fatalf("%s: no query from the hub within %s", d.id, within)
	}
	return query{}
}

// noQuery fails if the hub queries the device within the time.
func (d *fakeDevice) noQuery(within time.Duration) {
	d.t.Helper()
	select {
	case q := <-d.queries:
		d.t.Fatalf("%s: unexpected query %+v", d.id, q)
	case <-time.After(within):
	}
}

// catalog answers a Catalog query (sn) with one message of a catalog of
// sum items in all, holding items (each "id|name|civil code|ON or OFF"),
// in GB2312 as devices send it.
func (d *fakeDevice) catalog(ctx context.Context, sn string, sum int, items ...string) (int, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Response>\r\n<CmdType>Catalog</CmdType>\r\n<SN>%s</SN>\r\n"+
		"<DeviceID>%s</DeviceID>\r\n<SumNum>%d</SumNum>\r\n<DeviceList Num=\"%d\">\r\n", sn, d.id, sum, len(items))
	for _, it := range items {
		f := strings.Split(it, "|")
		fmt.Fprintf(&b, "<Item>\r\n<DeviceID>%s</DeviceID>\r\n<Name>%s</Name>\r\n<Manufacturer>Hikvision</Manufacturer>\r\n<Model>DS-2CD</Model>\r\n"+
			"<CivilCode>%s</CivilCode>\r\n<Parental>0</Parental>\r\n<ParentID>%s</ParentID>\r\n<Status>%s</Status>\r\n</Item>\r\n", f[0], f[1], f[2], d.id, f[3])
	}
	b.WriteString("</DeviceList>\r\n</Response>\r\n")
	return d.message(ctx, gbBody(b.String()))
}
