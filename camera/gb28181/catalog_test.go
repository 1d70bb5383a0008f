package gb28181

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// catalogBody is a Catalog response with the given items (each an <Item>'s
// inner XML), as devices write it.
func catalogBody(decl string, sn, sum int, items ...string) string {
	var b strings.Builder
	b.WriteString(decl)
	fmt.Fprintf(&b, "<Response>\n<CmdType>Catalog</CmdType>\n<SN>%d</SN>\n<DeviceID>61042800001180000001</DeviceID>\n<SumNum>%d</SumNum>\n<DeviceList Num=\"%d\">\n", sn, sum, len(items))
	for _, it := range items {
		b.WriteString("<Item>" + it + "</Item>\n")
	}
	b.WriteString("</DeviceList>\n</Response>\n")
	return b.String()
}

const gb2312Decl = `<?xml version="1.0" encoding="GB2312"?>` + "\n"

// TestParseCatalog reads the Catalog answers devices send: GB2312 with
// Chinese names, a catalog split over messages (each with the whole
// SumNum), directories and alarm inputs among the channels, broken items,
// bad XML and oversize bodies.
func TestParseCatalog(t *testing.T) {
	cam := `<DeviceID>61042800001310000001</DeviceID><Name>东街社区 路口</Name><Manufacturer>Hikvision</Manufacturer><Model>DS-2CD3T46</Model>` +
		`<CivilCode>610428101201</CivilCode><Parental>0</Parental><ParentID>61042800001180000001</ParentID><Status>ON</Status>` +
		`<Longitude>108.123456</Longitude><Latitude>34.654321</Latitude>`
	off := `<DeviceID>61042800001320000002</DeviceID><Name>村委会 &amp; 广场</Name><CivilCode>610428</CivilCode><Status>OFF</Status><Longitude>abc</Longitude>`
	dir := `<DeviceID>61042800002150000001</DeviceID><Name>业务分组</Name>`
	alarm := `<DeviceID>61042800001340000001</DeviceID><Name>报警输入1</Name>`
	short := `<DeviceID>6104280000131</DeviceID><Name>too short</Name>`
	tests := []struct {
		name    string
		body    []byte
		sum     int
		ids     []string
		skipped int
		bad     int
		err     error // errors.Is, or errAny
	}{
		{"gb2312 with Chinese names", gb(catalogBody(gb2312Decl, 7, 2, cam, off)), 2,
			[]string{"61042800001310000001", "61042800001320000002"}, 0, 0, nil},
		{"first of two messages", gb(catalogBody(gb2312Decl, 7, 3, cam)), 3, []string{"61042800001310000001"}, 0, 0, nil},
		{"undeclared GB18030", gb(catalogBody("", 7, 1, cam)), 1, []string{"61042800001310000001"}, 0, 0, nil},
		{"directories and alarm inputs skipped, short id counted", gb(catalogBody(gb2312Decl, 7, 4, dir, alarm, short, cam)), 4,
			[]string{"61042800001310000001"}, 2, 1, nil},
		{"empty catalog", []byte(catalogBody("", 7, 0)), 0, nil, 0, 0, nil},
		{"not a catalog", []byte(`<Response><CmdType>DeviceInfo</CmdType><SN>1</SN></Response>`), 0, nil, 0, 0, errNotCatalog},
		{"a catalog query, not an answer", []byte(`<Query><CmdType>Catalog</CmdType><SN>1</SN></Query>`), 0, nil, 0, 0, errNotCatalog},
		{"no SumNum", []byte(`<Response><CmdType>Catalog</CmdType><SN>1</SN></Response>`), 0, nil, 0, 0, errAny},
		{"bad XML", []byte(`<Response><CmdType>Catalog</CmdType><SumNum>1</SumNum><DeviceList><Item><DeviceID>610`), 0, nil, 0, 0, errAny},
		{"not XML", []byte("hello"), 0, nil, 0, 0, errAny},
		{"oversize", []byte(catalogBody("", 7, 1, cam+strings.Repeat(" ", maxCatalogBytes))), 0, nil, 0, 0, errCatalogSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseCatalog(tt.body)
			switch {
			case tt.err == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != nil && err == nil:
				t.Fatalf("no error, want %v", tt.err)
			case tt.err != nil && tt.err != errAny && !errors.Is(err, tt.err):
				t.Fatalf("error %v, want %v", err, tt.err)
			case err != nil:
				return
			}
			var ids []string
			for _, c := range a.Items {
				ids = append(ids, c.ID)
			}
			if a.SumNum != tt.sum || strings.Join(ids, ",") != strings.Join(tt.ids, ",") || a.Skipped != tt.skipped || a.Bad != tt.bad {
				t.Fatalf("sum %d items %v skipped %d bad %d, want %d %v %d %d", a.SumNum, ids, a.Skipped, a.Bad, tt.sum, tt.ids, tt.skipped, tt.bad)
			}
			if a.SN != "7" || a.DeviceID != "61042800001180000001" {
				t.Fatalf("SN %q device %q", a.SN, a.DeviceID)
			}
		})
	}

	// The fields of a channel, Chinese names decoded from GB2312.
	a, err := parseCatalog(gb(catalogBody(gb2312Decl, 7, 2, cam, off)))
	if err != nil {
		t.Fatal(err)
	}
	want := []Channel{
		{ID: "61042800001310000001", Name: "东街社区 路口", Manufacturer: "Hikvision", Model: "DS-2CD3T46", CivilCode: "610428101201",
			ParentID: "61042800001180000001", Status: ChannelOn, Longitude: 108.123456, Latitude: 34.654321},
		{ID: "61042800001320000002", Name: "村委会 & 广场", CivilCode: "610428", Status: ChannelOff},
	}
	for i := range want {
		if a.Items[i] != want[i] {
			t.Errorf("item %d:\n got %+v\nwant %+v", i, a.Items[i], want[i])
		}
	}
}

// errAny in a test table: any error will do.
var errAny = errors.New("any error")
