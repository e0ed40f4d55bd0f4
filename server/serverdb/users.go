package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"doorstep/schema"

	"golang.org/x/crypto/bcrypt"
)

// Actor is who is acting: the signed-in user, their role and team, and the
// device the request came from ("" for the browser-less CLI and tests).
type Actor struct {
	UserID   string
	Role     schema.Role
	TeamID   string
	DeviceID string
}

// ActorOf returns the actor for user u acting from deviceID.
func ActorOf(u schema.User, deviceID string) Actor {
	return Actor{UserID: u.ID, Role: u.Role, TeamID: u.TeamID, DeviceID: deviceID}
}

// passwordCost is bcrypt's work factor; a variable so that tests of many
// logins stay quick (they set bcrypt.MinCost through SetPasswordCost).
var passwordCost = bcrypt.DefaultCost

// SetPasswordCost changes the bcrypt cost of hashes made from now on. Only
// tests should lower it.
func SetPasswordCost(cost int) { passwordCost = cost }

// dummyHash is compared against when a username is unknown, so that a
// wrong username takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("doorstep-dummy-password"), passwordCost)
	return h
})

func requireAdmin(actor Actor) error {
	if actor.Role != schema.RoleAdmin {
		return schema.Errorf(schema.ECodeForbidden, "", "only an admin may do this")
	}
	return nil
}

// CreateTeam adds a team. An empty ID gets a new one (written back is not
// possible on a value, so callers that need it set it first).
func (db *DB) CreateTeam(ctx context.Context, actor Actor, t schema.Team) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		return schema.Errorf(schema.ECodeRequired, "name", "a team needs a name")
	}
	if len(t.Name) > 100 {
		return schema.Errorf(schema.ECodeInvalid, "name", "a team name is at most 100 characters")
	}
	if t.ID == "" {
		t.ID = schema.NewID()
	}
	return db.update(ctx, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM teams WHERE name = ? OR id = ?`, t.Name, t.ID).Scan(&n); err != nil {
			return fmt.Errorf("create team: %w", err)
		}
		if n > 0 {
			return schema.Errorf(schema.ECodeConflict, "name", "a team named %q (or with id %s) already exists", t.Name, t.ID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)`, t.ID, t.Name, tx.nowText); err != nil {
			return fmt.Errorf("create team: %w", err)
		}
		return tx.audit(actor, "create_team", "team", t.ID, "", map[string]any{"name": t.Name})
	})
}

// CreateUser adds a user with a bcrypt hash of password, which must pass
// CheckPassword. An empty password makes a user who cannot sign in until
// they set a password with a setup code (IssueSetupCode). An empty ID gets
// a new one.
func (db *DB) CreateUser(ctx context.Context, actor Actor, u schema.User, password string) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	if err := u.Validate(); err != nil {
		return err
	}
	var hash []byte
	if password != "" {
		if err := CheckPassword(u, password); err != nil {
			return err
		}
		var err error
		if hash, err = bcrypt.GenerateFromPassword([]byte(password), passwordCost); err != nil {
			return fmt.Errorf("hash password: %w", err)
		}
	}
	if u.ID == "" {
		u.ID = schema.NewID()
	}
	return db.update(ctx, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE username = ? OR id = ?`, u.Username, u.ID).Scan(&n); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		if n > 0 {
			return schema.Errorf(schema.ECodeConflict, "username", "username %q (or id %s) is taken", u.Username, u.ID)
		}
		var team any
		if u.TeamID != "" {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM teams WHERE id = ?`, u.TeamID).Scan(&n); err != nil {
				return fmt.Errorf("create user: %w", err)
			}
			if n == 0 {
				return schema.Errorf(schema.ECodeInvalid, "team_id", "there is no team %q", u.TeamID)
			}
			team = u.TeamID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, username, name, role, team_id, password_hash, disabled, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Username, u.Name, string(u.Role), team, string(hash), boolInt(u.Disabled), tx.nowText); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return tx.audit(actor, "create_user", "user", u.ID, "", map[string]any{"username": u.Username, "role": u.Role, "team_id": u.TeamID})
	})
}

const userColumns = `id, username, name, role, coalesce(team_id, ''), disabled`

// scanUser scans the userColumns of a row, then any more columns into more.
func scanUser(row interface{ Scan(...any) error }, more ...any) (schema.User, error) {
	var u schema.User
	var role string
	var disabled int
	err := row.Scan(append([]any{&u.ID, &u.Username, &u.Name, &role, &u.TeamID, &disabled}, more...)...)
	u.Role = schema.Role(role)
	u.Disabled = disabled == 1
	return u, err
}

// UserByUsername returns the user, or a not_found error.
func (db *DB) UserByUsername(ctx context.Context, username string) (schema.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return u, schema.Errorf(schema.ECodeNotFound, "username", "no user %q", username)
	}
	return u, err
}

// UserByID returns the user, or a not_found error.
func (db *DB) UserByID(ctx context.Context, id string) (schema.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, schema.Errorf(schema.ECodeNotFound, "id", "no user %q", id)
	}
	return u, err
}

// Authenticate checks a username and password. Every failure is the same
// unauthorized error, a disabled account's too, so the answer does not
// tell which part was wrong, nor that the password was right.
func (db *DB) Authenticate(ctx context.Context, username, password string) (schema.User, error) {
	var hash string
	row := db.r.QueryRowContext(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE username = ?`, username)
	var u schema.User
	var role string
	var disabled int
	err := row.Scan(&u.ID, &u.Username, &u.Name, &role, &u.TeamID, &disabled, &hash)
	bad := schema.Errorf(schema.ECodeUnauthorized, "password", "wrong username or password")
	if errors.Is(err, sql.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return schema.User{}, bad
	}
	if err != nil {
		return schema.User{}, fmt.Errorf("authenticate: %w", err)
	}
	// A disabled account answers as a wrong password does: saying it is
	// disabled would confirm the password to whoever tries one.
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || disabled == 1 {
		return schema.User{}, bad
	}
	u.Role = schema.Role(role)
	return u, nil
}

// ListUsers returns every user, by username.
func (db *DB) ListUsers(ctx context.Context) ([]schema.User, error) {
	db.usersListed.Add(1)
	rows, err := db.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []schema.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// ListTeams returns every team, by name.
func (db *DB) ListTeams(ctx context.Context) ([]schema.Team, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, name FROM teams ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	defer rows.Close()
	var out []schema.Team
	for rows.Next() {
		var t schema.Team
		if err := rows.Scan(&t.ID, &t.Name); err != nil {
			return nil, fmt.Errorf("list teams: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Setting returns a server setting and whether it is set.
func (db *DB) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, true, nil
}

// DeleteSetting removes a server setting; deleted says whether it was set.
func (db *DB) DeleteSetting(ctx context.Context, key string) (deleted bool, err error) {
	err = db.update(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, key)
		if err != nil {
			return fmt.Errorf("delete setting %s: %w", key, err)
		}
		n, err := res.RowsAffected()
		deleted = n > 0
		return err
	})
	return deleted, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SetUserDisabled disables or enables the account named username. A
// disabled user cannot sign in, every refresh token of theirs is revoked
// (so their tablets get no new access token once the current one expires),
// and the dashboard ends their session at its next request. Enabling does
// not bring the revoked tokens back: the user signs in again.
func (db *DB) SetUserDisabled(ctx context.Context, actor Actor, username string, disabled bool) (schema.User, error) {
	if err := requireAdmin(actor); err != nil {
		return schema.User{}, err
	}
	var u schema.User
	err := db.update(ctx, func(tx *wtx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
		if errors.Is(err, sql.ErrNoRows) {
			return schema.Errorf(schema.ECodeNotFound, "username", "no user %q", username)
		}
		if err != nil {
			return err
		}
		if u.Disabled == disabled {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, boolInt(disabled), u.ID); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		u.Disabled = disabled
		action := "enable_user"
		if disabled {
			action = "disable_user"
			if err := tx.revokeUserTokens(ctx, u.ID); err != nil {
				return err
			}
		}
		return tx.audit(actor, action, "user", u.ID, "", nil)
	})
	return u, err
}
