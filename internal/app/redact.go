package app

import (
	"io"
	"sync"

	"snowhub/configs"
)

// redactWriter is the log's writer: every line passes through a redactor
// of the configuration's secrets (tokens, passwords, camera URL
// credentials), so no component's log line, nor a library's, can carry
// one. Secrets of reloaded configurations are added; old ones stay
// redacted.
type redactWriter struct {
	w       io.Writer
	mu      sync.Mutex
	secrets map[string]bool
	r       *configs.Redactor
}

func newRedactWriter(w io.Writer, cfg *configs.Config) *redactWriter {
	rw := &redactWriter{w: w, secrets: map[string]bool{}}
	rw.add(cfg)
	return rw
}

func (rw *redactWriter) add(cfg *configs.Config) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	for _, s := range cfg.Secrets() {
		rw.secrets[s] = true
	}
	list := make([]string, 0, len(rw.secrets))
	for s := range rw.secrets {
		list = append(list, s)
	}
	rw.r = configs.NewRedactor(list)
}

// Write redacts one log record (slog writes each record in one call).
func (rw *redactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	r := rw.r
	rw.mu.Unlock()
	if _, err := io.WriteString(rw.w, r.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
