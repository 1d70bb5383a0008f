package vendorfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// WeCom error codes of the group robot (群机器人).
const (
	WeComOK         = 0
	WeComBadKey     = 93000 // invalid webhook url
	WeComTooLong    = 40058 // text.content / markdown.content exceed max length
	WeComFreqLimit  = 45009 // api freq out of limit
	WeComBadPayload = 40008 // invalid message type
)

// WeCom is a fake of https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K.
// A robot accepts Limit messages per Window (20 a minute) and answers 45009
// beyond; text content is capped at 2,048 bytes and markdown at 4,096
// (UTF-8), answered 40058.
type WeCom struct {
	log
	*httptest.Server

	Limit       int
	Window      time.Duration
	TextMax     int
	MarkdownMax int
	Now         func() time.Time

	mu    sync.Mutex
	keys  map[string]*window
	delay time.Duration
}

// NewWeCom starts a fake with the documented limits.
func NewWeCom() *WeCom {
	f := &WeCom{Limit: 20, Window: time.Minute, TextMax: 2048, MarkdownMax: 4096, keys: map[string]*window{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// AddRobot registers a robot's key.
func (f *WeCom) AddRobot(key string) { f.mu.Lock(); f.keys[key] = &window{}; f.mu.Unlock() }

// SetDelay makes every answer wait d.
func (f *WeCom) SetDelay(d time.Duration) { f.mu.Lock(); f.delay = d; f.mu.Unlock() }

// RobotURL is the robot's webhook address.
func (f *WeCom) RobotURL(key string) string { return f.URL + "/cgi-bin/webhook/send?key=" + key }

func (f *WeCom) answer(w http.ResponseWriter, code int, msg string) {
	if code != WeComOK {
		f.refuse(strconv.Itoa(code))
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
}

func (f *WeCom) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/cgi-bin/webhook/send" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	key := r.URL.Query().Get("key")
	now := nowOr(f.Now)
	f.mu.Lock()
	defer f.mu.Unlock()
	win := f.keys[key]
	if win == nil {
		f.answer(w, WeComBadKey, "invalid webhook url")
		return
	}
	var msg struct {
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
		Markdown struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		f.answer(w, 40008, "invalid message type")
		return
	}
	var content string
	switch msg.MsgType {
	case "text":
		content = msg.Text.Content
		if len(content) > f.TextMax {
			f.answer(w, WeComTooLong, fmt.Sprintf("text.content exceed max length %d", f.TextMax))
			return
		}
	case "markdown":
		content = msg.Markdown.Content
		if len(content) > f.MarkdownMax {
			f.answer(w, WeComTooLong, fmt.Sprintf("markdown.content exceed max length %d", f.MarkdownMax))
			return
		}
	default:
		f.answer(w, WeComBadPayload, "invalid message type")
		return
	}
	if n := win.add(now, f.Window); n > f.Limit {
		win.times = win.times[:len(win.times)-1]
		f.answer(w, WeComFreqLimit, "api freq out of limit")
		return
	}
	f.accept(Received{At: now, Target: key, MsgType: msg.MsgType, Content: content, Raw: body})
	f.answer(w, WeComOK, "ok")
}
