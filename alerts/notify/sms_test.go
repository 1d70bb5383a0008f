package notify

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"snowhub/alerts/notify/vendorfake"
	"snowhub/configs"
)

func classOf(err error) Class {
	var ve *VendorError
	if errors.As(err, &ve) {
		return ve.Class
	}
	return -1
}

func TestAlibabaSignatureAndLimits(t *testing.T) {
	f := vendorfake.NewAlibabaSMS("LTAIkey", "alisecret")
	defer f.Close()
	f.DailyLimit = 2
	ch := configs.NotifyChannel{ID: "ali", Type: "sms", Provider: "alibaba", URL: f.URL + "/", KeyID: "LTAIkey",
		Secret: "alisecret", SignName: "长武县综治中心", TemplateCode: "SMS_123"}
	s := &alibabaSender{ch: ch, hc: http.DefaultClient, now: time.Now}
	m := &message{Phones: []string{"13800000001"}, Params: smsParams{Sev: "紧急", Title: "烟雾 报警+*~", Place: "昭仁街道 东街社区", Step: "新事件", ID: "INC-1"}}
	for i := range 2 {
		if err := s.send(context.Background(), m); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := s.send(context.Background(), m); classOf(err) != ClassBudget || !strings.Contains(err.Error(), "isv.BUSINESS_LIMIT_CONTROL") {
		t.Fatalf("third send in a day: %v, want the budget refusal", err)
	}
	bad := &alibabaSender{ch: ch, hc: http.DefaultClient, now: time.Now}
	bad.ch.Secret = "wrong"
	if err := bad.send(context.Background(), m); classOf(err) != ClassAuth || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret: %v", err)
	}
	skew := &alibabaSender{ch: ch, hc: http.DefaultClient, now: func() time.Time { return time.Now().Add(-time.Hour) }}
	if err := skew.send(context.Background(), m); classOf(err) != ClassAuth {
		t.Fatalf("an hour's clock skew: %v", err)
	}
	got := f.Messages()
	if len(got) != 2 || !strings.Contains(got[0].Content, `"title":"烟雾 报警+*~"`) {
		t.Fatalf("accepted %+v", got)
	}
}

func TestTencentSignatureAndLimits(t *testing.T) {
	f := vendorfake.NewTencentSMS("AKIDtest", "tcsecret")
	defer f.Close()
	ch := configs.NotifyChannel{ID: "tc", Type: "sms", Provider: "tencent", URL: f.URL + "/", KeyID: "AKIDtest",
		Secret: "tcsecret", SignName: "长武县综治中心", TemplateCode: "1110", AppID: "1400006666", Region: "ap-guangzhou",
		Spacing: 30 * time.Second}
	s := &tencentSender{ch: ch, hc: http.DefaultClient, now: time.Now}
	m := &message{Phones: []string{"13800000001", "13800000002"}, Params: smsParams{Sev: "紧急", Title: "烟雾报警", Place: "东街社区", Step: "新事件", ID: "INC-1"}}
	if err := s.send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	err := s.send(context.Background(), m)
	var ve *VendorError
	if !errors.As(err, &ve) || ve.Class != ClassRateLimit || ve.Code != "LimitExceeded.PhoneNumberThirtySecondLimit" || len(ve.Phones) != 2 {
		t.Fatalf("same content again at once: %v", err)
	}
	m2 := *m
	m2.Params.ID = "INC-2"
	f.DailyLimit = 1
	if err := s.send(context.Background(), &m2); classOf(err) != ClassBudget {
		t.Fatalf("over the daily limit: %v", err)
	}
	bad := &tencentSender{ch: ch, hc: http.DefaultClient, now: time.Now}
	bad.ch.Secret = "nope"
	if err := bad.send(context.Background(), &m2); classOf(err) != ClassAuth || !strings.Contains(err.Error(), "AuthFailure.SignatureFailure") {
		t.Fatalf("wrong key: %v", err)
	}
	skew := &tencentSender{ch: ch, hc: http.DefaultClient, now: func() time.Time { return time.Now().Add(10 * time.Minute) }}
	if err := skew.send(context.Background(), &m2); classOf(err) != ClassAuth || !strings.Contains(err.Error(), "SignatureExpire") {
		t.Fatalf("ten minutes ahead: %v", err)
	}
	if n := len(f.Messages()); n != 2 {
		t.Fatalf("accepted %d, want 2", n)
	}
}

// A number whose budget the cloud says is spent falls to the route's next
// channel (here a county carrier's gateway); the history says so.
func TestSMSBudgetFallsToNextChannel(t *testing.T) {
	ali := vendorfake.NewAlibabaSMS("LTAIkey", "alisecret")
	defer ali.Close()
	ali.DailyLimit = 2 // the cloud's own count is lower than the hub's budget
	gw := vendorfake.NewGateway("gwtoken-123")
	defer gw.Close()
	cfg := parseNotify(t, `  channels:
    - {id: sms-ali, name: 阿里云短信, type: sms, provider: alibaba, url: "`+ali.URL+`/", key_id: LTAIkey, secret: alisecret, sign_name: 长武县综治中心, template_code: SMS_1, daily_budget: 3}
    - {id: sms-gw, name: 电信短信网关, type: sms, provider: http, url: "`+gw.URL+`/send", secret: gwtoken-123}
  routes:
    - {townships: [zhaoren], channels: [sms-ali, sms-gw], people: [li]}
`)
	src := NewMemSource()
	n := startNotifier(t, t.TempDir(), cfg, src, nil)
	for i := range 4 {
		src.Add(openStep(i+1, "zhaoren", "critical"))
	}
	waitFor(t, 10*time.Second, "4 texts", func() bool { return len(ali.Messages())+len(gw.Messages()) == 4 })
	if a, g := len(ali.Messages()), len(gw.Messages()); a != 2 || g != 2 {
		t.Fatalf("alibaba %d, gateway %d; want 2 and 2", a, g)
	}
	if !strings.Contains(gw.Messages()[0].Content, "INC-zh-0003") {
		t.Errorf("gateway text %q", gw.Messages()[0].Content)
	}
	lines, _ := n.HistoryLines("INC-zh-0003")
	joined := strings.Join(lines, "\n")
	if !strings.Contains(joined, "短信 阿里云短信 13800000001 转下一渠道") || !strings.Contains(joined, "短信 电信短信网关 13800000001 已送达") {
		t.Errorf("history of the third:\n%s", joined)
	}
}
