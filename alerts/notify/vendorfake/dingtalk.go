package vendorfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DingTalk error codes of the custom robot (自定义机器人), as its
// documentation and its users' reports give them.
const (
	DingOK           = 0
	DingTokenMissing = 300001 // access_token unknown
	DingSecurity     = 310000 // sign not match, invalid timestamp, keywords not in content, ip not in whitelist
	DingTooFast      = 130101 // send too fast, exceed 20 times per minute
	DingTooLong      = 460101 // message too long, exceed 20000 bytes
)

// DingTalk is a fake of https://oapi.dingtalk.com/robot/send for robots with
// the 加签 (signing) security setting, and optionally a keyword.
//
// A robot accepts Limit messages per Window; the next one is answered 130101
// and the robot is then blocked for Block (the documentation: 20 a minute,
// then 限流10分钟). The signature is
// urlencode(base64(HMAC-SHA256(secret, timestamp+"\n"+secret))) with a
// millisecond timestamp that must be within TimestampWindow of the server's
// clock (one hour).
type DingTalk struct {
	log
	*httptest.Server

	Limit           int
	Window          time.Duration
	Block           time.Duration
	TimestampWindow time.Duration
	MaxBytes        int
	Now             func() time.Time

	mu     sync.Mutex
	robots map[string]*dingRobot // access_token → robot
	delay  time.Duration
}

type dingRobot struct {
	secret, keyword string
	sent            window
	blockedUntil    time.Time
}

// NewDingTalk starts a fake with the documented limits.
func NewDingTalk() *DingTalk {
	d := &DingTalk{Limit: 20, Window: time.Minute, Block: 10 * time.Minute, TimestampWindow: time.Hour,
		MaxBytes: 20000, robots: map[string]*dingRobot{}}
	d.Server = httptest.NewServer(http.HandlerFunc(d.serve))
	return d
}

// AddRobot registers a robot: its access token, its signing secret (SEC…),
// and a keyword every message must contain ("" for none).
func (d *DingTalk) AddRobot(token, secret, keyword string) {
	d.mu.Lock()
	d.robots[token] = &dingRobot{secret: secret, keyword: keyword}
	d.mu.Unlock()
}

// SetDelay makes every answer wait d (a slow network).
func (d *DingTalk) SetDelay(delay time.Duration) { d.mu.Lock(); d.delay = delay; d.mu.Unlock() }

// RobotURL is the webhook URL a group's robot settings page shows.
func (d *DingTalk) RobotURL(token string) string { return d.URL + "/robot/send?access_token=" + token }

// DingSign computes the documented signature; exported for tests of the fake.
func DingSign(secret string, tsMillis int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d\n%s", tsMillis, secret)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (d *DingTalk) answer(w http.ResponseWriter, code int, msg string) {
	if code != DingOK {
		d.refuse(strconv.Itoa(code))
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
}

func (d *DingTalk) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	delay := d.delay
	d.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/robot/send" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	q := r.URL.Query()
	now := nowOr(d.Now)

	d.mu.Lock()
	defer d.mu.Unlock()
	rb := d.robots[q.Get("access_token")]
	if rb == nil {
		d.answer(w, DingTokenMissing, "token is not exist")
		return
	}
	if rb.secret != "" {
		ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if err != nil {
			d.answer(w, DingSecurity, "invalid timestamp")
			return
		}
		skew := now.Sub(time.UnixMilli(ts))
		if skew < 0 {
			skew = -skew
		}
		if skew > d.TimestampWindow {
			d.answer(w, DingSecurity, "invalid timestamp")
			return
		}
		// url.Values decoding has already undone the urlencode step.
		if !hmac.Equal([]byte(q.Get("sign")), []byte(DingSign(rb.secret, ts))) {
			d.answer(w, DingSecurity, "sign not match")
			return
		}
	}
	if len(body) > d.MaxBytes {
		d.answer(w, DingTooLong, fmt.Sprintf("message too long, exceed %d bytes", d.MaxBytes))
		return
	}
	var msg struct {
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
		Markdown struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		d.answer(w, 40035, "缺少参数 json")
		return
	}
	content := msg.Text.Content
	switch msg.MsgType {
	case "text":
	case "markdown":
		content = msg.Markdown.Title + "\n" + msg.Markdown.Text
	default:
		d.answer(w, 40035, "不支持的消息类型")
		return
	}
	if rb.keyword != "" && !strings.Contains(content, rb.keyword) {
		d.answer(w, DingSecurity, "keywords not in content")
		return
	}
	if now.Before(rb.blockedUntil) {
		d.answer(w, DingTooFast, "send too fast, exceed 20 times per minute")
		return
	}
	if n := rb.sent.add(now, d.Window); n > d.Limit {
		rb.sent.times = rb.sent.times[:len(rb.sent.times)-1]
		rb.blockedUntil = now.Add(d.Block)
		d.answer(w, DingTooFast, "send too fast, exceed 20 times per minute")
		return
	}
	d.accept(Received{At: now, Target: q.Get("access_token"), MsgType: msg.MsgType, Content: content, Raw: body})
	d.answer(w, DingOK, "ok")
}
