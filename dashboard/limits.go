package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Limits bound what one connection can cost the hub: time to send its
// headers and body, idle keep-alive, header bytes, and on websockets the
// size and rate of what the client sends. Zero fields take the defaults
// of DefaultLimits (docs/security.md, "Limits").
type Limits struct {
	ReadHeaderTimeout time.Duration // headers must arrive within this
	ReadTimeout       time.Duration // the whole request, body included
	IdleTimeout       time.Duration // a keep-alive connection with no request
	MaxHeaderBytes    int
	MaxBodyBytes      int64 // JSON bodies of the API; larger answers 413
	// WSReadLimit caps one message from a wall or desk (they send only
	// pings and close frames); the live video endpoint reads nothing and
	// allows only control frames.
	WSReadLimit int64
	// WSControlRate is how many messages and pings a client may send per
	// second (burst WSControlBurst); a flood closes the connection.
	WSControlRate  float64
	WSControlBurst int
	// HistoryBytes bounds the websocket history kept for ?since= resumes
	// in bytes, besides dashboard.history in events: a resume older than
	// what is kept gets a snapshot.
	HistoryBytes int
	// RefusalBurst refused requests (4xx) per user, then one each
	// RefusalEvery; past that the user's requests answer 429.
	RefusalBurst int
	RefusalEvery time.Duration
}

// DefaultLimits are the limits of a county hub.
var DefaultLimits = Limits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	IdleTimeout:       120 * time.Second,
	MaxHeaderBytes:    16 << 10,
	MaxBodyBytes:      64 << 10,
	WSReadLimit:       4096,
	WSControlRate:     2,
	WSControlBurst:    10,
	HistoryBytes:      32 << 20,
	RefusalBurst:      30,
	RefusalEvery:      2 * time.Second,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	orDefault(&d.ReadHeaderTimeout, l.ReadHeaderTimeout)
	orDefault(&d.ReadTimeout, l.ReadTimeout)
	orDefault(&d.IdleTimeout, l.IdleTimeout)
	orDefault(&d.MaxHeaderBytes, l.MaxHeaderBytes)
	orDefault(&d.MaxBodyBytes, l.MaxBodyBytes)
	orDefault(&d.WSReadLimit, l.WSReadLimit)
	orDefault(&d.WSControlRate, l.WSControlRate)
	orDefault(&d.WSControlBurst, l.WSControlBurst)
	orDefault(&d.RefusalBurst, l.RefusalBurst)
	orDefault(&d.RefusalEvery, l.RefusalEvery)
	orDefault(&d.HistoryBytes, l.HistoryBytes)
	return d
}

// orDefault keeps the default in *d unless v is set (positive).
func orDefault[T int | int64 | float64 | time.Duration](d *T, v T) {
	if v > 0 {
		*d = v
	}
}

// httpServer applies the connection limits. There is no WriteTimeout: live
// video and the websockets write for as long as they are watched, each
// write under its own deadline. The websocket upgrade clears the read
// deadline the server set, and the reader below sets its own.
func (l Limits) httpServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes}
}

// wsReader reads what a websocket client sends, which the hub never needs
// beyond pongs and close: messages larger than limit end the connection
// (gorilla stops reading at the limit, so nothing larger is held), and so
// do pings or messages faster than the control rate. Pongs extend the read
// deadline by wait (0: no read deadline, for an endpoint that sends no
// pings and learns of a dead peer from its write deadlines). It returns
// when the connection is done.
func (l Limits) wsReader(conn *websocket.Conn, limit int64, wait time.Duration) {
	conn.SetReadLimit(limit)
	if wait > 0 {
		conn.SetReadDeadline(time.Now().Add(wait))
	}
	lim := rate.NewLimiter(rate.Limit(l.WSControlRate), l.WSControlBurst)
	flood := func() error {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "too many messages"), time.Now().Add(time.Second))
		return websocket.ErrReadLimit
	}
	conn.SetPongHandler(func(string) error {
		// Unsolicited pongs count like pings: the hub pings every 30 s.
		if !lim.Allow() {
			return flood()
		}
		if wait > 0 {
			conn.SetReadDeadline(time.Now().Add(wait))
		}
		return nil
	})
	conn.SetPingHandler(func(data string) error {
		if !lim.Allow() {
			return flood()
		}
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		if _, _, err := conn.NextReader(); err != nil {
			return
		}
		// A data message: read no further than the limit, and count it.
		if !lim.Allow() {
			flood()
			return
		}
	}
}

// decodeBody reads a JSON body of at most MaxBodyBytes into v; it answers
// 413 or 400 itself and returns false when the body is not usable. An
// empty body is no error when emptyOK.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) bool {
	return decodeJSON(w, r, s.o.Limits.MaxBodyBytes, v, emptyOK, false)
}

// decodeJSON is decodeBody with its own limit; strict refuses unknown
// fields, so a misspelt "townshp" is an error, not a silent no-op.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any, emptyOK, strict bool) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil, emptyOK && errors.Is(err, io.EOF):
		return true
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("请求体超过 %d 字节 (body over %d bytes)", tooBig.Limit, tooBig.Limit))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "请求体为空，应为 JSON (the body is empty: JSON expected)")
	default:
		writeError(w, http.StatusBadRequest, "请求不是有效的 JSON (body is not JSON): "+err.Error())
	}
	return false
}

// trimHistory forgets the oldest events while the history holds more than
// HistoryBytes (the newest is always kept). Called with h.mu held.
func (h *hub) trimHistory() {
	limit := h.limits.HistoryBytes
	if limit <= 0 {
		limit = DefaultLimits.HistoryBytes
	}
	for h.size > 1 && h.histBytes > limit {
		h.histBytes -= len(h.history[h.start].bytes)
		h.history[h.start] = message{}
		h.start = (h.start + 1) % len(h.history)
		h.size--
	}
}
