package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const notifyBase = `county: {id: changwu, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages: [{id: v-zr-01, name: 东街社区}]
users:
  - {name: ops, role: operator, token: "0123456789abcdef0123"}
`

func TestNotifyConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"template syntax, block scalar", `notify:
  templates:
    notice: |
      【{{.SeverityName}}】
      {{.Title}
`, []string{`t.yaml:12: notify.templates.notice: template: bad character U+007D '}'`}},
		{"template unknown field", `notify:
  templates:
    sms: "{{.Titel}}"
`, []string{`t.yaml:10: notify.templates.sms: template: executing "notify.templates.sms" at <.Titel>: map has no entry for key "Titel"`}},
		{"route to an unknown channel, township, step", `notify:
  channels:
    - {id: g1, type: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"}
  routes:
    - {townships: [nowhere], steps: [opne], channels: [g1, g2]}
`, []string{`t.yaml:12: notify.routes[0].channels[1]: no channel "g2" in notify.channels`,
			`t.yaml:12: notify.routes[0].steps[0]: "opne": use one of`,
			`t.yaml:12: notify.routes[0].townships[0]: unknown township "nowhere"`}},
		{"dingtalk without its secret, token not echoed", `notify:
  channels:
    - {id: d1, type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=SECRETTOKEN"}
    - {id: d2, type: dingtalk, url: "ftp://oapi.dingtalk.com/robot/send?access_token=SECRETTOKEN", secret: x}
`, []string{`t.yaml:10: notify.channels[0].secret: a DingTalk robot is used with its signing secret`,
			`t.yaml:11: notify.channels[1].url: "ftp://oapi.dingtalk.com/robot/send?access_token=%2A%2A%2A" is not an http(s) URL`}},
		{"sms missing fields", `notify:
  channels:
    - {id: s1, type: sms, provider: alibaba, key_id: K}
    - {id: s2, type: sms, provider: huawei, url: "https://x"}
`, []string{`t.yaml:10: notify.channels[0]: an alibaba SMS channel needs key_id, secret`,
			`t.yaml:11: notify.channels[1].provider: "huawei": use alibaba, tencent or http`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(notifyBase+tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			got := err.Error()
			if strings.Contains(got, "SECRETTOKEN") {
				t.Errorf("error shows the robot's token:\n%s", got)
			}
			lines := strings.Split(got, "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(lines), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d:\n got %s\nwant %s…", i, lines[i], w)
				}
			}
		})
	}
}

func TestNotifySecretsAndDefaults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ding.secret"), []byte("SECfromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(NotifyEnvSecret("hook-12345"), "fromenv")
	path := filepath.Join(dir, "c.yaml")
	cfg, err := Parse(path, []byte(notifyBase+`notify:
  channels:
    - {id: d1, type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=T", secret_file: ding.secret}
    - {id: hook-12345, type: webhook, url: "https://12345.example.cn/hook", secret: inthefile}
    - {id: w1, type: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", format: text}
    - {id: s1, type: sms, provider: tencent, key_id: AKID, secret: x, sign_name: 长武县, template_code: "1", app_id: "14"}
  routes:
    - {channels: [d1, w1]}
`))
	if err != nil {
		t.Fatal(err)
	}
	ch := cfg.Notify.Channels
	if ch[0].Secret != "SECfromfile" || ch[1].Secret != "fromenv" {
		t.Errorf("secrets: %q %q", ch[0].Secret, ch[1].Secret)
	}
	if ch[0].MaxBytes != 20000 || ch[0].RateLimit != 20 || ch[0].Format != "markdown" || ch[2].MaxBytes != 2048 {
		t.Errorf("robot defaults: %+v / %+v", ch[0], ch[2])
	}
	if ch[3].URL != "https://sms.tencentcloudapi.com/" || ch[3].Region != "ap-guangzhou" || ch[3].DailyBudget != 10 {
		t.Errorf("tencent defaults: %+v", ch[3])
	}
	if s := ch[0].String(); strings.Contains(s, "SECfromfile") || strings.Contains(s, "access_token=T") {
		t.Errorf("String() shows a secret: %s", s)
	}
}
