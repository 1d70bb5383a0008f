package configs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleIsValid(t *testing.T) {
	c, err := Load("example.yaml")
	if err != nil {
		t.Fatalf("example.yaml: %v", err)
	}
	if got, want := c.Summary(), "ok: 1 county, 2 townships, 6 villages, 12 cameras, 20 sensors"; got != want {
		t.Fatalf("Summary() = %q, want %q", got, want)
	}
	if len(c.Users) != 4 {
		t.Fatalf("users = %d, want 4", len(c.Users))
	}
	// Defaults filled in code, explicit values kept.
	if c.Cameras[3].Transport != "tcp" || c.Cameras[1].Transport != "auto" {
		t.Errorf("transports = %q, %q", c.Cameras[3].Transport, c.Cameras[1].Transport)
	}
	if c.Camera.BackoffMax != time.Minute || c.Influx.BatchSize != 5000 || c.MQTT.MaxPayload != 64<<10 {
		t.Errorf("defaults not applied: %+v %+v", c.Camera, c.Influx)
	}
	if c.Alerts.Deadlines["critical"].Accept != Dur(5*time.Minute) {
		t.Errorf("critical accept deadline = %v", c.Alerts.Deadlines["critical"].Accept)
	}
}

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		file string
		want []string // every line of the error, in order
	}{
		{"duplicate-id.yaml", []string{
			`duplicate-id.yaml:9: cameras[1].id: duplicate id "cam-0001" (first used at cameras[0].id)`,
			`duplicate-id.yaml:11: sensors[0].id: duplicate id "v-zr-01" (first used at townships[0].villages[0].id)`}},
		{"unknown-village.yaml", []string{`unknown-village.yaml:9: cameras[0].village: unknown village "v-zr-99"`}},
		{"bad-url.yaml", []string{
			`bad-url.yaml:8: cameras[0].url: scheme "http": use rtsp:// or rtsps://`,
			`bad-url.yaml:9: cameras[1].url: the URL has no host`,
			`bad-url.yaml:10: cameras[2].transport: "quic": use auto, tcp or udp`}},
		{"unknown-key.yaml", []string{
			`unknown-key.yaml:11: cameras[0].transprot: unknown key (did you mean "transport"?)`,
			`unknown-key.yaml:14: listne: unknown key (did you mean "listen"?)`}},
		{"wrong-type.yaml", []string{
			`wrong-type.yaml:8: cameras[0].fps: expected a number, found "fast"`,
			`wrong-type.yaml:8: cameras[0].watch: expected true or false, found "yes please"`,
			`wrong-type.yaml:10: camera.stall_after: "5" is not a duration (use units: 500ms, 30s, 5m, 2h)`,
			`wrong-type.yaml:11: users: expected a list, found a mapping`}},
		// An unknown key does not hide the file's other problems.
		{"many-problems.yaml", []string{
			`many-problems.yaml:9: cameras[1].id: duplicate id "cam-0001" (first used at cameras[0].id)`,
			`many-problems.yaml:9: cameras[1].village: unknown village "v-zr-99"`,
			`many-problems.yaml:11: sensors[0].colour: unknown key`}},
		{"substream.yaml", []string{
			"substream.yaml:8: cameras[0].substream_url: auto: cannot derive a sub-stream from this url (Hikvision …/Channels/101, …/h264/ch1/main/av_stream; Dahua …?subtype=0; Uniview …/media/video1); give the sub-stream's url",
			`substream.yaml:9: cameras[1].substream_url: scheme "http": use rtsp:// or rtsps://`}},
		{"tabs.yaml", []string{`tabs.yaml:3: tab in indentation: YAML indents with spaces`}},
		{"empty.yaml", []string{`empty.yaml:1: the file is empty; a configuration needs at least county, townships and users`}},
		{"deep-nesting.yaml", []string{`deep-nesting.yaml:1: nested deeper than 32 levels`}},
		{"users.yaml", []string{
			`users.yaml:8: users[0].token: too short: at least 16 characters`,
			`users.yaml:9: users[1].township: unknown township "nowhere"`,
			`users.yaml:10: users[2].token: the same token as user "desk"`,
			`users.yaml:10: users[2].township: only township users belong to a township (role is technician)`,
			`users.yaml:11: users[3].role: "mayor": use one of operator, township, technician, admin, village, department, hub, security_admin, auditor, display`}},
		{"logins.yaml", []string{
			`logins.yaml:8: users[0].password_hash: 不是 PHC 格式 ($argon2id$v=19$m=…,t=…,p=…$盐$哈希) / not a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash): make one with snowhub -hash-password`,
			`logins.yaml:9: users[1].password_hash: 算法 "argon2i" 不受支持，只用 argon2id / algorithm "argon2i": only argon2id is accepted`,
			`logins.yaml:10: users[2].token: no token: set token, token_file or SNOWHUB_USER_WALL_TOKEN, or password_hash to log in with a password`,
			`logins.yaml:10: users[2].totp_secret: a second factor needs a password first: set password_hash`,
			`logins.yaml:11: users[3].totp_secret: not base32 (A-Z, 2-7), as an authenticator app shows it`,
			`logins.yaml:12: users[4].totp_secret: too short: at least 16 bytes (26 base32 characters)`,
			`logins.yaml:12: users[4].township: only township users belong to a township (role is auditor)`,
			`logins.yaml:13: users[5].password_hash: another hub logs in with its token, not a password`,
			`logins.yaml:13: users[5].token: no token: set token, token_file or SNOWHUB_USER_CITY_TOKEN, or password_hash to log in with a password`,
			`logins.yaml:15: auth.idle_timeout: must be positive`,
			`logins.yaml:16: auth.lockout_failures: must be at least 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			_, err := Load(path)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load(%s) = %v, want Errors", tt.file, err)
			}
			got := strings.Split(err.Error(), "\n")
			for i := range tt.want {
				tt.want[i] = "testdata/bad/" + tt.want[i]
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestHugeFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	body := strings.Repeat("# padding padding padding padding padding padding padding padding\n", 10<<20/66+1)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "the limit is 8388608 (8 MiB)") || !strings.HasPrefix(err.Error(), path+": ") {
		t.Fatalf("Load(10 MB) = %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "testdata/no-such-file.yaml: ") {
		t.Fatalf("Load(missing) = %v", err)
	}
}

const minimal = `county: {id: changwu, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: 东街社区}
mqtt:
  password_file: mqtt.pass
users:
  - {name: county-ops, role: operator, token_file: ops.token}
  - {name: tech-1, role: technician}
`

func TestSecretsFromFilesAndEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("snowhub.yaml", minimal)
	write("ops.token", "ops-token-from-file-0001\n")
	write("mqtt.pass", "broker-secret\n")
	t.Setenv("SNOWHUB_USER_TECH_1_TOKEN", "tech-token-from-env-0001")
	t.Setenv("SNOWHUB_INFLUX_TOKEN", "user:pass")
	c, err := Load(filepath.Join(dir, "snowhub.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Users[0].Token != "ops-token-from-file-0001" || c.Users[1].Token != "tech-token-from-env-0001" {
		t.Errorf("tokens = %q, %q", c.Users[0].Token, c.Users[1].Token)
	}
	if c.MQTT.Password != "broker-secret" || c.Influx.Token != "user:pass" {
		t.Errorf("mqtt password %q, influx token %q", c.MQTT.Password, c.Influx.Token)
	}

	// Without the variable, the technician has no token: named, with the variable to set.
	t.Setenv("SNOWHUB_USER_TECH_1_TOKEN", "")
	_, err = Load(filepath.Join(dir, "snowhub.yaml"))
	if err == nil || !strings.Contains(err.Error(), "snowhub.yaml:11: users[1].token: no token: set token, token_file or SNOWHUB_USER_TECH_1_TOKEN") {
		t.Fatalf("err = %v", err)
	}
	// An unreadable secret file is named.
	os.Remove(filepath.Join(dir, "mqtt.pass"))
	t.Setenv("SNOWHUB_USER_TECH_1_TOKEN", "tech-token-from-env-0001")
	_, err = Load(filepath.Join(dir, "snowhub.yaml"))
	if err == nil || !strings.Contains(err.Error(), "snowhub.yaml:8: mqtt.password_file: cannot read secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestDiff(t *testing.T) {
	old, err := Parse("old.yaml", Example)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := Parse("new.yaml", Example)
	if ch := Diff(old, cur); ch.String() != "no change" || len(ch.NeedsRestart) != 0 {
		t.Fatalf("Diff(same) = %s %v", ch, ch.NeedsRestart)
	}
	cur.Cameras = cur.Cameras[1:]                             // cam-0001 removed
	cur.Cameras[0].URL = "rtsp://10.20.0.66/x"                // cam-0002 changed
	cur.Cameras = append(cur.Cameras, Camera{ID: "cam-0100"}) // added
	cur.Sensors[0].Kind = "gas"                               // smoke-0001 changed
	cur.Listen = "0.0.0.0:8080"                               // cannot change live
	cur.Influx.URL = "http://10.0.0.9:8086"                   // cannot change live
	ch := Diff(old, cur)
	check := func(name string, got []string, want ...string) {
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("CamerasAdded", ch.CamerasAdded, "cam-0100")
	check("CamerasRemoved", ch.CamerasRemoved, "cam-0001")
	check("CamerasChanged", ch.CamerasChanged, "cam-0002")
	check("SensorsChanged", ch.SensorsChanged, "smoke-0001")
	check("NeedsRestart", ch.NeedsRestart, "listen", "influx")
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"rtsp://admin:secret@10.0.0.1:554/a": "rtsp://%2A%2A%2A@10.0.0.1:554/a",
		"rtsp://10.0.0.1/a":                  "rtsp://10.0.0.1/a",
		"rtsp://u:p%zz@host/a":               "rtsp://***@host/a",
		"rtsp://admin:pw@10.0.0.1/x":         "rtsp://%2A%2A%2A@10.0.0.1/x",
	} {
		got := RedactURL(in)
		if got != want || strings.Contains(got, "secret") {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Example)
	f.Add([]byte(minimal))
	f.Add([]byte("users: {name: x}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("cameras:\n  - {id: 1, url: 'rtsp://[::1'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err == nil && c == nil {
			t.Fatal("nil configuration without an error")
		}
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not Errors: %v", err)
			}
		}
	})
}

// Zigbee2MQTT's names for sensor kinds are read as the kinds they name.
func TestZ2MKindAliases(t *testing.T) {
	y := "county: {id: c, name: C}\ntownships:\n  - id: t\n    name: T\n    villages:\n      - {id: v, name: V}\nsensors:\n"
	want := map[string]string{"water_leak": "leak", "contact": "door", "occupancy": "motion", "gas": "gas", "smoke": "smoke"}
	i := 0
	for alias := range want {
		y += fmt.Sprintf("  - {id: s-%d, kind: %s, village: v, z2m: dev%d}\n", i, alias, i)
		i++
	}
	y += "users:\n  - {name: ops, role: operator, token: ops-token-0123456789}\n"
	cfg, err := Parse("aliases.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range cfg.Sensors {
		got[s.Kind] = true
	}
	for _, kind := range want {
		if !got[kind] {
			t.Errorf("no sensor of kind %q after the aliases: %v", kind, got)
		}
	}
}

func TestDeriveSubstream(t *testing.T) {
	tests := []struct{ main, want string }{
		{"rtsp://admin:pw@10.20.0.5:554/Streaming/Channels/101", "rtsp://admin:pw@10.20.0.5:554/Streaming/Channels/102"},
		{"rtsp://10.20.0.5/Streaming/Channels/1201?transportmode=unicast", "rtsp://10.20.0.5/Streaming/Channels/1202?transportmode=unicast"},
		{"rtsp://10.20.0.5:554/h264/ch1/main/av_stream", "rtsp://10.20.0.5:554/h264/ch1/sub/av_stream"},
		{"rtsp://10.20.0.7:554/cam/realmonitor?channel=1&subtype=0", "rtsp://10.20.0.7:554/cam/realmonitor?channel=1&subtype=1"},
		{"rtsp://10.20.0.7:554/cam/realmonitor?channel=2", "rtsp://10.20.0.7:554/cam/realmonitor?channel=2&subtype=1"},
		{"rtsp://10.20.0.9/media/video1", "rtsp://10.20.0.9/media/video2"},
		{"rtsp://10.20.0.11/live/ch00_0", ""},
	}
	for _, tt := range tests {
		got, ok := DeriveSubstream(tt.main)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("DeriveSubstream(%s) = %q %v, want %q", tt.main, got, ok, tt.want)
		}
	}
}

func TestDefaultMaxConnectingFollowsCameras(t *testing.T) {
	for _, tt := range []struct{ cameras, want int }{{0, 32}, {100, 32}, {1280, 32}, {2000, 50}, {10000, 250}, {50000, 256}} {
		if got := DefaultMaxConnecting(tt.cameras); got != tt.want {
			t.Errorf("%d cameras: %d slots, want %d", tt.cameras, got, tt.want)
		}
	}
}
