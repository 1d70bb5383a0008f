// Package auth holds who is asking (the principal behind a bearer token)
// and the one decision of what each role may do on which scope: Allow.
// Every package asks Allow rather than testing roles itself.
package auth

import (
	"slices"

	"snowhub/configs"
	"snowhub/internal/event"
)

// Roles of the public interface: the configuration's words (configs.Roles),
// and what Allow gives each.
const (
	RoleOperator   = configs.RoleOperator   // county: everything
	RoleTownship   = configs.RoleTownship   // its own township's devices and incidents
	RoleTechnician = configs.RoleTechnician // devices, health, uptime, maintenance; no incident actions
	RoleAdmin      = configs.RoleAdmin
	RoleVillage    = configs.RoleVillage    // one village: its devices and the incidents its township holds
	RoleDepartment = configs.RoleDepartment // a department: only the incidents it was summoned to
	// RoleHub is another hub of the prefecture (a view): it watches this
	// hub's cameras' live video, which the dashboard grants it by name, and
	// Allow gives it nothing: no incident, device list, figure or step.
	RoleHub = configs.RoleHub
	// The 等级保护 roles, kept apart from the incident work (三权分立)
	// (docs/accounts.md):
	//   - admin (above) manages the accounts the hub keeps (AccountsWrite)
	//     beside the county's work; it cannot lift a lock.
	//   - security_admin: sees the accounts (phones masked) and lifts login
	//     locks; nothing of incidents, devices, figures or audit.
	//   - auditor: reads the audit trail (Audit), nothing else.
	//   - display: a wall screen: sees what the county's wall shows
	//     (devices and incidents, county-wide), takes no step, raises
	//     nothing, sets no maintenance, reads no audit, figures or outbox.
	RoleSecurityAdmin = configs.RoleSecurityAdmin
	RoleAuditor       = configs.RoleAuditor
	RoleDisplay       = configs.RoleDisplay
)

// UserPrincipal is the principal of a configured user: a village user
// acts within its village's township (from top).
func UserPrincipal(u configs.User, top *configs.Topology) Principal {
	p := Principal{Name: u.Name, Role: u.Role, Township: u.Township, Village: u.Village, Department: u.Department}
	if p.Role == RoleVillage {
		p.Township = top.VillageTownship[u.Village]
	}
	return p
}

// County is the owner name of what the county holds.
const County = "county"

// Technicians is the owner name of what the technicians hold: a county
// outage, whose cause is a device, an uplink or a platform, not a village.
const Technicians = configs.OwnerTechnicians

// Principal is an authenticated user. A village user carries its village's
// township too (the assembly fills it from the topology).
type Principal struct {
	Name       string `json:"name"`
	Role       string `json:"role"`
	Township   string `json:"township,omitempty"`
	Village    string `json:"village,omitempty"`
	Department string `json:"department,omitempty"`
}

// County reports whether the principal acts at county level.
func (p Principal) County() bool { return p.Role == RoleOperator || p.Role == RoleAdmin }

// Level is where the principal acts: county, township, village or department.
func (p Principal) Level() string {
	switch p.Role {
	case RoleOperator, RoleAdmin:
		return County
	case RoleTownship, RoleVillage, RoleDepartment:
		return p.Role
	}
	return p.Role
}

// CanSee reports whether the principal may see devices or incidents of the
// given township. Village and department users see less than a township:
// use Allow with a full Scope for them.
func (p Principal) CanSee(township string) bool {
	switch p.Role {
	case RoleOperator, RoleAdmin, RoleTechnician, RoleDisplay:
		return true
	case RoleTownship:
		return p.Township != "" && p.Township == township
	}
	return false
}

// Actions Allow decides (the incident steps are AllowStep's).
const (
	View        = "view"        // an incident or device in Scope
	Create      = "create"      // 制单 in Scope's village
	Maintenance = "maintenance" // set or end a maintenance window in Scope
	Audit       = "audit"       // the audit log
	Stats       = "stats"       // figures of Scope's township ("" : the county's)
	Outbox      = "outbox"      // read the step outbox (other hubs, notifiers)
	// The accounts the hub keeps (三权分立): the system administrator
	// manages them; the security administrator sees them and lifts locks.
	AccountsRead  = "accounts_read"  // the account list (phones masked but for the admin)
	AccountsWrite = "accounts_write" // create, re-scope, disable, reset a password
	Locks         = "locks"          // lift a login lock
	Factors       = "factors"        // reset a person's second factor (a lost phone)
	KeysRevoke    = "keys_revoke"    // revoke an API key (the admin, or the security administrator)
	Displays      = "displays"       // enrol and revoke the wall screens (the county's)
)

// Who may take an incident step. Each row of the transition table (alerts)
// names one; AllowStep says what it means for a principal and a scope.
const (
	WhoCounty     = "county"     // the county (operators, admins), wherever the matter is
	WhoOwner      = "owner"      // the desk holding it (or its village center), or the county
	WhoDepartment = "department" // a department summoned into it
	WhoViewer     = "viewer"     // anyone at a wall or desk who sees it (not technicians or departments)
)

// Scope is what an action touches.
type Scope struct {
	Township    string   // the device's or incident's township (origin)
	Village     string   // the device's or incident's village
	Owner       string   // incident: current holder, a township id or "county"
	Owners      []string // incident: townships that held it before (read-only view)
	Departments []string // incident: departments summoned
	Incident    bool     // the scope is an incident (not a device)
}

// IncidentScope is what Allow needs to know of an incident.
func IncidentScope(inc *event.Incident) Scope {
	s := Scope{Township: inc.Township, Village: inc.Village, Owner: inc.Owner, Owners: inc.Owners, Incident: true}
	for _, x := range inc.Summoned {
		s.Departments = append(s.Departments, x.Department)
	}
	return s
}

// Allow decides whether p may do action on s. It returns nil, or an error
// wrapping event.ErrNotFound (p may not even see it) or event.ErrForbidden
// (p sees it, but this is not p's to do), with the reason in Chinese first.
func Allow(p Principal, action string, s Scope) error {
	switch p.Role {
	case RoleAuditor:
		// The audit trail and nothing else: no incident, device or figure.
		if action == Audit {
			return nil
		}
		return event.Refuse(event.ErrNotFound, "审计员只读审计记录 / an auditor reads the audit trail only")
	case RoleSecurityAdmin:
		if action == AccountsRead || action == Locks || action == Factors || action == KeysRevoke {
			return nil
		}
		if action == AccountsWrite {
			return forbid("账号由系统管理员管理 / accounts are the system administrator's")
		}
		return event.Refuse(event.ErrNotFound, "安全管理员不处理事件 / a security administrator has no incident or device work")
	case RoleDisplay:
		if action == View && visible(p, s) {
			return nil
		}
		return forbid("大屏只能查看 / a display only shows the wall")
	}
	switch action {
	case AccountsRead, AccountsWrite:
		if p.Role == RoleAdmin {
			return nil
		}
		return forbid("账号由系统管理员管理 / accounts are the system administrator's")
	case Locks, Factors:
		return forbid("登录锁定与动态口令由安全管理员处理 / locks and second factors are the security administrator's")
	case KeysRevoke:
		if p.Role == RoleAdmin {
			return nil
		}
		return forbid("密钥由管理员吊销 / keys are revoked by an administrator")
	case Displays:
		if p.County() {
			return nil
		}
		return forbid("大屏由县级登记 / the county enrols its wall screens")
	}
	if action == Create {
		switch {
		case p.County():
			return nil
		case p.Role == RoleTownship && s.Township == p.Township:
			return nil
		case p.Role == RoleVillage && s.Village == p.Village:
			return nil
		}
		return forbid("只能为本辖区制单 / you raise incidents for your own villages only")
	}
	if !visible(p, s) {
		if p.Role == RoleDepartment || p.Role == RoleVillage {
			return event.Refuse(event.ErrNotFound, "不可见 / not visible to %s", p.Name)
		}
		return event.Refuse(event.ErrForbidden, "属于%s / belongs to township %s", s.Township, s.Township)
	}
	switch action {
	case View:
		return nil
	case Audit, Outbox:
		if p.County() {
			return nil
		}
		return forbid("县级功能 / the county's")
	case Stats:
		if p.County() || (p.Role == RoleTownship && s.Township == p.Township && s.Township != "") {
			return nil
		}
		return forbid("统计仅限县级与本镇 / figures are the county's and each township's own")
	case Maintenance:
		if p.County() || p.Role == RoleTechnician || (p.Role == RoleTownship && s.Township == p.Township) {
			return nil
		}
		return forbid("无权设置维护 / not allowed to set maintenance")
	}
	return forbid("未知操作 %s / unknown action", action)
}

// AllowStep decides whether p may take the incident step action, which the
// transition table gives to who, on s: nil, or an error as Allow's.
func AllowStep(p Principal, action, who string, s Scope) error {
	if err := Allow(p, View, s); err != nil {
		return err
	}
	switch {
	case p.Role == RoleDisplay:
		return forbid("大屏只能查看，不能操作 / a display takes no action")
	case p.Role == RoleTechnician:
		// The technicians take the owner's steps of what they hold (a
		// county outage), and no other incident step.
		if who == WhoOwner && s.Owner == Technicians {
			return nil
		}
		return forbid("技术员无事件操作 / technicians have no incident actions")
	case who == WhoViewer:
		if p.Role == RoleDepartment {
			return forbid("部门不确认告警 / departments do not acknowledge alarms")
		}
		return nil
	case who == WhoDepartment:
		if p.Role == RoleDepartment && slices.Contains(s.Departments, p.Department) {
			return nil
		}
		return forbid("报到/办结由被召集的部门操作 / %s is for a summoned department", action)
	case p.County():
		return nil
	case who == WhoCounty:
		return forbid("%s 是县级操作 / %s is the county's action", action, action)
	case who == WhoOwner:
		if owns(p, s) {
			return nil
		}
		if s.Owner == County {
			return forbid("已在县级，本镇只读 / with the county: read-only for the township")
		}
		return forbid("当前由%s办理，只读 / held by %s now: read-only", s.Owner, s.Owner)
	}
	return forbid("%s：未知的操作人 %q / %s: unknown who %q", action, who, action, who)
}

func forbid(format string, args ...any) error {
	return event.Refuse(event.ErrForbidden, format, args...)
}

// owns: the township desk that holds the incident now, or a village center
// of that township acting on its own village's incident.
func owns(p Principal, s Scope) bool {
	switch p.Role {
	case RoleTownship:
		return p.Township != "" && s.Owner == p.Township
	case RoleVillage:
		return p.Village != "" && s.Village == p.Village && s.Owner == p.Township && p.Township != ""
	}
	return false
}

func visible(p Principal, s Scope) bool {
	switch p.Role {
	case RoleOperator, RoleAdmin:
		return true
	case RoleTechnician, RoleDisplay:
		return true
	case RoleTownship:
		if p.Township == "" {
			return false
		}
		return s.Township == p.Township || s.Owner == p.Township || slices.Contains(s.Owners, p.Township) ||
			(s.Township == "" && s.Village == "" && !s.Incident)
	case RoleVillage:
		return p.Village != "" && s.Village == p.Village
	case RoleDepartment:
		return s.Incident && p.Department != "" && slices.Contains(s.Departments, p.Department)
	}
	return false
}
