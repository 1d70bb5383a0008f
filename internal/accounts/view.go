package accounts

import (
	"strings"
	"time"

	"snowhub/configs"
)

// View is an account as the admin page and GET /api/v1/accounts show it:
// no hash, no secret; where it is kept, and its lock.
type View struct {
	Name            string     `json:"name"`
	DisplayName     string     `json:"display_name,omitempty"`
	Role            string     `json:"role"`
	Township        string     `json:"township,omitempty"`
	Village         string     `json:"village,omitempty"`
	Department      string     `json:"department,omitempty"`
	Phone           string     `json:"phone,omitempty"`
	State           string     `json:"state"`
	Source          string     `json:"source"` // hub: kept here, edited in the page; config: the file's, read-only
	Password        bool       `json:"password"`
	MustChange      bool       `json:"must_change_password"`
	PasswordChanged *time.Time `json:"password_changed,omitempty"`
	SecondFactor    bool       `json:"second_factor"`
	LockedUntil     *time.Time `json:"locked_until,omitempty"`
	Created         *time.Time `json:"created,omitempty"`
	CreatedBy       string     `json:"created_by,omitempty"`
	Changed         *time.Time `json:"changed,omitempty"`
	ChangedBy       string     `json:"changed_by,omitempty"`
}

// Sources of a View.
const (
	SourceHub    = "hub"
	SourceConfig = "config"
)

// View is a's view.
func (a Account) View() View {
	t := func(x time.Time) *time.Time {
		if x.IsZero() {
			return nil
		}
		x = x.UTC()
		return &x
	}
	return View{Name: a.Name, DisplayName: a.DisplayName, Role: a.Role, Township: a.Township, Village: a.Village,
		Department: a.Department, Phone: a.Phone, State: a.State, Source: SourceHub, Password: a.PasswordHash != "",
		MustChange: a.MustChange, PasswordChanged: t(a.PasswordChanged),
		Created: t(a.Created), CreatedBy: a.CreatedBy, Changed: t(a.Changed), ChangedBy: a.ChangedBy}
}

// ConfigView is the view of a user the configuration declares.
func ConfigView(u configs.User) View {
	return View{Name: u.Name, Role: u.Role, Township: u.Township, Village: u.Village, Department: u.Department,
		State: Active, Source: SourceConfig, Password: u.PasswordHash != "", SecondFactor: u.TOTPSecret != ""}
}

// MaskPhone keeps a phone number's first three and last four digits
// (138****5678), as it is shown outside the admin page.
func MaskPhone(p string) string {
	r := []rune(p)
	if len(r) <= 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}
