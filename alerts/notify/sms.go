package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"snowhub/configs"
)

// The SMS clouds' official Go SDKs are not used: neither is served by the
// module proxy this project builds from, and each signature is one page of
// documented arithmetic (README, dependency table).

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// acsPercent is ACS3's percent-encoding: RFC 3986 unreserved characters
// kept, everything else %XX, space as %20.
func acsPercent(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// alibabaSender calls Alibaba Cloud SendSms (dysmsapi 2017-05-25) with the
// V3 signature ACS3-HMAC-SHA256, RPC style: parameters in the query.
type alibabaSender struct {
	ch  configs.NotifyChannel
	hc  *http.Client
	now func() time.Time
}

func (s *alibabaSender) close() {}

// signACS3 signs req (whose body hash is payloadHash) in place.
func signACS3(req *http.Request, keyID, secret, payloadHash string) {
	q := req.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cq []string
	for _, k := range keys {
		cq = append(cq, acsPercent(k)+"="+acsPercent(q.Get(k)))
	}
	// Re-encode the query the same way, so what is signed is what is sent.
	req.URL.RawQuery = strings.Join(cq, "&")
	names := []string{"host"}
	for k := range req.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-acs-") || lk == "content-type" {
			names = append(names, lk)
		}
	}
	sort.Strings(names)
	var ch strings.Builder
	for _, h := range names {
		v := req.Header.Get(h)
		if h == "host" {
			v = req.URL.Host
		}
		ch.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	signed := strings.Join(names, ";")
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon := strings.Join([]string{req.Method, path, req.URL.RawQuery, ch.String(), signed, payloadHash}, "\n")
	sig := hex.EncodeToString(hmacSHA256([]byte(secret), "ACS3-HMAC-SHA256\n"+sha256Hex([]byte(canon))))
	req.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+keyID+",SignedHeaders="+signed+",Signature="+sig)
}

func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *alibabaSender) send(ctx context.Context, m *message) error {
	u, err := url.Parse(s.ch.URL)
	if err != nil {
		return &VendorError{Class: ClassAuth, Code: "url", Msg: "bad URL"}
	}
	params, _ := json.Marshal(map[string]string{"sev": m.Params.Sev, "title": m.Params.Title,
		"place": m.Params.Place, "step": m.Params.Step, "id": m.Params.ID})
	q := url.Values{}
	q.Set("PhoneNumbers", strings.Join(m.Phones, ","))
	q.Set("SignName", s.ch.SignName)
	q.Set("TemplateCode", s.ch.TemplateCode)
	q.Set("TemplateParam", string(params))
	q.Set("OutId", m.Params.ID)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return &VendorError{Class: ClassAuth, Code: "url", Msg: "bad URL"}
	}
	empty := sha256Hex(nil)
	req.Header.Set("x-acs-action", "SendSms")
	req.Header.Set("x-acs-version", "2017-05-25")
	req.Header.Set("x-acs-date", s.now().UTC().Format("2006-01-02T15:04:05Z"))
	req.Header.Set("x-acs-signature-nonce", nonce())
	req.Header.Set("x-acs-content-sha256", empty)
	signACS3(req, s.ch.KeyID, s.ch.Secret, empty)
	var ans struct {
		Code, Message string
	}
	if err := doJSON(s.hc, req, &ans); err != nil {
		// Alibaba answers its own errors with 4xx and a JSON body.
		if ve := classify(err); ve.Code != "network" && ans.Code != "" {
			return alibabaError(ans.Code, ans.Message, m.Phones)
		}
		return err
	}
	return alibabaError(ans.Code, ans.Message, m.Phones)
}

func alibabaError(code, msg string, phones []string) error {
	switch {
	case code == "OK":
		return nil
	case code == "isv.BUSINESS_LIMIT_CONTROL" || code == "isv.DAY_LIMIT_CONTROL":
		return &VendorError{Class: ClassBudget, Code: code, Msg: msg, Phones: phones}
	case code == "Throttling" || strings.HasPrefix(code, "Throttling."):
		return &VendorError{Class: ClassRateLimit, Code: code, Msg: msg, Wait: time.Second}
	case strings.HasPrefix(code, "InvalidAccessKeyId") || code == "SignatureDoesNotMatch" || code == "IncompleteSignature" ||
		strings.HasPrefix(code, "InvalidTimeStamp") || code == "SignatureNonceUsed" || code == "Forbidden.RAM" ||
		code == "isv.SMS_SIGNATURE_ILLEGAL" || code == "isv.SMS_TEMPLATE_ILLEGAL" || code == "isv.ACCOUNT_ABNORMAL" || code == "isv.OUT_OF_SERVICE":
		return &VendorError{Class: ClassAuth, Code: code, Msg: msg}
	case code == "isp.SYSTEM_ERROR" || code == "ServiceUnavailable" || code == "InternalError":
		return &VendorError{Class: ClassTransient, Code: code, Msg: msg}
	default:
		return &VendorError{Class: ClassRejected, Code: code, Msg: msg, Phones: phones}
	}
}

// doJSON runs req and decodes its JSON answer into out even on 4xx (the
// clouds explain refusals in the body); it returns the transport class.
func doJSON(hc *http.Client, req *http.Request, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &VendorError{Class: ClassTransient, Code: "network", Msg: err.Error()}
	}
	defer resp.Body.Close()
	derr := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(out)
	if resp.StatusCode >= 500 {
		return &VendorError{Class: ClassTransient, Code: strconv.Itoa(resp.StatusCode), Msg: resp.Status}
	}
	if derr != nil {
		return &VendorError{Class: ClassTransient, Code: "answer", Msg: "unreadable answer (" + resp.Status + ")"}
	}
	if resp.StatusCode >= 400 {
		return &VendorError{Class: ClassRejected, Code: strconv.Itoa(resp.StatusCode), Msg: resp.Status}
	}
	return nil
}

// tencentSender calls Tencent Cloud SendSms (2021-01-11) with TC3-HMAC-SHA256.
type tencentSender struct {
	ch  configs.NotifyChannel
	hc  *http.Client
	now func() time.Time
}

func (s *tencentSender) close() {}

// signTC3 signs a POST of payload to host at ts for service.
func signTC3(secretID, secretKey, service, host, action string, ts int64, payload []byte) (auth string) {
	const ct = "application/json; charset=utf-8"
	canonHeaders := "content-type:" + ct + "\nhost:" + host + "\nx-tc-action:" + strings.ToLower(action) + "\n"
	signed := "content-type;host;x-tc-action"
	canon := "POST\n/\n\n" + canonHeaders + "\n" + signed + "\n" + sha256Hex(payload)
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	scope := date + "/" + service + "/tc3_request"
	sts := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + sha256Hex([]byte(canon))
	k := hmacSHA256(hmacSHA256(hmacSHA256([]byte("TC3"+secretKey), date), service), "tc3_request")
	sig := hex.EncodeToString(hmacSHA256(k, sts))
	return "TC3-HMAC-SHA256 Credential=" + secretID + "/" + scope + ", SignedHeaders=" + signed + ", Signature=" + sig
}

func (s *tencentSender) send(ctx context.Context, m *message) error {
	u, err := url.Parse(s.ch.URL)
	if err != nil {
		return &VendorError{Class: ClassAuth, Code: "url", Msg: "bad URL"}
	}
	phones := make([]string, len(m.Phones))
	for i, p := range m.Phones {
		phones[i] = e164(p)
	}
	payload, _ := json.Marshal(map[string]any{"PhoneNumberSet": phones, "SmsSdkAppId": s.ch.AppID,
		"SignName": s.ch.SignName, "TemplateId": s.ch.TemplateCode, "SessionContext": m.Params.ID,
		"TemplateParamSet": []string{m.Params.Sev, m.Params.Title, m.Params.Place, m.Params.Step, m.Params.ID}})
	ts := s.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(string(payload)))
	if err != nil {
		return &VendorError{Class: ClassAuth, Code: "url", Msg: "bad URL"}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-TC-Action", "SendSms")
	req.Header.Set("X-TC-Version", "2021-01-11")
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-TC-Region", s.ch.Region)
	req.Header.Set("Authorization", signTC3(s.ch.KeyID, s.ch.Secret, "sms", u.Host, "SendSms", ts, payload))
	var ans struct {
		Response struct {
			Error         *struct{ Code, Message string }
			SendStatusSet []struct {
				PhoneNumber, Code, Message string
			}
		}
	}
	if err := doJSON(s.hc, req, &ans); err != nil {
		return err
	}
	if e := ans.Response.Error; e != nil {
		switch {
		case strings.HasPrefix(e.Code, "AuthFailure") || strings.HasPrefix(e.Code, "UnauthorizedOperation") ||
			e.Code == "FailedOperation.SignatureIncorrectOrUnapproved" || e.Code == "FailedOperation.TemplateIncorrectOrUnapproved" ||
			e.Code == "InvalidParameterValue.SdkAppIdNotExist":
			return &VendorError{Class: ClassAuth, Code: e.Code, Msg: e.Message}
		case strings.HasPrefix(e.Code, "RequestLimitExceeded"):
			return &VendorError{Class: ClassRateLimit, Code: e.Code, Msg: e.Message, Wait: time.Second}
		case strings.HasPrefix(e.Code, "InternalError"):
			return &VendorError{Class: ClassTransient, Code: e.Code, Msg: e.Message}
		case e.Code == "InvalidParameterValue.ContentLengthLimit":
			return &VendorError{Class: ClassTooLong, Code: e.Code, Msg: e.Message}
		default:
			return &VendorError{Class: ClassRejected, Code: e.Code, Msg: e.Message, Phones: m.Phones}
		}
	}
	// Per-number answers: a number over its limit is refused alone.
	var spaced, spent, rejected []string
	var code, msg string
	for i, st := range ans.Response.SendStatusSet {
		orig := st.PhoneNumber
		if i < len(m.Phones) {
			orig = m.Phones[i]
		}
		switch {
		case strings.EqualFold(st.Code, "Ok"):
		case st.Code == "LimitExceeded.PhoneNumberThirtySecondLimit" || st.Code == "LimitExceeded.PhoneNumberOneHourLimit":
			spaced = append(spaced, orig)
			code, msg = st.Code, st.Message
		case strings.HasPrefix(st.Code, "LimitExceeded."):
			spent = append(spent, orig)
			code, msg = st.Code, st.Message
		default:
			rejected = append(rejected, orig)
			code, msg = st.Code, st.Message
		}
	}
	switch {
	case len(spent) > 0:
		return &VendorError{Class: ClassBudget, Code: code, Msg: msg, Phones: spent}
	case len(spaced) > 0:
		return &VendorError{Class: ClassRateLimit, Code: code, Msg: msg, Phones: spaced, Wait: s.ch.Spacing}
	case len(rejected) > 0:
		return &VendorError{Class: ClassRejected, Code: code, Msg: msg, Phones: rejected}
	}
	return nil
}

// e164 writes a mainland number as +86…, as Tencent asks.
func e164(p string) string {
	if strings.HasPrefix(p, "+") {
		return p
	}
	return "+86" + p
}

// gatewaySender posts to a county carrier's plain HTTP SMS gateway:
// {"to":[...],"content":"...","id":"step id"} with a bearer token.
type gatewaySender struct {
	ch configs.NotifyChannel
	hc *http.Client
}

func (s *gatewaySender) close() {}

func (s *gatewaySender) send(ctx context.Context, m *message) error {
	body, _ := json.Marshal(map[string]any{"to": m.Phones, "content": m.Text, "id": m.Params.ID})
	hdr := http.Header{}
	if s.ch.Secret != "" {
		hdr.Set("Authorization", "Bearer "+s.ch.Secret)
	}
	var ans struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := postJSON(ctx, s.hc, s.ch.URL, hdr, body, &ans); err != nil {
		return err
	}
	if ans.Code != 0 {
		return &VendorError{Class: ClassRejected, Code: strconv.Itoa(ans.Code), Msg: ans.Message, Phones: m.Phones}
	}
	return nil
}
