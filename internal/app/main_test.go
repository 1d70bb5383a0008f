package app

import (
	"os"
	"testing"

	"snowhub/internal/test/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveHubBinary() // built once for the tests that run the real process
	os.Exit(code)
}
