package dashboard

import (
	"net/http"

	"snowhub/internal/auth"
)

// GB28181Source lists the GB/T 28181 devices (camera/gb28181.Device: id,
// state, cause, reason, address, registration, keepalive) standing in a
// township, or every device, refused and held ones too, for "".
type GB28181Source interface{ GB28181Devices(township string) any }

// gb28181Devices answers GET /api/v1/gb28181/devices: the county and the
// technicians see every device (and those refused or held, to take them
// in); a township its own devices; nobody else any, since a device's
// address is where to reach the camera.
func (s *Server) gb28181Devices(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	township := ""
	switch {
	case p.County() || p.Role == auth.RoleTechnician:
	case p.Role == auth.RoleTownship && p.Township != "":
		township = p.Township
	default:
		writeError(w, http.StatusForbidden, "仅县级、技术运维和乡镇可查看国标设备 / GB/T 28181 devices: county, technicians and townships only")
		return
	}
	if s.o.GB28181 == nil {
		writeJSON(w, 200, []any{})
		return
	}
	writeJSON(w, 200, s.o.GB28181.GB28181Devices(township))
}
