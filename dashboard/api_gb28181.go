package dashboard

import (
	"net/http"

	"snowhub/internal/auth"
)

// GB28181Source lists the GB/T 28181 devices (camera/gb28181.Device: id,
// state, cause, reason, address, registration, keepalive, catalog)
// standing in a township, or every device, refused and held ones too, for
// ""; and the channels of their catalogs that no civil code or
// gb28181.channels entry places (camera/gb28181.Channel), of the devices
// standing in a township, or all for "".
type GB28181Source interface {
	GB28181Devices(township string) any
	GB28181Unplaced(township string) any
}

// gbScope is who may see GB/T 28181 devices and their channels: the county
// and the technicians every one (and those refused or held, to take them
// in), a township its own; nobody else any, since a device's address is
// where to reach the camera. ok false: refused (answered).
func gbScope(w http.ResponseWriter, p auth.Principal) (township string, ok bool) {
	switch {
	case p.County() || p.Role == auth.RoleTechnician:
		return "", true
	case p.Role == auth.RoleTownship && p.Township != "":
		return p.Township, true
	}
	writeError(w, http.StatusForbidden, "仅县级、技术运维和乡镇可查看国标设备 / GB/T 28181 devices: county, technicians and townships only")
	return "", false
}

// gb28181Devices answers GET /api/v1/gb28181/devices.
func (s *Server) gb28181Devices(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	township, ok := gbScope(w, p)
	if !ok {
		return
	}
	if s.o.GB28181 == nil {
		writeJSON(w, 200, []any{})
		return
	}
	writeJSON(w, 200, s.o.GB28181.GB28181Devices(township))
}

// gb28181Unplaced answers GET /api/v1/gb28181/unplaced: catalog channels
// the hub could not place, for the admin to give a civil_code or a
// gb28181.channels entry (like the unknown MQTT devices).
func (s *Server) gb28181Unplaced(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	township, ok := gbScope(w, p)
	if !ok {
		return
	}
	if s.o.GB28181 == nil {
		writeJSON(w, 200, []any{})
		return
	}
	writeJSON(w, 200, s.o.GB28181.GB28181Unplaced(township))
}
