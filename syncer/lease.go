package syncer

// The offline lease (docs/sync-protocol.md §5.1, docs/security.md "The
// offline lease", decision 0034). Every answer the server gives this
// tablet's credential carries a lease signed with the server's Ed25519
// key; the tablet pins that key at its first sign-in that brings one
// (TokenResponse.server_public_key), checks each lease against it, and
// keeps the newest. Past the lease's valid_until the officer's app and the
// local API lock until an online sign-in brings a new lease; past its
// grace_until the tablet destroys its keys (Config.ShredKeys). The time
// the lease is judged by never goes back on the tablet's word alone: it is
// the latest of the device's clock (corrected by the measured skew) and
// every time seen before, and only a newer lease, the server's word, sets
// it back to its issue time.

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// Lease states (LeaseStatus.State).
const (
	// LeaseNone: no server key is pinned (no sign-in yet, or the server
	// issues no leases): nothing is locked by a lease.
	LeaseNone = "none"
	// LeaseValid: the tablet may be used, offline too, until ValidUntil.
	LeaseValid = "valid"
	// LeaseExpired: the lease ran out (or none is held though a server key
	// is pinned): only an online sign-in opens the tablet.
	LeaseExpired = "expired"
	// LeaseShredded: the grace ran out too and the tablet destroyed its
	// keys; an online sign-in starts afresh.
	LeaseShredded = "shredded"
)

// LeaseStatus is how the tablet's offline lease stands.
type LeaseStatus struct {
	State      string    `json:"state"`
	IssuedAt   time.Time `json:"issued_at,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	GraceUntil time.Time `json:"grace_until,omitzero"`
	// ShreddedAt is when the tablet destroyed its keys (state shredded).
	ShreddedAt time.Time `json:"shredded_at,omitzero"`
	// Problem says why the last lease the server sent was refused (a
	// signature that is not the pinned key's, another device's lease);
	// "" when it was taken.
	Problem string `json:"problem,omitempty"`
}

// leaseState is the agent's lease, under leaseMu.
type leaseState struct {
	pub      ed25519.PublicKey // the pinned server key; nil: none pinned
	lease    *schema.Lease     // the newest lease taken; nil: none
	tok      string            // lease as the server sent it
	seen     time.Time         // the latest time seen
	stored   time.Time         // seen as last stored
	shredded time.Time         // when the keys were destroyed; zero: not
	problem  string
	// dropped: the stored lease did not verify when the agent opened (an
	// edit of the file): it counts as one that ran out.
	dropped bool
}

// loadLease reads the pinned key, the lease and the times from the store
// when the agent opens. A stored lease is checked again: one edited in the
// file is dropped (and the tablet is then locked, a key being pinned).
func (a *Agent) loadLease(st map[string]string) error {
	ls := &a.leaseSt
	if k := st[devicedb.KeyServerKey]; k != "" {
		pub, err := schema.ParsePublicKey(k)
		if err != nil {
			return errors.New("the stored server key is damaged")
		}
		ls.pub = pub
	}
	ls.seen, _ = time.Parse(time.RFC3339Nano, st[devicedb.KeyLeaseSeenAt])
	ls.stored = ls.seen
	ls.shredded, _ = time.Parse(time.RFC3339Nano, st[devicedb.KeyShreddedAt])
	if tok := st[devicedb.KeyLease]; tok != "" && ls.pub != nil {
		l, err := schema.VerifyLease(ls.pub, tok)
		if err != nil || l.DeviceID != a.deviceID {
			a.log.Warn("the stored offline lease does not verify against the pinned server key; only an online sign-in opens the tablet", "err", err)
			ls.dropped = true
		} else {
			ls.lease, ls.tok = &l, tok
		}
	}
	return nil
}

// leaseNow is the time the lease is judged by: the device's clock
// corrected by the skew, or the latest time seen before when that is
// later (a clock set back does not lengthen the lease).
func (a *Agent) leaseNow() time.Time {
	now := a.serverNow()
	a.leaseMu.Lock()
	defer a.leaseMu.Unlock()
	if now.After(a.leaseSt.seen) {
		a.leaseSt.seen = now
	}
	return a.leaseSt.seen
}

// statusAt is the lease's status at now; the caller holds leaseMu.
func (ls *leaseState) statusAt(now time.Time) LeaseStatus {
	s := LeaseStatus{State: LeaseNone, Problem: ls.problem}
	if ls.lease != nil {
		s.IssuedAt, s.ValidUntil, s.GraceUntil = ls.lease.IssuedAt, ls.lease.ValidUntil, ls.lease.GraceUntil
	}
	switch {
	case ls.pub == nil:
	case !ls.shredded.IsZero():
		s.State, s.ShreddedAt = LeaseShredded, ls.shredded
	case ls.lease == nil || !now.Before(ls.lease.ValidUntil):
		s.State = LeaseExpired
	default:
		s.State = LeaseValid
	}
	return s
}

// Lease reports how the offline lease stands, without acting on it.
func (a *Agent) Lease() LeaseStatus {
	now := a.leaseNow()
	a.leaseMu.Lock()
	defer a.leaseMu.Unlock()
	return a.leaseSt.statusAt(now)
}

// leaseExpiredError is the error of every local request refused because
// the lease ran out (code lease_expired, 423): when it ran out and when the
// keys go, or when they went.
func leaseExpiredError(s LeaseStatus) error {
	if s.State == LeaseShredded {
		return schema.Errorf(schema.ECodeLeaseExpired, "",
			"this tablet was not signed in online for too long and destroyed its data keys on %s: connect to the network and sign in online (POST /v1/login) to start again",
			s.ShreddedAt.UTC().Format(time.DateOnly))
	}
	msg := "this tablet has not reached the server for longer than its offline lease allows"
	if !s.ValidUntil.IsZero() {
		msg += fmt.Sprintf(" (it ran out on %s)", s.ValidUntil.UTC().Format("2006-01-02 15:04 MST"))
	}
	msg += ": connect to the network and sign in online (POST /v1/login) to open it again"
	if !s.GraceUntil.IsZero() {
		msg += fmt.Sprintf("; if nobody signs in online by %s, the tablet destroys its data keys", s.GraceUntil.UTC().Format("2006-01-02 15:04 MST"))
	}
	return schema.Errorf(schema.ECodeLeaseExpired, "", "%s", msg)
}

// CheckLease judges the lease now and acts on it: past grace_until it
// destroys the tablet's keys (Config.ShredKeys) once. It returns the
// status, and a lease_expired error when the lease does not let the
// tablet be used. The local API asks it on every request; Run at every
// turn, so a tablet nobody uses still shreds on time.
func (a *Agent) CheckLease(ctx context.Context) (LeaseStatus, error) {
	now := a.leaseNow()
	a.leaseMu.Lock()
	s := a.leaseSt.statusAt(now)
	shred := s.State == LeaseExpired && a.leaseSt.lease != nil && !now.Before(a.leaseSt.lease.GraceUntil)
	store := now.Sub(a.leaseSt.stored) >= time.Minute
	if store {
		a.leaseSt.stored = now
	}
	a.leaseMu.Unlock()
	if store {
		if err := a.setState(ctx, devicedb.KeyLeaseSeenAt, formatTime(now)); err != nil {
			a.log.Warn("store the time seen", "err", err)
		}
	}
	if shred {
		if err := a.shred(ctx, now); err != nil {
			a.log.Error("offline lease", "err", err)
			return s, errors.Join(leaseExpiredError(s), err)
		}
		s = a.Lease()
	}
	if s.State == LeaseExpired || s.State == LeaseShredded {
		return s, leaseExpiredError(s)
	}
	return s, nil
}

// shred destroys the tablet's keys after the grace ran out, and records
// that it did, so it happens once.
func (a *Agent) shred(ctx context.Context, now time.Time) error {
	a.shredMu.Lock()
	defer a.shredMu.Unlock()
	a.leaseMu.Lock()
	done := !a.leaseSt.shredded.IsZero()
	a.leaseMu.Unlock()
	if done {
		return nil
	}
	a.log.Warn("the offline lease's grace ran out: destroying this tablet's keys", "grace_until", a.Lease().GraceUntil)
	if err := a.cfg.ShredKeys(ctx); err != nil {
		return fmt.Errorf("destroy the keys after the lease's grace: %w", err)
	}
	if err := a.setState(ctx, devicedb.KeyShreddedAt, formatTime(now)); err != nil {
		return fmt.Errorf("destroy the keys after the lease's grace: %w", err)
	}
	a.leaseMu.Lock()
	a.leaseSt.shredded = now
	a.leaseMu.Unlock()
	return nil
}

// EraseLocalData erases what the revocation's wipe erases (records, outbox,
// tokens, the user, the offline verifiers), without marking the tablet
// revoked: the strongest destruction of local data this version has, and
// Config.ShredKeys's default.
func (a *Agent) EraseLocalData(ctx context.Context) error {
	return a.erase(ctx, "")
}

// DestroyKeys is what the tablet does when its offline lease's grace has
// run out (docs/security.md, "The offline lease"): on a sealed store it
// destroys the data key's wraps (devicedb.DB.DestroyKeyWraps), so nothing
// sealed can be read again, with the password or without, while the
// changes the outbox holds sealed to the server's key stay to be delivered
// at the next online sign-in, which starts the tablet afresh. A store kept
// in clear (Config.Unsealed, for benchmarks) is erased instead, as a
// revocation erases it.
func (a *Agent) DestroyKeys(ctx context.Context) error {
	if !a.db.Sealed() {
		return a.EraseLocalData(ctx)
	}
	return a.db.DestroyKeyWraps(ctx)
}

// takeLease checks a lease the server sent and keeps it when it is newer
// than the one held. userID is the user it must name ("" for the user
// signed in). With no key pinned it is ignored. A lease is refused when
// its signature is not the pinned key's, or it names another device or
// user; one no newer than the one held is ignored. A lease that has run
// out is renewed only by a sign-in (viaLogin): the answers to a background
// sync still deliver the pending work, but do not open the tablet.
func (a *Agent) takeLease(ctx context.Context, tok, userID string, viaLogin bool) error {
	now := a.leaseNow()
	a.leaseMu.Lock()
	pub := a.leaseSt.pub
	// The lease held, sent again (the server signs one a second): taking
	// it would change nothing, so it costs no check and no transaction.
	same := a.leaseSt.lease != nil && a.leaseSt.tok == tok
	a.leaseMu.Unlock()
	if same {
		return nil
	}
	refuse := func(err error) error {
		a.log.Warn("refused the server's offline lease", "err", err)
		a.leaseMu.Lock()
		a.leaseSt.problem = err.Error()
		a.leaseMu.Unlock()
		return err
	}
	if pub == nil {
		return nil // nothing to check it against: no lease applies yet (pinServerKey)
	}
	l, err := schema.VerifyLease(pub, tok)
	if err != nil {
		return refuse(err)
	}
	if l.DeviceID != a.deviceID {
		return refuse(fmt.Errorf("the lease is for device %q, not this one", l.DeviceID))
	}
	taken := false
	err = a.db.Update(ctx, func(tx *devicedb.Tx) error {
		if userID == "" {
			u, err := tx.State(ctx, devicedb.KeyUser)
			if err != nil {
				return err
			}
			cur, err := userOf(u)
			if err != nil || cur == nil {
				return refuse(errors.New("the lease came with nobody signed in"))
			}
			userID = cur.ID
		}
		if l.UserID != userID {
			return refuse(fmt.Errorf("the lease is for user %q, not the one signed in", l.Username))
		}
		a.leaseMu.Lock()
		held := a.leaseSt.statusAt(now)
		// Only a newer lease is taken: the one held again (a replay)
		// changes nothing, and cannot move the time seen back.
		stale := a.leaseSt.lease != nil && !l.IssuedAt.After(a.leaseSt.lease.IssuedAt)
		// A lease that ran out is renewed by a sign-in only; a tablet that
		// never held one (it pinned the key at a refresh) takes its first
		// from any answer.
		ranOut := held.State == LeaseShredded || a.leaseSt.dropped || (a.leaseSt.lease != nil && held.State == LeaseExpired)
		a.leaseMu.Unlock()
		if stale || (!viaLogin && ranOut) {
			return nil
		}
		for k, v := range map[string]string{
			devicedb.KeyLease:       tok,
			devicedb.KeyShreddedAt:  "",
			devicedb.KeyLeaseSeenAt: formatTime(l.IssuedAt),
		} {
			if err := tx.SetState(ctx, k, v); err != nil {
				return err
			}
		}
		taken = true
		return nil
	})
	if err != nil || !taken {
		return err
	}
	a.leaseMu.Lock()
	defer a.leaseMu.Unlock()
	a.leaseSt.lease, a.leaseSt.tok, a.leaseSt.problem, a.leaseSt.shredded, a.leaseSt.dropped = &l, tok, "", time.Time{}, false
	// The server's signed time replaces the time seen: a device clock that
	// ran ahead (before the skew was measured, or set wrong and put right)
	// must not keep the tablet locked after the server vouched for the
	// time. The device clock, skew-corrected, counts again from the next
	// look.
	a.leaseSt.seen, a.leaseSt.stored = l.IssuedAt, l.IssuedAt
	return nil
}

// pinServerKey pins the server's public key a sign-in's or a refresh's
// answer brought (base64), in its transaction, when none is pinned yet (a
// tablet that signed in before leases existed pins it at its next
// refresh). A key
// other than the pinned one is not taken: the leases it signs are refused
// (loginLease says so), and only the pinned key's holder can open the
// tablet again once its lease has run out.
// It returns the key newly pinned, for the caller to hold once the
// transaction commits (nil when none was).
func (a *Agent) pinServerKey(ctx context.Context, tx *devicedb.Tx, key string) (ed25519.PublicKey, error) {
	if key == "" {
		return nil, nil // a server that issues no lease
	}
	pub, err := schema.ParsePublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("the server's public key: %w", err)
	}
	a.leaseMu.Lock()
	pinned := a.leaseSt.pub
	a.leaseMu.Unlock()
	if pinned != nil {
		if !pinned.Equal(pub) {
			a.log.Error("the server's signing key is not the one this tablet pinned at its first sign-in; its leases are refused",
				"pinned", schema.EncodePublicKey(pinned), "sent", key)
		}
		return nil, nil
	}
	if err := tx.SetState(ctx, devicedb.KeyServerKey, key); err != nil {
		return nil, err
	}
	return pub, nil
}

// holdServerKey holds a key pinServerKey pinned, once its transaction
// committed.
func (a *Agent) holdServerKey(pub ed25519.PublicKey) {
	if pub == nil {
		return
	}
	a.log.Info("pinned the server's signing key", "key", schema.EncodePublicKey(pub))
	a.leaseMu.Lock()
	a.leaseSt.pub = pub
	a.leaseMu.Unlock()
}

// loginLease takes the lease of an online sign-in's answer for user. When
// it cannot (none came, or it does not verify) and the lease held does
// not let the tablet be used, the sign-in is refused: the tokens are kept,
// so pending work is still sent, but no session opens.
func (a *Agent) loginLease(ctx context.Context, tok, userID string) error {
	var err error
	if tok != "" {
		err = a.takeLease(ctx, tok, userID, true)
	} else if a.Lease().State != LeaseNone {
		err = errors.New("the server's answer carried no lease")
	}
	if err == nil {
		return nil
	}
	if _, cerr := a.CheckLease(ctx); cerr != nil {
		return schema.Errorf(schema.ECodeLeaseExpired, "",
			"the server's answer held no offline lease this tablet can verify (%v): the tablet stays locked; unsent changes are still sent. Ask an administrator: the server's signing key may have changed", err)
	}
	return nil
}
