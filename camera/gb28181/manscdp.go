package gb28181

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// manscdp is a MANSCDP body (GB/T 28181 appendix A) as far as this issue
// reads it: the root element names the kind (Notify, Query, Response,
// Control), CmdType the command. Keepalive is the only one acted on yet;
// the others are answered 200 and read by the next issues (catalog,
// alarms, device info).
type manscdp struct {
	XMLName  xml.Name
	CmdType  string `xml:"CmdType"`
	SN       string `xml:"SN"`
	DeviceID string `xml:"DeviceID"`
	Status   string `xml:"Status"`
	Name     string `xml:"Name"` // DeviceInfo's device name; here to test the decoding of Chinese
}

// parseMANSCDP reads a body in the charset it declares. Devices mostly
// send GB2312 or GB18030 (and some declare GB2312 while sending GBK's or
// GB18030's extra characters, so every GB name is read as GB18030, their
// superset); a body that declares nothing and is not UTF-8 is read as
// GB18030 too, as Hikvision's and Dahua's older firmware send it.
func parseMANSCDP(body []byte) (manscdp, error) {
	var m manscdp
	if err := decodeMANSCDP(body, &m); err != nil {
		return m, err
	}
	m.CmdType = strings.TrimSpace(m.CmdType)
	m.DeviceID = strings.TrimSpace(m.DeviceID)
	m.Status = strings.TrimSpace(m.Status)
	m.Name = strings.TrimSpace(m.Name)
	if m.CmdType == "" {
		return m, fmt.Errorf("manscdp: <%s> without CmdType", m.XMLName.Local)
	}
	return m, nil
}

// decodeMANSCDP decodes a body into v in the charset it declares, or as
// GB18030 when it declares none and is not UTF-8 (see parseMANSCDP).
func decodeMANSCDP(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if !declaresCharset(body) && !utf8.Valid(body) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(body)
		if err != nil {
			return fmt.Errorf("manscdp: body neither UTF-8 nor GB18030: %w", err)
		}
		body = dec
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader
	// Devices write "&" in names unescaped and leave out end tags of
	// empty elements; a keepalive must not be lost to that.
	d.Strict = false
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("manscdp: %w", err)
	}
	return nil
}

func declaresCharset(body []byte) bool {
	head, _, _ := bytes.Cut(body, []byte("?>"))
	return bytes.HasPrefix(head, []byte("<?xml")) && bytes.Contains(bytes.ToLower(head), []byte("encoding"))
}

func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "gb2312", "gbk", "gb18030", "cp936", "euc-cn", "x-gbk", "gb_2312-80":
		return simplifiedchinese.GB18030.NewDecoder().Reader(in), nil
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "utf-16":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder().Reader(in), nil
	}
	return nil, fmt.Errorf("manscdp: charset %q not read", label)
}
