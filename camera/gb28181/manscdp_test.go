package gb28181

import (
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func gb(s string) []byte {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

// TestParseMANSCDP reads the bodies devices send: GB2312 declared (with
// GB18030-only characters, as devices do), GB18030 undeclared, UTF-8, and
// the sloppy XML of older firmware.
func TestParseMANSCDP(t *testing.T) {
	const name = "东街社区 𠀀 路口" // 𠀀 is beyond GB2312 and GBK: GB18030 four-byte
	tests := []struct {
		name    string
		body    []byte
		cmd     string
		devName string
		wantErr bool
	}{
		{"gb2312 declared", gb(`<?xml version="1.0" encoding="GB2312"?>` + "\n<Response><CmdType>DeviceInfo</CmdType><SN>1</SN><DeviceID>34020000001320000001</DeviceID><Name>" + name + "</Name></Response>"), "DeviceInfo", name, false},
		{"gb18030 undeclared", gb("<Notify><CmdType>Keepalive</CmdType><SN>2</SN><DeviceID>34020000001320000001</DeviceID><Name>" + name + "</Name></Notify>"), "Keepalive", name, false},
		{"gbk declared lower case", gb(`<?xml version="1.0" encoding="gbk"?><Notify><CmdType>Keepalive</CmdType><Name>` + name + `</Name></Notify>`), "Keepalive", name, false},
		{"utf-8", []byte(`<?xml version="1.0" encoding="UTF-8"?><Notify><CmdType> Keepalive </CmdType><Name>` + name + `</Name></Notify>`), "Keepalive", name, false},
		{"unescaped ampersand", gb(`<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Keepalive</CmdType><Name>A&B 卡口</Name></Notify>`), "Keepalive", "A&B 卡口", false},
		{"no CmdType", []byte(`<Notify><SN>3</SN></Notify>`), "", "", true},
		{"not XML", []byte(`hello`), "", "", true},
		{"charset unknown", []byte(`<?xml version="1.0" encoding="KOI8-R"?><Notify><CmdType>Keepalive</CmdType></Notify>`), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseMANSCDP(tt.body)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if m.CmdType != tt.cmd || m.Name != tt.devName {
				t.Fatalf("got %q %q, want %q %q", m.CmdType, m.Name, tt.cmd, tt.devName)
			}
		})
	}
}
