package dashboard

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"snowhub/internal/auth"
)

// Ids in paths have the documented form (configs: 1-64 letters, digits,
// '.', '_', '-'; incident ids are INC-YYYYMMDD-NNNN) and actions are short
// words; anything else is refused before a handler, the store or the audit
// log sees it.
var (
	pathIDRE     = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	pathActionRE = regexp.MustCompile(`^[a-z_]{1,32}$`)
)

// checkPath answers 400 for a path value that is not of its form; the
// value itself is not echoed.
func checkPath(w http.ResponseWriter, r *http.Request) bool {
	if id := r.PathValue("id"); id != "" && !pathIDRE.MatchString(id) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("id 格式不对：1-64 个字母、数字、'.'、'_' 或 '-'，收到 %d 字节 (id: 1-64 letters, digits, '.', '_' or '-'; got %d bytes)", len(id), len(id)))
		return false
	}
	if a := r.PathValue("action"); a != "" && !pathActionRE.MatchString(a) {
		writeError(w, http.StatusBadRequest, "未知操作 (unknown action)")
		return false
	}
	return true
}

// refusals limits, per user, how many refused requests (4xx after login)
// the hub takes: past the burst, the user's requests answer 429 until the
// budget refills, so a script cannot grow the audit log or busy the store
// with attempts that fail.
type refusals struct {
	mu    sync.Mutex
	by    map[string]*rate.Limiter // by user name: bounded by the configured users
	every time.Duration
	burst int
}

func newRefusals(every time.Duration, burst int) *refusals {
	return &refusals{by: map[string]*rate.Limiter{}, every: every, burst: burst}
}

func (f *refusals) limiter(user string) *rate.Limiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.by[user]
	if l == nil {
		if len(f.by) > 100000 { // names come from the configuration; a backstop
			clear(f.by)
		}
		l = rate.NewLimiter(rate.Every(f.every), f.burst)
		f.by[user] = l
	}
	return l
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack is for the websocket upgrade, which asks for an http.Hijacker.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.status = http.StatusSwitchingProtocols
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// guard runs h for p unless p has used up its refusals; a refused answer
// (4xx) spends one.
func (f *refusals) guard(w http.ResponseWriter, r *http.Request, p auth.Principal, h func(w http.ResponseWriter, r *http.Request, p auth.Principal)) {
	l := f.limiter(p.Name)
	if l.Tokens() < 1 {
		wait := l.Reserve()
		d := wait.Delay()
		wait.Cancel()
		w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "被拒绝的请求过多，请稍后再试 (too many refused requests; try again later)")
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	if checkPath(sw, r) {
		h(sw, r, p)
	}
	if sw.status >= 400 && sw.status < 500 {
		l.Allow()
	}
}

// maxMaintenanceNote bounds a maintenance window's note.
const maxMaintenanceNote = 4000

// checkBodyIDs answers 400 when an id in a body is not of the documented
// form (empty ones are the handler's to judge); the value is not echoed.
func checkBodyIDs(w http.ResponseWriter, ids map[string]string) bool {
	for key, id := range ids {
		if id != "" && !pathIDRE.MatchString(id) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s 格式不对：1-64 个字母、数字、'.'、'_' 或 '-' (%s: 1-64 letters, digits, '.', '_' or '-'; got %d bytes)", key, key, len(id)))
			return false
		}
	}
	return true
}
