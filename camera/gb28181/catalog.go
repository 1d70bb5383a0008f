package gb28181

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxCatalogBytes bounds one Catalog answer's body. A device splits its
// catalog over several MESSAGEs (over UDP each must fit a datagram);
// anything larger is not a catalog but a device gone wrong or an attack,
// and is refused before it is parsed.
const maxCatalogBytes = 64 << 10

// Channel is one video channel of a device's catalog (GB/T 28181 appendix
// A.2.4.2 目录查询应答), where the hub places it and its state, as the API
// shows it.
type Channel struct {
	ID           string  `json:"id"`     // the channel's 20-digit id: the camera's id once placed
	Device       string  `json:"device"` // the device whose catalog lists it
	Name         string  `json:"name"`
	Manufacturer string  `json:"manufacturer,omitempty"`
	Model        string  `json:"model,omitempty"`
	CivilCode    string  `json:"civil_code,omitempty"`
	Status       string  `json:"status"` // ON or OFF, as the device reports the channel
	Parental     bool    `json:"parental,omitempty"`
	ParentID     string  `json:"parent_id,omitempty"`
	Longitude    float64 `json:"longitude,omitempty"`
	Latitude     float64 `json:"latitude,omitempty"`

	Township string `json:"township,omitempty"`
	Village  string `json:"village,omitempty"`
	Placed   bool   `json:"placed"` // a camera of the hub: its CivilCode or gb28181.channels places it

	State  string `json:"state"` // follows the device, then the channel's Status
	Cause  string `json:"cause,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Channel statuses as kept: the catalog's ON/OFF (some firmware writes
// ONLINE/OFFLINE or lower case).
const (
	ChannelOn  = "ON"
	ChannelOff = "OFF"
)

// catalogAnswer is one Catalog response MESSAGE: its part of the catalog.
type catalogAnswer struct {
	SN       string
	DeviceID string
	SumNum   int       // the whole catalog's item count, over every message
	Items    []Channel // the video channels of this message
	Skipped  int       // items that are not video channels (directories, alarm inputs…)
	Bad      int       // items without a usable id
}

type catalogXML struct {
	XMLName    xml.Name
	CmdType    string `xml:"CmdType"`
	SN         string `xml:"SN"`
	DeviceID   string `xml:"DeviceID"`
	SumNum     string `xml:"SumNum"`
	DeviceList struct {
		Num   string        `xml:"Num,attr"`
		Items []catalogItem `xml:"Item"`
	} `xml:"DeviceList"`
}

type catalogItem struct {
	DeviceID     string `xml:"DeviceID"`
	Name         string `xml:"Name"`
	Manufacturer string `xml:"Manufacturer"`
	Model        string `xml:"Model"`
	CivilCode    string `xml:"CivilCode"`
	Parental     string `xml:"Parental"`
	ParentID     string `xml:"ParentID"`
	Status       string `xml:"Status"`
	Longitude    string `xml:"Longitude"`
	Latitude     string `xml:"Latitude"`
}

var (
	errCatalogSize = errors.New("catalog: answer too large")
	errNotCatalog  = errors.New("catalog: not a Catalog response")
)

// parseCatalog reads one Catalog response in the charset it declares (or
// GB18030, see parseMANSCDP). Only video channels are kept: a GB id's
// digits 11-13 are its type, 131 camera and 132 network camera; a lower
// platform's catalog also lists its directories (civil codes, 215 business
// groups, 216 virtual organisations) and devices list their alarm inputs,
// which are not cameras.
func parseCatalog(body []byte) (catalogAnswer, error) {
	var a catalogAnswer
	if len(body) > maxCatalogBytes {
		return a, fmt.Errorf("%w: %d bytes (at most %d)", errCatalogSize, len(body), maxCatalogBytes)
	}
	var x catalogXML
	if err := decodeMANSCDP(body, &x); err != nil {
		return a, err
	}
	if x.XMLName.Local != "Response" || !strings.EqualFold(strings.TrimSpace(x.CmdType), "Catalog") {
		return a, fmt.Errorf("%w: <%s> %s", errNotCatalog, x.XMLName.Local, strings.TrimSpace(x.CmdType))
	}
	a.SN, a.DeviceID = strings.TrimSpace(x.SN), strings.TrimSpace(x.DeviceID)
	n, err := strconv.Atoi(strings.TrimSpace(x.SumNum))
	if err != nil || n < 0 {
		return a, fmt.Errorf("catalog: SumNum %q is not a count", x.SumNum)
	}
	a.SumNum = n
	for _, it := range x.DeviceList.Items {
		id := strings.TrimSpace(it.DeviceID)
		switch {
		case !gbID(id):
			a.Bad++
			continue
		case !videoChannel(id):
			a.Skipped++
			continue
		}
		c := Channel{ID: id, Name: strings.TrimSpace(it.Name), Manufacturer: strings.TrimSpace(it.Manufacturer),
			Model: strings.TrimSpace(it.Model), CivilCode: strings.TrimSpace(it.CivilCode),
			Parental: strings.TrimSpace(it.Parental) == "1", ParentID: strings.TrimSpace(it.ParentID),
			Status: channelStatus(it.Status), Longitude: coord(it.Longitude, 180), Latitude: coord(it.Latitude, 90)}
		if c.Name == "" {
			c.Name = id
		}
		a.Items = append(a.Items, c)
	}
	return a, nil
}

// gbID: 20 digits.
func gbID(s string) bool {
	if len(s) != 20 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// videoChannel: a GB id of type 131 (camera) or 132 (network camera).
func videoChannel(id string) bool { t := id[10:13]; return t == "131" || t == "132" }

// channelStatus reads ON/OFF as firmware writes it; a missing status is
// ON (the channel is listed, the device is what is judged).
func channelStatus(s string) string {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "OFF", "OFFLINE":
		return ChannelOff
	}
	return ChannelOn
}

// coord reads a longitude or latitude; anything unreadable or out of
// range is 0 (unknown), as devices write 0.0 when they know none.
func coord(s string, limit float64) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < -limit || v > limit {
		return 0
	}
	return v
}
