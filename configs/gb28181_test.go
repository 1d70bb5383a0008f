package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGB28181Section: the section's defaults, and every mistake reported
// with file, line and key as the other sections' are. twoTownships ends
// at line 19: gb28181 is at line 20.
func TestGB28181Section(t *testing.T) {
	tests := []struct {
		name    string
		section string
		wantErr []string
	}{
		{name: "shared password and a placed device", section: `gb28181:
  id: "61042800002000000001"
  domain: "6104280000"
  password: "county-gb-pass"
  devices:
    - {id: "61042800001320000001", village: v-zr-01}
    - {id: "61042800001320000002", township: xiangong, village: v-xg-01}
`},
		{name: "bad ids, domain and accept", section: `gb28181:
  id: "6104"
  domain: "a b"
  accept: some
  password: "county-gb-pass"
  keepalive_misses: 0
  rtp_ports: "30500-30000"
`, wantErr: []string{
			`x.yaml:21: gb28181.id: "6104": a GB/T 28181 id is 20 digits`,
			`x.yaml:22: gb28181.domain: "a b" is not a SIP domain`,
			`x.yaml:23: gb28181.accept: "some": use known, any or hold`,
			`x.yaml:26: gb28181.rtp_ports: "30500-30000": ports from 1024 to 65535, the lower first`,
		}},
		{name: "misses out of range", section: "gb28181:\n  id: \"61042800002000000001\"\n  domain: \"6104280000\"\n  password: \"county-gb-pass\"\n  keepalive_misses: 500\n",
			wantErr: []string{`x.yaml:24: gb28181.keepalive_misses: 500: use 1 to 100 (default 3)`}},
		{name: "no password anywhere", section: `gb28181:
  id: "61042800002000000001"
  domain: "6104280000"
  accept: any
  devices:
    - {id: "61042800001320000001"}
`, wantErr: []string{
			`x.yaml:20: gb28181.password: accept: any takes devices with the shared password: set password, password_file or SNOWHUB_GB28181_PASSWORD`,
			`x.yaml:25: gb28181.devices[0].password_file: no password: set this device's password_file, or gb28181.password_file for all`,
		}},
		{name: "devices: duplicate, the hub's id, a short password, wrong places", section: `gb28181:
  id: "61042800002000000001"
  domain: "6104280000"
  password: "county-gb-pass"
  devices:
    - {id: "61042800001320000001", village: v-zr-01}
    - {id: "61042800001320000001"}
    - {id: "61042800002000000001"}
    - {id: "61042800001320000003", password: "1234"}
    - {id: "61042800001320000004", township: zhaoren, village: v-xg-01}
    - {id: "61042800001320000005", village: nowhere, township: nowhere}
`, wantErr: []string{
			`x.yaml:26: gb28181.devices[1].id: duplicate device "61042800001320000001" (first at gb28181.devices[0])`,
			`x.yaml:27: gb28181.devices[2].id: "61042800002000000001" is the hub's own id`,
			`x.yaml:28: gb28181.devices[3].password: too short: at least 8 characters`,
			`x.yaml:29: gb28181.devices[4].village: village "v-xg-01" is in township "xiangong", not "zhaoren"`,
			`x.yaml:30: gb28181.devices[5].township: unknown township "nowhere"`,
			`x.yaml:30: gb28181.devices[5].village: unknown village "nowhere"`,
		}},
		{name: "channels: placed, a bad id, a duplicate, no place, a wrong village", section: `gb28181:
  id: "61042800002000000001"
  domain: "6104280000"
  password: "county-gb-pass"
  channels:
    - {id: "61042800001310000001", village: v-zr-01}
    - {id: "6104280000131", village: v-zr-01}
    - {id: "61042800001310000001", township: zhaoren}
    - {id: "61042800001310000002"}
    - {id: "61042800001310000003", village: nowhere}
`, wantErr: []string{
			`x.yaml:26: gb28181.channels[1].id: "6104280000131": a GB/T 28181 id is 20 digits`,
			`x.yaml:27: gb28181.channels[2].id: duplicate channel "61042800001310000001" (first at gb28181.channels[0])`,
			`x.yaml:28: gb28181.channels[3].village: a channel entry places the channel: give its village or township`,
			`x.yaml:29: gb28181.channels[4].village: unknown village "nowhere"`,
		}},
		{name: "unknown key", section: "gb28181:\n  id: \"61042800002000000001\"\n  domain: \"6104280000\"\n  password: \"county-gb-pass\"\n  keepalive_miss: 3\n",
			wantErr: []string{`x.yaml:24: gb28181.keepalive_miss: unknown key (did you mean "keepalive_misses"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.yaml", []byte(twoTownships+tt.section))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Parse = nil, want %q", tt.wantErr)
				}
				if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tt.wantErr, "\n") {
					t.Fatalf("errors:\n%s\nwant:\n%s", err, strings.Join(tt.wantErr, "\n"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := c.GB28181
			if g.Listen != "0.0.0.0:5060" || g.Accept != "known" || g.KeepaliveMisses != 3 || g.Realm != "6104280000" || g.RTPPorts != "30000-30500" {
				t.Fatalf("defaults: %+v", g)
			}
		})
	}
}

// TestGB28181Absent: no section, no SIP server.
func TestGB28181Absent(t *testing.T) {
	c, err := Parse("x.yaml", []byte(twoTownships))
	if err != nil {
		t.Fatal(err)
	}
	if c.GB28181 != nil {
		t.Fatalf("gb28181 = %+v without a section", c.GB28181)
	}
}

// TestGB28181Secrets: passwords from files (relative to the configuration),
// from the environment, and redacted like every other secret.
func TestGB28181Secrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gb.pass"), []byte("shared-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dev.pass"), []byte("device-own-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	y := twoTownships + `gb28181:
  id: "61042800002000000001"
  domain: "6104280000"
  password_file: gb.pass
  devices:
    - {id: "61042800001320000001", password_file: dev.pass}
    - {id: "61042800001320000002", password_file: missing.pass}
`
	path := filepath.Join(dir, "hub.yaml")
	_, err := Parse(path, []byte(y))
	if err == nil || !strings.Contains(err.Error(), "hub.yaml:26: gb28181.devices[1].password_file: cannot read secret") {
		t.Fatalf("missing file: %v", err)
	}
	y = strings.Replace(y, "    - {id: \"61042800001320000002\", password_file: missing.pass}\n", "", 1)
	c, err := Parse(path, []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if c.GB28181.Password != "shared-from-file" || c.GB28181.Devices[0].Password != "device-own-pass" {
		t.Fatalf("passwords %q %q", c.GB28181.Password, c.GB28181.Devices[0].Password)
	}
	secrets := strings.Join(c.Secrets(), " ")
	if !strings.Contains(secrets, "shared-from-file") || !strings.Contains(secrets, "device-own-pass") {
		t.Fatalf("secrets %q miss the GB passwords", secrets)
	}
	t.Setenv("SNOWHUB_GB28181_PASSWORD", "shared-from-env")
	c, err = Parse(path, []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if c.GB28181.Password != "shared-from-env" {
		t.Fatalf("env password: %q", c.GB28181.Password)
	}
}

// TestCivilCodes: a township's and a village's civil_code are digits, and
// no two places share one.
func TestCivilCodes(t *testing.T) {
	y := strings.Replace(twoTownships, "id: zhaoren\n", "id: zhaoren\n    civil_code: \"61042810\"\n", 1)
	if y == twoTownships {
		t.Fatal("twoTownships changed: no zhaoren line")
	}
	if _, err := Parse("x.yaml", []byte(y)); err != nil {
		t.Fatal(err)
	}
	dup := strings.Replace(y, "{id: v-zr-01, name: 东街社区}", "{id: v-zr-01, name: 东街社区, civil_code: \"61042810\"}", 1)
	if _, err := Parse("x.yaml", []byte(dup)); err == nil || !strings.Contains(err.Error(), `townships[0].villages[0].civil_code: civil_code "61042810" is also townships[0].civil_code`) {
		t.Fatalf("a shared civil_code: %v", err)
	}
	for _, bad := range []string{"61042a", "610"} {
		y := strings.Replace(twoTownships, "id: zhaoren\n", "id: zhaoren\n    civil_code: \""+bad+"\"\n", 1)
		if _, err := Parse("x.yaml", []byte(y)); err == nil || !strings.Contains(err.Error(), "civil_code") {
			t.Fatalf("civil_code %q: %v", bad, err)
		}
	}
}
