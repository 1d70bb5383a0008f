package configs

import (
	"strings"
	"testing"
)

func TestSecretsFoundAndRedacted(t *testing.T) {
	y := `county: {id: c, name: C}
townships:
  - id: t1
    name: T1
    villages: [{id: v1, name: V1}]
cameras:
  - {id: cam-1, village: v1, url: "rtsp://admin:Cam3ra-Pa55@10.0.0.5/ch1", key: true}
sensors:
  - {id: smoke-1, kind: smoke, village: v1}
mqtt:
  password: mqtt-Pa55word
  device_users: [{username: gw, password: gw-Pa55word, villages: [v1]}]
influx: {token: "admin:influx-Pa55"}
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
`
	c, err := Parse("c.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Secrets(), " ")
	for _, want := range []string{"Cam3ra-Pa55", "mqtt-Pa55word", "gw-Pa55word", "influx-Pa55", "admin:influx-Pa55", "ops-token-0123456789"} {
		if !strings.Contains(got, want) {
			t.Errorf("secret %q not found in %q", want, got)
		}
	}
	if strings.Contains(got, "cam-1") || strings.Contains(got, "smoke") {
		t.Errorf("non-secrets listed: %q", got)
	}
	r := NewRedactor(c.Secrets())
	line := `level=WARN msg="x" url=rtsp://admin:Cam3ra-Pa55@10.0.0.5 json="{\"token\":\"ops-token-0123456789\"}" pw=mqtt-Pa55word`
	if out := r.String(line); strings.Contains(out, "Pa55") || strings.Contains(out, "0123456789") {
		t.Fatalf("not redacted: %s", out)
	}
}

func TestWhereOnlyShowsNoValue(t *testing.T) {
	_, err := Parse("c.yaml", []byte("county: {id: c, name: C}\nmqtt: {broker: \"tcp://u:Secr3t-Value@:bad\"}\nlisten: 12\n"))
	if err == nil {
		t.Fatal("no error")
	}
	w := WhereOnly(err)
	if strings.Contains(w, "Secr3t") || !strings.Contains(w, "c.yaml:2: mqtt.broker") {
		t.Fatalf("WhereOnly = %q (from %v)", w, err)
	}
}
