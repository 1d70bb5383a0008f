package notify

import (
	"fmt"
	"strings"
	"time"
)

// Record is one notice sent (or given up), kept for the incident's history:
// the county sees "钉钉 昭仁街道群 已送达 08:14:03".
type Record struct {
	Incident    string    `json:"incident"`
	StepID      string    `json:"step_id"`
	Action      string    `json:"action"`
	Channel     string    `json:"channel"`
	ChannelName string    `json:"channel_name"`
	Type        string    `json:"type"`         // wecom | dingtalk | sms | webhook | mqtt
	To          string    `json:"to,omitempty"` // phones for SMS; the group for robots
	At          time.Time `json:"at"`
	Result      string    `json:"result"` // delivered | failed | moved
	Detail      string    `json:"detail,omitempty"`
	Digest      bool      `json:"digest,omitempty"`
	Repeat      int       `json:"repeat,omitempty"`
}

var typeNames = map[string]string{"wecom": "企业微信", "dingtalk": "钉钉", "sms": "短信", "webhook": "接口推送", "mqtt": "MQTT"}

var resultNames = map[string]string{"delivered": "已送达", "failed": "发送失败", "moved": "转下一渠道"}

// Line is the record as a line of the incident's history, in local time.
func (r Record) Line(loc *time.Location) string {
	if loc == nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	s := fmt.Sprintf("%s %s", typeNames[r.Type], r.ChannelName)
	if r.To != "" && r.Type == "sms" {
		s += " " + r.To
	}
	s += " " + resultNames[r.Result] + " " + r.At.In(loc).Format("15:04:05")
	tags := []string{StepName(r.Action)}
	if r.Digest {
		tags = append(tags, "汇总")
	}
	if r.Repeat > 0 {
		tags = append(tags, fmt.Sprintf("第%d次提醒", r.Repeat))
	}
	s += "（" + strings.Join(tags, "，") + "）"
	if r.Detail != "" && r.Result != "delivered" {
		s += "：" + r.Detail
	}
	return s
}

// smsBudget is one number's use of an SMS channel today.
type smsBudget struct {
	Day   string               `json:"day"` // local date
	Count int                  `json:"count"`
	Last  map[string]time.Time `json:"last,omitempty"` // content hash → last send
}
