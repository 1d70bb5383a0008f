package dashboard

import (
	"net/http"

	"snowhub/internal/auth"
)

// NotifySource reports the notification channels' health for the county
// workbench: each channel's state (ok, throttled, failing, retrying), since
// when, its last vendor error and its queue (alerts/notify.ChannelStatus).
type NotifySource interface{ NotifyChannels() any }

// notifyChannels answers GET /api/v1/notify/channels, for the county only.
func (s *Server) notifyChannels(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !p.County() {
		writeError(w, http.StatusForbidden, "仅县级可查看通知渠道 / notification channels: county only")
		return
	}
	if s.o.Notify == nil {
		writeJSON(w, 200, []any{})
		return
	}
	writeJSON(w, 200, s.o.Notify.NotifyChannels())
}
