package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"doorstep/schema"
)

// Failed sign-ins are counted in the database (table sign_in_throttle), so
// the API's login and the dashboard's sign-in share one count, a restart
// forgets nothing and several server instances agree. A count brings waits
// that grow, never a lockout: after its free tries each failure makes the
// next try wait, twice as long each time, up to a cap
// (docs/decisions/0027-sign-in-waits-not-lockouts.md).
const (
	// FreeSignInFailures is how many wrong passwords in a row one address
	// may give for one account before the next try must wait.
	FreeSignInFailures = 5
	// SignInWarnTries: with this many free tries left or fewer, a failed
	// sign-in says how many.
	SignInWarnTries = 2
	// FirstSignInWait is the first wait; each further failure doubles it.
	FirstSignInWait = 30 * time.Second
	// MaxSignInWait caps the waits of one address.
	MaxSignInWait = 15 * time.Minute
	// MaxAccountSignInWait caps the wait that an account's failures from
	// every address bring: the most that someone else's failures can delay
	// the account's holder signing in from another address.
	MaxAccountSignInWait = time.Minute
	// signInMemory: a counter without a failure for this long starts over.
	signInMemory = 24 * time.Hour
)

// signInCounter is one of the three counts a failed sign-in adds to.
type signInCounter struct {
	name              string // in audit events
	username, address string // '' for any
	free              int
	maxWait           time.Duration
}

// signInCounters are the counts of a sign-in as username from address:
// the pair's, the account's (from any address) and the address's (for any
// account).
func signInCounters(username, address string) []signInCounter {
	return []signInCounter{
		{"account_address", username, address, FreeSignInFailures, MaxSignInWait},
		{"account", username, "", 2 * FreeSignInFailures, MaxAccountSignInWait},
		{"address", "", address, 4 * FreeSignInFailures, MaxSignInWait},
	}
}

// wait is the wait after the counter's failures-th failure.
func (c signInCounter) wait(failures int) time.Duration {
	if failures < c.free {
		return 0
	}
	w := FirstSignInWait
	for i := c.free; i < failures && w < c.maxWait; i++ {
		w *= 2
	}
	return min(w, c.maxWait)
}

// SignInAttempt is one try to sign in.
type SignInAttempt struct {
	Username, Password string
	Address            string // the client's address
	DeviceID           string // the device signing in; "" for the dashboard
	Via                string // "api" or "dashboard", for the audit
}

// Throttle is what the counts say after a sign-in was refused.
type Throttle struct {
	// Wait is how long until the next try is checked; 0 for at once.
	Wait time.Duration
	// TriesLeft is how many failures may follow before a wait (when Wait
	// is 0).
	TriesLeft int
}

// Advice tells a person what the throttle means for their next try: when
// to try again, or how many tries are left before a wait (only when few
// are); "" when there is nothing to say.
func (th Throttle) Advice() string {
	switch {
	case th.Wait > 0:
		return "try again in " + HumanWait(th.Wait)
	case th.TriesLeft == 1:
		return "1 try left before a wait"
	case th.TriesLeft > 0 && th.TriesLeft <= SignInWarnTries:
		return fmt.Sprintf("%d tries left before a wait", th.TriesLeft)
	}
	return ""
}

// HumanWait says d in whole seconds under a minute, else in whole minutes
// (rounded up, so the try is never early).
func HumanWait(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s < 60 {
		if s == 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", s)
	}
	m := (s + 59) / 60
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// SignIn checks a sign-in against the counts of failed ones, then the
// password. During a wait the password is not checked and the try is not
// counted: rate_limited, with the wait in the Throttle (audited,
// sign_in_locked). A wrong password
// (or an unknown user, or a disabled account: one answer for all) is
// counted and audited (sign_in_failed; sign_in_throttled when it starts a
// wait) and answers unauthorized with the Throttle that follows, the
// advice in its message. A success forgets the account's counts (not the
// address's).
func (db *DB) SignIn(ctx context.Context, a SignInAttempt) (schema.User, Throttle, error) {
	return db.throttled(ctx, a, func() (schema.User, error) { return db.Authenticate(ctx, a.Username, a.Password) })
}

// SetUp sets a.Password as the password of a.Username with the one-time
// setup code (SetPassword), under the counts of failed sign-ins as SignIn
// is: a wrong, spent or expired code is a failed sign-in (counted, audited
// sign_in_failed with a.Via, its advice in the message), and during a wait
// the code is not checked, so that guessing codes is slowed as guessing
// passwords is. A weak password with the right code is not counted.
func (db *DB) SetUp(ctx context.Context, a SignInAttempt, code string) (schema.User, Throttle, error) {
	return db.throttled(ctx, a, func() (schema.User, error) { return db.SetPassword(ctx, a.Username, code, a.Password) })
}

// throttled runs check, a proof of who a.Username is (a password, a setup
// code), under the counts of failed sign-ins (SignIn says how). An
// unauthorized error of check is counted and answered with the throttle's
// advice added to its message.
func (db *DB) throttled(ctx context.Context, a SignInAttempt, check func() (schema.User, error)) (schema.User, Throttle, error) {
	// PostgreSQL's text holds no NUL (decision 0048), and no username,
	// device id or address does: refused before anything is counted.
	for _, f := range [...]struct{ field, v string }{{"username", a.Username}, {"device_id", a.DeviceID}, {"address", a.Address}} {
		if field := f.field; strings.IndexByte(f.v, 0) >= 0 {
			return schema.User{}, Throttle{}, schema.Errorf(schema.ECodeInvalid, field, "%s holds a NUL character (\\u0000), which no text may hold", field)
		}
	}
	counters := signInCounters(a.Username, a.Address)
	wait, err := db.signInWait(ctx, counters)
	if err != nil {
		return schema.User{}, Throttle{}, err
	}
	if wait > 0 {
		th := Throttle{Wait: wait}
		err := db.update(ctx, func(tx *wtx) error {
			userID, err := tx.userIDNamed(ctx, a.Username)
			if err != nil {
				return err
			}
			return tx.audit(Actor{DeviceID: a.DeviceID}, "sign_in_locked", "user", userID, "", a.auditDetail(nil))
		})
		if err != nil {
			return schema.User{}, Throttle{}, err
		}
		return schema.User{}, th, schema.Errorf(schema.ECodeRateLimited, "username", "too many failed sign-ins; %s", th.Advice())
	}
	u, err := check()
	if err == nil {
		err = db.update(ctx, func(tx *wtx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM sign_in_throttle WHERE username = ? AND address IN (?, '')`, a.Username, a.Address)
			return err
		})
		if err != nil {
			return schema.User{}, Throttle{}, fmt.Errorf("sign in: forget failures: %w", err)
		}
		return u, Throttle{}, nil
	}
	refused := schema.AsError(err)
	if refused == nil || refused.Code != schema.ECodeUnauthorized {
		return schema.User{}, Throttle{}, err
	}
	th, err := db.signInFailed(ctx, a, counters)
	if err != nil {
		return schema.User{}, Throttle{}, err
	}
	msg := refused.Message
	if adv := th.Advice(); adv != "" {
		msg += "; " + adv
	}
	return schema.User{}, th, schema.Errorf(schema.ECodeUnauthorized, refused.Field, "%s", msg)
}

// signInWait is how long until a sign-in with counters may be checked.
func (db *DB) signInWait(ctx context.Context, counters []signInCounter) (time.Duration, error) {
	now := db.now().UTC()
	var until sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT max(wait_until) FROM sign_in_throttle
		WHERE (username = ? AND address = ?) OR (username = ? AND address = ?) OR (username = ? AND address = ?)`,
		counters[0].username, counters[0].address, counters[1].username, counters[1].address,
		counters[2].username, counters[2].address).Scan(&until)
	if err != nil {
		return 0, fmt.Errorf("sign in: read failures: %w", err)
	}
	if !until.Valid {
		return 0, nil
	}
	return max(parseTime(until.String).Sub(now), 0), nil
}

// signInFailed counts a failed sign-in in each of its counters and audits
// it, in one transaction.
func (db *DB) signInFailed(ctx context.Context, a SignInAttempt, counters []signInCounter) (Throttle, error) {
	var th Throttle
	err := db.update(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_throttle WHERE last_failed_at < ?`, fmtTime(tx.now.Add(-signInMemory))); err != nil {
			return fmt.Errorf("sign in: forget old failures: %w", err)
		}
		th = Throttle{TriesLeft: FreeSignInFailures}
		var waits []string
		var pairFailures int
		for i, c := range counters {
			var n int
			err := tx.QueryRowContext(ctx, `SELECT failures FROM sign_in_throttle WHERE username = ? AND address = ?`, c.username, c.address).Scan(&n)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("sign in: read failures: %w", err)
			}
			n++
			if i == 0 {
				pairFailures = n
			}
			w := c.wait(n)
			if _, err := tx.ExecContext(ctx, `INSERT INTO sign_in_throttle (username, address, failures, last_failed_at, wait_until)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (username, address) DO UPDATE SET
				failures = excluded.failures, last_failed_at = excluded.last_failed_at, wait_until = excluded.wait_until`,
				c.username, c.address, n, tx.nowText, fmtTime(tx.now.Add(w))); err != nil {
				return fmt.Errorf("sign in: count failure: %w", err)
			}
			if w > 0 {
				waits = append(waits, c.name)
			}
			th.Wait = max(th.Wait, w)
			th.TriesLeft = min(th.TriesLeft, max(c.free-n, 0))
		}
		userID, err := tx.userIDNamed(ctx, a.Username)
		if err != nil {
			return err
		}
		// The actor is nobody: the try did not prove to be the user it
		// names; the user, when there is one, is the event's record.
		actor := Actor{DeviceID: a.DeviceID}
		if err := tx.audit(actor, "sign_in_failed", "user", userID, "", a.auditDetail(map[string]any{"failures": pairFailures})); err != nil {
			return err
		}
		if th.Wait == 0 {
			return nil
		}
		return tx.audit(actor, "sign_in_throttled", "user", userID, "", a.auditDetail(map[string]any{
			"wait_seconds": int(th.Wait / time.Second), "until": fmtTime(tx.now.Add(th.Wait)), "counters": waits}))
	})
	return th, err
}

// auditDetail is the detail of a sign-in's audit event: via, the username
// as typed (never the password) and the address, with more.
func (a SignInAttempt) auditDetail(more map[string]any) map[string]any {
	d := map[string]any{"via": a.Via, "username": strings.ToValidUTF8(a.Username, "?"), "addr": a.Address}
	maps.Copy(d, more)
	return d
}

// ClearSignInFailures forgets the failed sign-ins of username from every
// address (doorstep admin unlock-user), so its holder can try at once; the
// addresses' own counts stay. Admins only; audited (sign_in_unlocked).
func (db *DB) ClearSignInFailures(ctx context.Context, actor Actor, username string) (int, error) {
	if err := requireAdmin(actor); err != nil {
		return 0, err
	}
	u, err := db.UserByUsername(ctx, username)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.update(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sign_in_throttle WHERE username = ?`, username)
		if err != nil {
			return fmt.Errorf("clear sign-in failures: %w", err)
		}
		n, _ = res.RowsAffected()
		return tx.audit(actor, "sign_in_unlocked", "user", u.ID, "", map[string]any{"username": username, "counters": n})
	})
	return int(n), err
}

// userIDNamed is the id of the user named username, "" when there is none:
// the record of a sign-in event that did not prove to be that user.
func (tx *wtx) userIDNamed(ctx context.Context, username string) (string, error) {
	var userID string
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, username).Scan(&userID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sign in: find user: %w", err)
	}
	return userID, nil
}
