package app

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"snowhub/camera"
	"snowhub/camera/gb28181"
)

// Every cause the camera package can give a camera's state, and
// camera/gb28181 a GB device's, has a Chinese
// (and an English) label on the pages: a technician reads 连接被中断, not
// "reset".
func TestEveryCameraCauseLabelled(t *testing.T) {
	b, err := os.ReadFile("../../dashboard/web/js/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	i := strings.Index(src, "export const causes = {")
	if i < 0 {
		t.Fatal("no causes table in i18n.js")
	}
	src = src[i:]
	zh, en := src[strings.Index(src, "zh: {"):strings.Index(src, "en: {")], src[strings.Index(src, "en: {"):]
	en = en[:strings.Index(en, "},")]
	for _, c := range append(append([]string(nil), camera.Causes...), gb28181.Causes...) {
		re := regexp.MustCompile(`\b` + c + `: '([^']+)'`)
		m := re.FindStringSubmatch(zh)
		if m == nil || !regexp.MustCompile(`\p{Han}`).MatchString(m[1]) {
			t.Errorf("cause %s has no Chinese label", c)
		}
		if !re.MatchString(en) {
			t.Errorf("cause %s has no English label", c)
		}
	}
}
