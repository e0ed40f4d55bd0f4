package serverdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"doorstep/schema"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/bcrypt"
)

// minPasswordScore is the least zxcvbn score (0 to 4) a password must
// reach: 3 is "safely unguessable", about 10^8 guesses or more, which
// refuses "password12", "1234567890", "qwertyuiop" and a password made of
// the username or the name (docs/decisions/0023-passwords.md).
const minPasswordScore = 3

// SetupCodeTTL is how long a one-time setup code can be used.
const SetupCodeTTL = 72 * time.Hour

// CheckPassword refuses a password for u that is too short or too long
// (schema.ValidatePassword) or that a strength estimator finds guessable:
// common passwords, keyboard runs, dates, repeats, and anything close to
// the user's username or name. It is the rule for every role.
func CheckPassword(u schema.User, password string) error {
	if err := schema.ValidatePassword(password); err != nil {
		return err
	}
	hints := append([]string{u.Username, u.Name, "doorstep"}, strings.FieldsFunc(u.Username, func(r rune) bool { return r == '.' || r == '_' || r == '-' })...)
	if zxcvbn.PasswordStrength(password, hints).Score < minPasswordScore {
		return schema.Errorf(schema.ECodeInvalid, "password", "this password is too easy to guess (a common password, a keyboard run, or close to the username or name): choose a longer one, such as three or four unrelated words")
	}
	return nil
}

// newSetupCode returns a one-time code people can type: 20 characters
// from an alphabet without look-alikes, about 99 bits, so its SHA-256 is
// safe to store and guessing it is hopeless.
func newSetupCode() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:5]) + "-" + string(b[5:10]) + "-" + string(b[10:15]) + "-" + string(b[15:])
}

func hashSetupCode(code string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(code))))
	return hex.EncodeToString(h[:])
}

// IssueSetupCode gives the user a new one-time setup code, valid for
// SetupCodeTTL, with which they set their own password (SetPassword). Their
// current password stops working, every refresh token of theirs is
// revoked and their access tokens stop (a reset is also what an admin does
// when a password may be known to someone else). Audited.
func (db *DB) IssueSetupCode(ctx context.Context, actor Actor, username string) (code string, expires time.Time, err error) {
	if err := requireAdmin(actor); err != nil {
		return "", time.Time{}, err
	}
	code = newSetupCode()
	err = db.update(ctx, func(tx *wtx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
		if errors.Is(err, sql.ErrNoRows) {
			return schema.Errorf(schema.ECodeNotFound, "username", "no user %q", username)
		}
		if err != nil {
			return fmt.Errorf("issue setup code: %w", err)
		}
		expires = tx.now.Add(SetupCodeTTL)
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = '', setup_code_hash = ?, setup_expires_at = ? WHERE id = ?`,
			hashSetupCode(code), fmtTime(expires), u.ID); err != nil {
			return fmt.Errorf("issue setup code: %w", err)
		}
		if err := tx.revokeUserTokens(ctx, u.ID); err != nil {
			return err
		}
		return tx.audit(actor, "issue_setup_code", "user", u.ID, "", map[string]any{"expires_at": fmtTime(expires)})
	})
	return code, expires, err
}

// SetPassword sets the password of the user whose one-time setup code
// this is, and spends the code. A wrong, spent or expired code, or an
// unknown username, is the one unauthorized error; a weak password is
// refused (CheckPassword) and leaves the code usable. Audited.
func (db *DB) SetPassword(ctx context.Context, username, code, password string) (schema.User, error) {
	bad := schema.Errorf(schema.ECodeUnauthorized, "code", "the setup code is not right, or it has been used or has expired: ask an admin for a new one")
	var u schema.User
	err := db.update(ctx, func(tx *wtx) error {
		var hash, expires string
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+`, setup_code_hash, setup_expires_at FROM users WHERE username = ?`, username), &hash, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return bad
		}
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		exp := parseTime(expires)
		if hash == "" || subtle.ConstantTimeCompare([]byte(hash), []byte(hashSetupCode(code))) != 1 || !tx.now.Before(exp) || u.Disabled {
			return bad
		}
		if err := CheckPassword(u, password); err != nil {
			return err
		}
		ph, err := bcrypt.GenerateFromPassword([]byte(password), passwordCost)
		if err != nil {
			return fmt.Errorf("hash password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, setup_code_hash = '', setup_expires_at = '' WHERE id = ?`, string(ph), u.ID); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		return tx.audit(Actor{UserID: u.ID, Role: u.Role, TeamID: u.TeamID}, "set_password", "user", u.ID, "", nil)
	})
	return u, err
}
