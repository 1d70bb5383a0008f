package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"snowhub/configs"
)

// postJSON sends body and decodes a JSON answer into out. Transport errors
// and 5xx are transient; 401/403 are auth; 429 is a rate limit; 413 too long.
func postJSON(ctx context.Context, hc *http.Client, target string, hdr http.Header, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return &VendorError{Class: ClassAuth, Code: "url", Msg: "bad URL"}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL can carry the robot's token: report only the failure.
		var ue *url.Error
		if ok := asURLError(err, &ue); ok {
			err = ue.Err
		}
		return &VendorError{Class: ClassTransient, Code: "network", Msg: err.Error()}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 500:
		return &VendorError{Class: ClassTransient, Code: strconv.Itoa(resp.StatusCode), Msg: snippet(data)}
	case resp.StatusCode == 401 || resp.StatusCode == 403:
		return &VendorError{Class: ClassAuth, Code: strconv.Itoa(resp.StatusCode), Msg: snippet(data)}
	case resp.StatusCode == 429:
		return &VendorError{Class: ClassRateLimit, Code: "429", Msg: snippet(data), Wait: retryAfter(resp.Header)}
	case resp.StatusCode == 413:
		return &VendorError{Class: ClassTooLong, Code: "413", Msg: snippet(data)}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			if resp.StatusCode >= 400 {
				return &VendorError{Class: ClassRejected, Code: strconv.Itoa(resp.StatusCode), Msg: snippet(data)}
			}
			return &VendorError{Class: ClassTransient, Code: "answer", Msg: "unreadable answer: " + snippet(data)}
		}
	} else if resp.StatusCode >= 400 {
		return &VendorError{Class: ClassRejected, Code: strconv.Itoa(resp.StatusCode), Msg: snippet(data)}
	}
	return nil
}

func asURLError(err error, ue **url.Error) bool { return errors.As(err, ue) }

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil {
		return time.Duration(s) * time.Second
	}
	return 0
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// marshal encodes a robot's body without escaping <, > and & (six bytes
// each), so the size the digest planned is the size sent.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimRight(b.Bytes(), "\n")
}

// wecomSender posts to a WeCom group robot.
type wecomSender struct {
	ch configs.NotifyChannel
	hc *http.Client
}

func (s *wecomSender) close() {}

func (s *wecomSender) send(ctx context.Context, m *message) error {
	var payload map[string]any
	if s.ch.Format == "text" {
		text := map[string]any{"content": m.Text}
		if len(m.Mentions) > 0 {
			text["mentioned_mobile_list"] = m.Mentions
		}
		payload = map[string]any{"msgtype": "text", "text": text}
	} else {
		// WeCom's markdown cannot @ by phone; the notice text names the
		// person, and a text message would be needed for the ring.
		payload = map[string]any{"msgtype": "markdown", "markdown": map[string]any{"content": m.Text}}
	}
	body := marshal(payload)
	var ans struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := postJSON(ctx, s.hc, s.ch.URL, nil, body, &ans); err != nil {
		return err
	}
	return wecomError(ans.ErrCode, ans.ErrMsg, s.ch.RateWindow)
}

// wecomError classifies the robot's errcode.
func wecomError(code int, msg string, window time.Duration) error {
	c := strconv.Itoa(code)
	switch code {
	case 0:
		return nil
	case 45009, 45033:
		return &VendorError{Class: ClassRateLimit, Code: c, Msg: msg, Wait: window}
	case 40058, 45002:
		return &VendorError{Class: ClassTooLong, Code: c, Msg: msg}
	case 93000, 93004, 93008, 40014, 42001, 41001:
		return &VendorError{Class: ClassAuth, Code: c, Msg: msg}
	case -1:
		return &VendorError{Class: ClassTransient, Code: c, Msg: msg}
	default:
		return &VendorError{Class: ClassRejected, Code: c, Msg: msg}
	}
}

// dingSender posts to a DingTalk custom robot with the signature.
type dingSender struct {
	ch    configs.NotifyChannel
	hc    *http.Client
	now   func() time.Time
	block time.Duration // how long a 130101 blocks the robot (10 minutes)
}

func (s *dingSender) close() {}

// dingSign is urlencode(base64(HMAC-SHA256(secret, timestamp+"\n"+secret)))
// without the urlencode, which url.Values does.
func dingSign(secret string, ms int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ms, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (s *dingSender) send(ctx context.Context, m *message) error {
	u, err := url.Parse(s.ch.URL)
	if err != nil {
		return &VendorError{Class: ClassAuth, Code: "url", Msg: "bad URL"}
	}
	ms := s.now().UnixMilli()
	q := u.Query()
	q.Set("timestamp", strconv.FormatInt(ms, 10))
	q.Set("sign", dingSign(s.ch.Secret, ms))
	u.RawQuery = q.Encode()
	at := map[string]any{}
	if len(m.Mentions) > 0 {
		at["atMobiles"] = m.Mentions
	}
	var payload map[string]any
	if s.ch.Format == "text" {
		payload = map[string]any{"msgtype": "text", "text": map[string]any{"content": m.Text}, "at": at}
	} else {
		payload = map[string]any{"msgtype": "markdown", "markdown": map[string]any{"title": m.Title, "text": m.Text}, "at": at}
	}
	body := marshal(payload)
	var ans struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := postJSON(ctx, s.hc, u.String(), nil, body, &ans); err != nil {
		return err
	}
	c := strconv.Itoa(ans.ErrCode)
	switch ans.ErrCode {
	case 0:
		return nil
	case 130101, 130102:
		return &VendorError{Class: ClassRateLimit, Code: c, Msg: ans.ErrMsg, Wait: s.block}
	case 460101:
		return &VendorError{Class: ClassTooLong, Code: c, Msg: ans.ErrMsg}
	case 310000, 300001, 400101, 400102, 410100, 300005:
		return &VendorError{Class: ClassAuth, Code: c, Msg: ans.ErrMsg}
	case -1:
		return &VendorError{Class: ClassTransient, Code: c, Msg: ans.ErrMsg}
	default:
		return &VendorError{Class: ClassRejected, Code: c, Msg: ans.ErrMsg}
	}
}
