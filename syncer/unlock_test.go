package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
)

const rightPassword = "correct horse battery"

// testDay is when the device clocks the tests move by hand start.
var testDay = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestUnlockWaitDoublesAndIsCapped(t *testing.T) {
	t.Parallel()
	for failures, want := range map[int]time.Duration{
		0: 0, 4: 0, 5: 30 * time.Second, 6: time.Minute, 7: 2 * time.Minute, 8: 4 * time.Minute, 9: 8 * time.Minute,
		10: MaxUnlockWait, 40: MaxUnlockWait,
	} {
		if got := unlockWait(failures); got != want {
			t.Errorf("unlockWait(%d) = %v, want %v", failures, got, want)
		}
	}
	for d, want := range map[time.Duration]string{time.Second: "1 second", 30 * time.Second: "30 seconds",
		time.Minute: "1 minute", 90 * time.Second: "1 minute 30 seconds", 8 * time.Minute: "8 minutes", 1500 * time.Millisecond: "2 seconds"} {
		if got := WaitText(d); got != want {
			t.Errorf("WaitText(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestWrongPasswordsAreCountedAndDelayed: wrong passwords are counted; a
// right one resets the count; from the fifth each try waits, doubling; a
// try during the wait is refused unchecked and not counted; the count and
// the wait survive a restart of the agent.
func TestWrongPasswordsAreCountedAndDelayed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	clk := testkit.NewClock(testDay)
	a := newAgent(t, p, func(c *Config) { c.Now = clk.Now })

	wrong := func(a *Agent, n int) UnlockState {
		t.Helper()
		u, st, err := a.Unlock(ctx, "asha.officer", "wrong password!")
		mustCode(t, err, schema.ECodeUnauthorized, "")
		if u.ID != "" || st.Failures != n || st.Left != MaxUnlockFailures-n || st.Wait != unlockWait(n) {
			t.Fatalf("wrong password %d: user %q state %+v", n, u.ID, st)
		}
		return st
	}
	wrong(a, 1)
	// A wrong username is a wrong try too.
	if _, st, err := a.Unlock(ctx, "someone.else", rightPassword); schema.ErrorCode(err) != schema.ECodeUnauthorized || st.Failures != 2 {
		t.Fatalf("wrong username: %+v %v", st, err)
	}
	if u, st, err := a.Unlock(ctx, "asha.officer", rightPassword); err != nil || u.ID != p.user.ID || st.Failures != 0 || st.Left != MaxUnlockFailures {
		t.Fatalf("right password after 2 wrong: %+v %+v %v", u, st, err)
	}
	if st, _ := a.UnlockState(ctx); st.Failures != 0 {
		t.Fatalf("the right password did not reset the count: %+v", st)
	}

	for i := 1; i < FreeUnlockFailures; i++ {
		if st := wrong(a, i); st.Wait != 0 {
			t.Fatalf("wrong password %d already waits: %+v", i, st)
		}
	}
	st := wrong(a, FreeUnlockFailures)
	if st.WaitSeconds != 30 || !st.RetryAt.Equal(clk.Now().Add(30*time.Second)) {
		t.Fatalf("after %d wrong: %+v, want a wait of 30 s", FreeUnlockFailures, st)
	}
	// During the wait even the right password is refused, and not counted.
	_, st, err := a.Unlock(ctx, "asha.officer", rightPassword)
	mustCode(t, err, schema.ECodeRateLimited, "password")
	if st.Failures != FreeUnlockFailures || st.WaitSeconds != 30 || !strings.Contains(err.Error(), "wait 30 seconds") {
		t.Fatalf("during the wait: %+v %v", st, err)
	}
	clk.Advance(29 * time.Second)
	if _, st, err := a.Unlock(ctx, "asha.officer", "wrong password!"); schema.ErrorCode(err) != schema.ECodeRateLimited || st.WaitSeconds != 1 || st.Failures != FreeUnlockFailures {
		t.Fatalf("1 s before the end of the wait: %+v %v", st, err)
	}
	clk.Advance(time.Second)
	if st := wrong(a, FreeUnlockFailures+1); st.WaitSeconds != 60 {
		t.Fatalf("the wait did not double: %+v", st)
	}

	// A restart keeps the count and the wait.
	dir := filepath.Dir(a.DB().Path())
	a.Close()
	clk.Advance(20 * time.Second)
	a2, err := Open(ctx, Config{DataDir: dir, ServerURL: p.URL(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if st, _ := a2.UnlockState(ctx); st.Failures != FreeUnlockFailures+1 || st.WaitSeconds != 40 || st.Left != MaxUnlockFailures-FreeUnlockFailures-1 {
		t.Fatalf("after a restart: %+v", st)
	}
	if _, _, err := a2.Unlock(ctx, "asha.officer", rightPassword); schema.ErrorCode(err) != schema.ECodeRateLimited {
		t.Fatalf("the restart ended the wait: %v", err)
	}
	// A clock set back does not make the wait longer than one wait.
	clk.Advance(-time.Hour)
	if _, st, err := a2.Unlock(ctx, "asha.officer", rightPassword); schema.ErrorCode(err) != schema.ECodeRateLimited || st.WaitSeconds != 60 {
		t.Fatalf("clock set back: %+v %v", st, err)
	}
	clk.Advance(time.Minute)
	if u, st, err := a2.Unlock(ctx, "asha.officer", rightPassword); err != nil || u.ID != p.user.ID || st.Failures != 0 {
		t.Fatalf("right password after the wait: %+v %v", st, err)
	}
}

// TestWrongPasswordsSideBySideAreEachCounted: guesses sent at once are
// counted one by one.
func TestWrongPasswordsSideBySideAreEachCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAgent(t, newPeer(t), nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { a.Unlock(ctx, "asha.officer", "wrong password!") })
	}
	wg.Wait()
	if st, _ := a.UnlockState(ctx); st.Failures != 4 {
		t.Fatalf("4 wrong passwords side by side counted as %d", st.Failures)
	}
}

// wrongUntilLockedOut types wrong passwords, waiting out each wait, until
// the tablet is locked out, and returns the last answer.
func wrongUntilLockedOut(t *testing.T, a *Agent, clk *testkit.Clock) UnlockState {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= MaxUnlockFailures; i++ {
		_, st, err := a.Unlock(ctx, "asha.officer", "wrong password!")
		if i < MaxUnlockFailures {
			mustCode(t, err, schema.ECodeUnauthorized, "")
			clk.Advance(st.Wait)
			continue
		}
		mustCode(t, err, schema.ECodeForbidden, "password")
		if !st.LockedOut || st.Failures != MaxUnlockFailures {
			t.Fatalf("wrong password %d: %+v", i, st)
		}
		return st
	}
	panic("unreachable")
}

// TestTooManyWrongPasswordsKeepUnsentChanges: the tenth wrong password
// locks the tablet out (no password, no PIN, no tokens), but a tablet with
// unsent changes keeps its records and its outbox; after a restart it is
// still locked out; an online sign-in ends it and the changes are sent.
func TestTooManyWrongPasswordsKeepUnsentChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	clk := testkit.NewClock(testDay)
	a := newAgent(t, p, func(c *Config) { c.Now = clk.Now })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	member, err := a.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
		"relation": json.RawMessage(`"partner"`), "residence": json.RawMessage(`"lives_here"`), "name": json.RawMessage(`"Kim Unsent"`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetPIN(ctx, rightPassword, testPIN); err != nil {
		t.Fatal(err)
	}

	if st := wrongUntilLockedOut(t, a, clk); st.Erased {
		t.Fatalf("a tablet with unsent changes was erased: %+v", st)
	}
	if _, _, err := a.Unlock(ctx, "asha.officer", rightPassword); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("the right password after the lockout: %v", err)
	}
	if _, _, err := a.UnlockPIN(ctx, testPIN); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("the PIN after the lockout: %v", err)
	}
	st, _ := a.Status(ctx)
	if st.SignedIn || st.User == nil || st.Pending != 1 {
		t.Fatalf("status after the lockout: %+v", st)
	}
	// The lockout dropped the data key: the member is there, sealed, and
	// reads again after the online sign-in below.
	if _, err := a.Get(ctx, "household_member", member.ID); !errors.Is(err, ErrLocked) {
		t.Fatalf("reading the unsent member after the lockout: %v, want ErrLocked", err)
	}
	if _, err := a.SyncOnce(ctx); err == nil {
		t.Fatal("a locked-out tablet still syncs")
	}
	if n := p.pushCount(); n != 0 {
		t.Fatalf("%d pushes from a locked-out tablet", n)
	}
	dir := filepath.Dir(a.DB().Path())
	b, _ := os.ReadFile(a.DB().Path())
	for _, k := range []string{"argon2id", "refresh-0", "access-0"} {
		if strings.Contains(string(b), k) {
			t.Errorf("the database file still holds %q after the lockout", k)
		}
	}

	a.Close()
	a2, err := Open(ctx, Config{DataDir: dir, ServerURL: p.URL(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if st, _ := a2.UnlockState(ctx); !st.LockedOut {
		t.Fatalf("a restart ended the lockout: %+v", st)
	}
	if _, _, err := a2.Unlock(ctx, "asha.officer", rightPassword); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("the right password after a restart: %v", err)
	}
	// The online sign-in ends it, and the change goes.
	if _, err := a2.Login(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatal(err)
	}
	if st, _ := a2.UnlockState(ctx); st.LockedOut || st.Failures != 0 {
		t.Fatalf("after the online sign-in: %+v", st)
	}
	if rep, err := a2.SyncOnce(ctx); err != nil || rep.Applied != 1 {
		t.Fatalf("sync after the sign-in: %+v %v", rep, err)
	}
	if _, _, err := a2.Unlock(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatalf("offline unlock after the sign-in: %v", err)
	}
}

// TestTooManyWrongPasswordsEraseWhenNothingIsUnsent: with an empty outbox
// the lockout erases the caseload too; the server has all of it.
func TestTooManyWrongPasswordsEraseWhenNothingIsUnsent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	clk := testkit.NewClock(testDay)
	a := newAgent(t, p, func(c *Config) { c.Now = clk.Now })
	seed(t, a, p, caseRecord(schema.NewID()))
	if st := wrongUntilLockedOut(t, a, clk); !st.Erased {
		t.Fatalf("an empty outbox and the caseload kept: %+v", st)
	}
	if recs, _ := a.List(ctx, "", ""); len(recs) != 0 {
		t.Fatalf("%d records after the lockout", len(recs))
	}
	st, _ := a.Status(ctx)
	if st.SignedIn || st.User != nil || st.Cursor != "" || st.Revoked {
		t.Fatalf("status after the lockout: %+v", st)
	}
	if us, _ := a.UnlockState(ctx); !us.LockedOut {
		t.Fatalf("the lockout was not kept: %+v", us)
	}
	b, _ := os.ReadFile(a.DB().Path())
	if strings.Contains(string(b), "1 High St") {
		t.Fatal("the case address is still in the database file")
	}
	if _, err := a.Login(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Unlock(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatalf("offline unlock after the sign-in: %v", err)
	}
}

// TestRightPINClearsWrongPasswords: the PIN proves who is there too.
func TestRightPINClearsWrongPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAgent(t, newPeer(t), nil)
	if err := a.SetPIN(ctx, rightPassword, testPIN); err != nil {
		t.Fatal(err)
	}
	a.Unlock(ctx, "asha.officer", "wrong password!")
	if _, _, err := a.UnlockPIN(ctx, testPIN); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.UnlockState(ctx); st.Failures != 0 {
		t.Fatalf("after the right PIN: %+v", st)
	}
}
