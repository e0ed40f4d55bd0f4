package schema

import "regexp"

// Role is what a user may see and do.
type Role string

const (
	RoleOfficer    Role = "officer"    // own caseload only
	RoleSupervisor Role = "supervisor" // own team's cases
	RoleAdmin      Role = "admin"      // everything, plus users, teams and devices
	RoleAuditor    Role = "auditor"    // reads everything, writes nothing
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleOfficer, RoleSupervisor, RoleAdmin, RoleAuditor:
		return true
	}
	return false
}

// Team is a probation team led by one or more supervisors.
type Team struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// User is someone who signs in. PasswordHash never leaves the server store.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Role     Role   `json:"role"`
	TeamID   string `json:"team_id,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

var usernameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,39}$`)

// Validate checks a user before it is stored.
func (u User) Validate() error {
	if !usernameRE.MatchString(u.Username) {
		return Errorf(ECodeInvalid, "username", "username must be 2-40 lower-case letters, digits, '.', '_' or '-', starting with a letter")
	}
	if u.Name == "" {
		return Errorf(ECodeRequired, "name", "name is required")
	}
	if !u.Role.Valid() {
		return Errorf(ECodeInvalid, "role", "role must be officer, supervisor, admin or auditor, not %q", u.Role)
	}
	if (u.Role == RoleOfficer || u.Role == RoleSupervisor) && u.TeamID == "" {
		return Errorf(ECodeRequired, "team_id", "officers and supervisors belong to a team; name this %s's team", u.Role)
	}
	return nil
}

// ValidatePassword sets the floor for passwords chosen by people.
func ValidatePassword(p string) error {
	if len(p) < 10 {
		return Errorf(ECodeInvalid, "password", "password must be at least 10 characters")
	}
	if len(p) > 200 {
		return Errorf(ECodeInvalid, "password", "password must be at most 200 characters")
	}
	return nil
}

// Device is a tablet registered to one user.
type Device struct {
	ID          string    `json:"id"`
	UserID      string    `json:"user_id"`
	Name        string    `json:"name"`
	AppVersion  string    `json:"app_version,omitempty"`
	Protocol    int       `json:"protocol,omitempty"`
	Schema      int       `json:"schema,omitempty"`
	LastSeenAt  Timestamp `json:"last_seen_at,omitempty"`
	LastSyncAt  Timestamp `json:"last_sync_at,omitempty"`
	ClockSkewMs int64     `json:"clock_skew_ms"`
	Revoked     bool      `json:"revoked"`
}
