// Package auth holds who is asking: the principal behind a bearer token and
// the rules of what each role may see.
package auth

// Roles of the public interface.
const (
	RoleOperator   = "operator"   // county: everything
	RoleTownship   = "township"   // its own township's devices and incidents
	RoleTechnician = "technician" // devices, health, uptime, maintenance; no incident actions
	RoleAdmin      = "admin"
)

// Principal is an authenticated user.
type Principal struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Township string `json:"township,omitempty"`
}

// County reports whether the principal acts at county level.
func (p Principal) County() bool { return p.Role == RoleOperator || p.Role == RoleAdmin }

// CanSee reports whether the principal may see devices or incidents of the
// given township.
func (p Principal) CanSee(township string) bool {
	switch p.Role {
	case RoleOperator, RoleAdmin, RoleTechnician:
		return true
	case RoleTownship:
		return p.Township != "" && p.Township == township
	}
	return false
}
