package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// The websocket stream of events and the live video of a camera.

// snapshot is what a client may see now.
func (s *Server) snapshot(p auth.Principal) func(seq uint64, reason string) []byte {
	return func(seq uint64, reason string) []byte {
		var incs []event.Incident
		if s.o.Incidents != nil {
			incs = s.o.Incidents.List(p, event.IncidentFilter{State: "open"})
		}
		if incs == nil {
			incs = []event.Incident{}
		}
		s.withActions(p, incs)
		return encode(s.hub.epoch, seq, "snapshot", map[string]any{"cameras": s.visibleCameras(p), "sensors": s.visibleSensors(p),
			"incidents": incs, "resumed": false, "reason": reason, "hubs": s.visibleHubs(p)})
	}
}

func (s *Server) ws(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var since uint64
	resume := false
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, 400, "since: not a sequence number")
			return
		}
		since, resume = n, true
	}
	// ?epoch= is the epoch of the messages the client saw: another
	// process's gets a snapshot whatever its since.
	var epoch uint64
	if v := r.URL.Query().Get("epoch"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, 400, "epoch: not a number")
			return
		}
		epoch = n
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := s.hub.subscribe(p, since, epoch, resume, s.snapshot(p))
	if sess := sessionOf(r); sess != nil {
		stop := make(chan struct{})
		defer close(stop)
		go s.watchSession(sess.ID, c, stop)
	} else if tok := tokenOf(r); tok != "" {
		stop := make(chan struct{})
		defer close(stop)
		go s.watchToken(tok, p, c, stop)
	}
	s.hub.serve(conn, c, s.shutdown)
}

// live streams a camera's fragmented MP4: a JSON init message with the
// codec, the init segment, then media segments, all as binary messages.
func (s *Server) live(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id := r.PathValue("id")
	visible := false
	by := "person"
	if p.Role == auth.RoleHub {
		// Another hub relaying for its viewers: this hub's own cameras
		// only (never a camera it relays itself), and nothing else.
		by = "hub"
		if l := s.o.LocalVideo; l != nil && s.o.Video != nil {
			visible = l.Local(id)
		}
	} else {
		for _, c := range s.visibleCameras(p) {
			if c.ID == id {
				visible = true
			}
		}
	}
	if !visible {
		writeError(w, http.StatusNotFound, "camera "+id+" not found")
		return
	}
	if s.o.Video == nil {
		unavailable(w, "live video")
		return
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	s.mLive.WithLabelValues(by).Inc()
	defer s.mLive.WithLabelValues(by).Dec()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() { // the reader: a closed tab ends the stream; it sends nothing else
		s.o.Limits.wsReader(conn, 1, 0)
		cancel()
	}()
	closeWith := func(code int, reason string) {
		if code == 4004 {
			// The whole reason as a message first: a close frame holds
			// only 123 bytes, a third of a reason in Chinese and English.
			b, _ := json.Marshal(map[string]string{"type": "error", "error": reason})
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			conn.WriteMessage(websocket.TextMessage, b)
		}
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, closeReason(reason)), time.Now().Add(time.Second))
	}
	var v VideoViewer
	if vs := s.o.VideoStreams; vs != nil && r.URL.Query().Get("stream") == "main" {
		v, err = vs.WatchStream(ctx, id, "main")
	} else {
		v, err = s.o.Video.Watch(ctx, id)
	}
	if err != nil {
		closeWith(4004, err.Error())
		return
	}
	defer v.Close()
	initSeg, err := v.Init(ctx)
	if err != nil {
		closeWith(4004, err.Error())
		return
	}
	conn.SetWriteDeadline(time.Now().Add(writeWait))
	b, _ := json.Marshal(map[string]string{"type": "init", "codec": v.Codec()})
	if conn.WriteMessage(websocket.TextMessage, b) != nil || conn.WriteMessage(websocket.BinaryMessage, initSeg) != nil {
		return
	}
	for {
		seg, err := v.Next(ctx)
		if err != nil {
			closeWith(websocket.CloseGoingAway, "camera stream ended")
			return
		}
		conn.SetWriteDeadline(time.Now().Add(writeWait))
		if len(seg) >= 8 && string(seg[4:8]) == "ftyp" {
			// The camera's parameters changed (another resolution): a
			// new init segment, announced like the first, resets the player.
			b, _ := json.Marshal(map[string]string{"type": "init", "codec": v.Codec()})
			if conn.WriteMessage(websocket.TextMessage, b) != nil {
				return
			}
		}
		if err := conn.WriteMessage(websocket.BinaryMessage, seg); err != nil {
			return
		}
	}
}

// closeReason cuts a reason to what a close frame holds (123 bytes), at a
// character boundary: a longer one makes the frame invalid and the close
// is not sent at all.
func closeReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
