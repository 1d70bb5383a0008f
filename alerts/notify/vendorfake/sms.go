package vendorfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// phoneLimits keeps the per-number limits both SMS clouds enforce.
type phoneLimits struct {
	day  map[string]*window   // phone (+ sign + template) → sends in the last day
	last map[string]time.Time // phone + content → last send
}

func newPhoneLimits() phoneLimits {
	return phoneLimits{day: map[string]*window{}, last: map[string]time.Time{}}
}

func (p *phoneLimits) dayCount(key string, now time.Time, day time.Duration) int {
	w := p.day[key]
	if w == nil {
		w = &window{}
		p.day[key] = w
	}
	return w.add(now, day)
}

func (p *phoneLimits) undo(key string) {
	if w := p.day[key]; w != nil && len(w.times) > 0 {
		w.times = w.times[:len(w.times)-1]
	}
}

// AlibabaSMS is a fake of Alibaba Cloud's SendSms (dysmsapi, version
// 2017-05-25) called RPC-style with the V3 signature ACS3-HMAC-SHA256: the
// parameters in the query string, an empty body, and
//
//	Authorization: ACS3-HMAC-SHA256 Credential=AccessKeyId,SignedHeaders=h1;h2,Signature=hex
//
// where Signature = hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" +
// hex(SHA256(CanonicalRequest)))). A number receives at most DailyLimit
// notifications per signature and template in a day (50), then
// isv.BUSINESS_LIMIT_CONTROL.
type AlibabaSMS struct {
	log
	*httptest.Server

	DailyLimit int
	Day        time.Duration
	MaxSkew    time.Duration
	Now        func() time.Time

	mu     sync.Mutex
	keys   map[string]string // AccessKeyId → secret
	nonces map[string]bool
	limits phoneLimits
}

// NewAlibabaSMS starts the fake with one access key.
func NewAlibabaSMS(keyID, secret string) *AlibabaSMS {
	f := &AlibabaSMS{DailyLimit: 50, Day: 24 * time.Hour, MaxSkew: 15 * time.Minute,
		keys: map[string]string{keyID: secret}, nonces: map[string]bool{}, limits: newPhoneLimits()}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *AlibabaSMS) answer(w http.ResponseWriter, status int, code, msg string, extra map[string]any) {
	if code != "OK" {
		f.refuse(code)
	}
	body := map[string]any{"RequestId": "fake-" + strconv.FormatInt(time.Now().UnixNano(), 36), "Code": code, "Message": msg}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// acsEncode is the percent-encoding of the V3 signature: RFC 3986, space as
// %20, '~' left alone.
func acsEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

func (f *AlibabaSMS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	now := nowOr(f.Now)
	auth := r.Header.Get("Authorization")
	const algo = "ACS3-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		f.answer(w, 400, "MissingAuthorization", "Authorization is mandatory for this action.", nil)
		return
	}
	parts := map[string]string{}
	for _, p := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
			parts[k] = v
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	secret, ok := f.keys[parts["Credential"]]
	if !ok {
		f.answer(w, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", nil)
		return
	}
	sum := sha256.Sum256(body)
	if r.Header.Get("x-acs-content-sha256") != hex.EncodeToString(sum[:]) {
		f.answer(w, 400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.", nil)
		return
	}
	// Rebuild the canonical request from what arrived.
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cq []string
	for _, k := range keys {
		cq = append(cq, acsEncode(k)+"="+acsEncode(q.Get(k)))
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	var ch strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		fmt.Fprintf(&ch, "%s:%s\n", h, strings.TrimSpace(v))
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon := strings.Join([]string{r.Method, path, strings.Join(cq, "&"), ch.String(), parts["SignedHeaders"], r.Header.Get("x-acs-content-sha256")}, "\n")
	ch2 := sha256.Sum256([]byte(canon))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(ch2[:])))
	if !hmac.Equal([]byte(parts["Signature"]), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		f.answer(w, 400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", nil)
		return
	}
	for _, h := range []string{"host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce", "x-acs-version", "x-acs-content-sha256"} {
		found := false
		for _, s := range signed {
			found = found || s == h
		}
		if !found {
			f.answer(w, 400, "IncompleteSignature", "header "+h+" is not signed", nil)
			return
		}
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", r.Header.Get("x-acs-date"))
	if err != nil || now.Sub(ts) > f.MaxSkew || ts.Sub(now) > f.MaxSkew {
		f.answer(w, 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", nil)
		return
	}
	nonce := r.Header.Get("x-acs-signature-nonce")
	if f.nonces[nonce] {
		f.answer(w, 400, "SignatureNonceUsed", "Specified signature nonce was used already.", nil)
		return
	}
	f.nonces[nonce] = true
	if r.Header.Get("x-acs-action") != "SendSms" || r.Header.Get("x-acs-version") != "2017-05-25" {
		f.answer(w, 400, "InvalidAction.NotFound", "Specified api is not found.", nil)
		return
	}
	phones := strings.Split(q.Get("PhoneNumbers"), ",")
	if q.Get("PhoneNumbers") == "" || q.Get("SignName") == "" || q.Get("TemplateCode") == "" {
		f.answer(w, 400, "MissingParameter", "PhoneNumbers, SignName and TemplateCode are mandatory.", nil)
		return
	}
	var params map[string]string
	if tp := q.Get("TemplateParam"); tp != "" {
		if err := json.Unmarshal([]byte(tp), &params); err != nil {
			f.answer(w, 200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", nil)
			return
		}
	}
	// The limit is per number, signature and template; one refused number
	// refuses the request (the API answers one code per call).
	for i, p := range phones {
		key := p + "\x00" + q.Get("SignName") + "\x00" + q.Get("TemplateCode")
		if f.limits.dayCount(key, now, f.Day) > f.DailyLimit {
			for _, u := range phones[:i+1] {
				f.limits.undo(u + "\x00" + q.Get("SignName") + "\x00" + q.Get("TemplateCode"))
			}
			f.answer(w, 200, "isv.BUSINESS_LIMIT_CONTROL", fmt.Sprintf("触发天级流控Permits:%d", f.DailyLimit), nil)
			return
		}
	}
	content := q.Get("TemplateParam")
	for _, p := range phones {
		f.accept(Received{At: now, Target: p, MsgType: "sms", Content: content, Raw: []byte(r.URL.RawQuery)})
	}
	f.answer(w, 200, "OK", "OK", map[string]any{"BizId": strconv.FormatInt(now.UnixNano(), 10)})
}

// TencentSMS is a fake of Tencent Cloud's SendSms (version 2021-01-11) with
// the TC3-HMAC-SHA256 signature: a JSON body, X-TC-Action/-Timestamp/-Version
// headers, and
//
//	Authorization: TC3-HMAC-SHA256 Credential=SecretId/DATE/sms/tc3_request, SignedHeaders=content-type;host, Signature=hex
//
// with the signing key derived as HMAC("TC3"+SecretKey, DATE) → "sms" →
// "tc3_request". A timestamp more than five minutes off is
// AuthFailure.SignatureExpire. Per number: the same content once per
// Spacing (30 s), and DailyLimit a day, answered in SendStatusSet with
// LimitExceeded.PhoneNumberThirtySecondLimit / PhoneNumberDailyLimit.
type TencentSMS struct {
	log
	*httptest.Server

	DailyLimit int
	Day        time.Duration
	Spacing    time.Duration
	MaxSkew    time.Duration
	Now        func() time.Time

	mu     sync.Mutex
	keys   map[string]string
	limits phoneLimits
}

// NewTencentSMS starts the fake with one SecretId/SecretKey.
func NewTencentSMS(secretID, secretKey string) *TencentSMS {
	f := &TencentSMS{DailyLimit: 10, Day: 24 * time.Hour, Spacing: 30 * time.Second, MaxSkew: 5 * time.Minute,
		keys: map[string]string{secretID: secretKey}, limits: newPhoneLimits()}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func tcHMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func (f *TencentSMS) fail(w http.ResponseWriter, code, msg string) {
	f.refuse(code)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Response": map[string]any{
		"Error": map[string]string{"Code": code, "Message": msg}, "RequestId": "fake"}})
}

func (f *TencentSMS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	now := nowOr(f.Now)
	auth := r.Header.Get("Authorization")
	const algo = "TC3-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		f.fail(w, "AuthFailure.InvalidAuthorization", "请求头部的 Authorization 不符合腾讯云标准。")
		return
	}
	parts := map[string]string{}
	for _, p := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
			parts[k] = v
		}
	}
	cred := strings.Split(parts["Credential"], "/")
	if len(cred) != 4 || cred[2] != "sms" || cred[3] != "tc3_request" {
		f.fail(w, "AuthFailure.InvalidAuthorization", "Credential 格式错误")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	secret, ok := f.keys[cred[0]]
	if !ok {
		f.fail(w, "AuthFailure.SecretIdNotFound", "密钥不存在。")
		return
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		f.fail(w, "MissingParameter", "X-TC-Timestamp")
		return
	}
	if d := now.Sub(time.Unix(ts, 0)); d > f.MaxSkew || d < -f.MaxSkew {
		f.fail(w, "AuthFailure.SignatureExpire", "签名过期。Timestamp 和服务器时间相差不得超过五分钟。")
		return
	}
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	if cred[1] != date {
		f.fail(w, "AuthFailure.SignatureFailure", "Credential 的日期与 X-TC-Timestamp 不符")
		return
	}
	signed := parts["SignedHeaders"]
	var ch strings.Builder
	for _, h := range strings.Split(signed, ";") {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		fmt.Fprintf(&ch, "%s:%s\n", h, strings.ToLower(strings.TrimSpace(v)))
	}
	ph := sha256.Sum256(body)
	canon := strings.Join([]string{r.Method, "/", r.URL.RawQuery, ch.String(), signed, hex.EncodeToString(ph[:])}, "\n")
	ch2 := sha256.Sum256([]byte(canon))
	sts := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + date + "/sms/tc3_request\n" + hex.EncodeToString(ch2[:])
	k := tcHMAC(tcHMAC(tcHMAC([]byte("TC3"+secret), date), "sms"), "tc3_request")
	if !hmac.Equal([]byte(parts["Signature"]), []byte(hex.EncodeToString(tcHMAC(k, sts)))) {
		f.fail(w, "AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.")
		return
	}
	if !strings.Contains(signed, "content-type") || !strings.Contains(signed, "host") {
		f.fail(w, "AuthFailure.SignatureFailure", "content-type and host must be signed")
		return
	}
	if r.Header.Get("X-TC-Action") != "SendSms" || r.Header.Get("X-TC-Version") != "2021-01-11" {
		f.fail(w, "InvalidAction", "接口不存在。")
		return
	}
	var req struct {
		PhoneNumberSet   []string
		SmsSdkAppId      string
		SignName         string
		TemplateId       string
		TemplateParamSet []string
		SessionContext   string
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.PhoneNumberSet) == 0 || req.SmsSdkAppId == "" || req.TemplateId == "" {
		f.fail(w, "InvalidParameter", "PhoneNumberSet, SmsSdkAppId and TemplateId are required")
		return
	}
	content := req.TemplateId + "\x00" + strings.Join(req.TemplateParamSet, "\x00")
	var set []map[string]any
	for _, p := range req.PhoneNumberSet {
		st := map[string]any{"SerialNo": fmt.Sprintf("fake:%d", now.UnixNano()), "PhoneNumber": p, "Fee": 1,
			"SessionContext": req.SessionContext, "IsoCode": "CN", "Code": "Ok", "Message": "send success"}
		lastKey := p + "\x00" + content
		switch {
		case now.Sub(f.limits.last[lastKey]) < f.Spacing:
			st["Code"], st["Message"], st["Fee"] = "LimitExceeded.PhoneNumberThirtySecondLimit", "单个手机号30秒内下发短信条数超过设定的上限", 0
		case f.limits.dayCount(p, now, f.Day) > f.DailyLimit:
			f.limits.undo(p)
			st["Code"], st["Message"], st["Fee"] = "LimitExceeded.PhoneNumberDailyLimit", "单个手机号日下发短信条数超过设定的上限", 0
		default:
			f.limits.last[lastKey] = now
			f.accept(Received{At: now, Target: p, MsgType: "sms", Content: strings.Join(req.TemplateParamSet, " "), Raw: body})
		}
		if st["Code"] != "Ok" {
			f.refuse(st["Code"].(string))
		}
		set = append(set, st)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Response": map[string]any{"SendStatusSet": set, "RequestId": "fake"}})
}

// Gateway is a fake of a county carrier's plain HTTP SMS gateway: a JSON
// POST {"to":[...],"content":"..."} with a bearer token.
type Gateway struct {
	log
	*httptest.Server
	Token string
}

// NewGateway starts the fake.
func NewGateway(token string) *Gateway {
	g := &Gateway{Token: token}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	return g
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+g.Token {
		g.refuse("401")
		http.Error(w, `{"code":401,"message":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		To      []string `json:"to"`
		Content string   `json:"content"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &req); err != nil || len(req.To) == 0 {
		g.refuse("400")
		http.Error(w, `{"code":400,"message":"bad request"}`, http.StatusBadRequest)
		return
	}
	for _, p := range req.To {
		g.accept(Received{At: time.Now(), Target: p, MsgType: "sms", Content: req.Content, Raw: body})
	}
	_, _ = w.Write([]byte(`{"code":0,"message":"ok"}`))
}
