package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// folderHolds names a file of dir holding s, or "".
func folderHolds(t *testing.T, dir, s string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && bytes.Contains(b, []byte(s)) {
			return e.Name()
		}
	}
	return ""
}

// putMember writes a household member named name on a's first case.
func putMember(t *testing.T, a *Agent, caseID, name string) schema.Record {
	t.Helper()
	r, err := a.Put(context.Background(), "household_member", "", caseID, map[string]json.RawMessage{
		"relation": raw("partner"), "residence": raw("lives_here"), "name": raw(name)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The first unlock after the upgrade seals a store written in clear by an
// earlier version: everything in one transaction, nothing left behind in
// the file or the WAL; a PIN set before must be set again.
func TestFirstUnlockAfterTheUpgradeSealsEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	clk := testkit.NewClock(testDay)
	dir := t.TempDir()
	// Unsealed is how this version writes as the ones before it did.
	old := newAgent(t, p, func(c *Config) { c.DataDir, c.Now, c.Unsealed = dir, clk.Now, true })
	caseID := schema.NewID()
	seed(t, old, p, caseRecord(caseID))
	putMember(t, old, caseID, "Probe Oldversion Lp5")
	if err := old.SetPIN(ctx, rightPassword, testPIN); err != nil {
		t.Fatal(err)
	}
	old.Close()
	if f := folderHolds(t, dir, "Probe Oldversion Lp5"); f == "" {
		t.Fatal("the old version's store holds no probe: the test would prove nothing")
	}

	a, err := Open(ctx, Config{DataDir: dir, ServerURL: p.URL(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.DB().Sealed() {
		t.Fatal("the store was sealed before anyone unlocked")
	}
	// The PIN cannot seal (its wrap needs the data key made with the
	// password): it says to use the password.
	if _, _, err := a.UnlockPIN(ctx, testPIN); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("the PIN at the first unlock after the upgrade: %v, want forbidden", err)
	}
	if _, _, err := a.Unlock(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatal(err)
	}
	if !a.DB().Sealed() {
		t.Fatal("the first unlock did not seal the store")
	}
	for _, probe := range []string{"Probe Oldversion Lp5", "refresh-0", "access-0"} {
		if f := folderHolds(t, dir, probe); f != "" {
			t.Errorf("%s still holds %q after sealing", f, probe)
		}
	}
	recs, err := a.List(ctx, "household_member", caseID)
	if err != nil || len(recs) != 1 || string(recs[0].Fields["name"]) != `"Probe Oldversion Lp5"` || !recs[0].Pending {
		t.Fatalf("the member after sealing: %+v %v", recs, err)
	}
	if st, _ := a.PIN(ctx); st.Set {
		t.Fatalf("the PIN set before sealing is still on: %+v", st)
	}
	// The unsent change goes, with the sealed tokens.
	if rep, err := a.SyncOnce(ctx); err != nil || rep.Applied != 1 {
		t.Fatalf("sync after sealing: %+v %v", rep, err)
	}
}

// The data key is dropped KeyHold after its last use; reads, writes and
// syncs wait for an unlock, by password or by PIN, and nothing waiting is
// lost.
func TestKeyDroppedAfterTheHoldTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	clk := testkit.NewClock(testDay)
	a := newAgent(t, p, func(c *Config) { c.Now, c.KeyHold = clk.Now, time.Hour })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	if err := a.SetPIN(ctx, rightPassword, testPIN); err != nil {
		t.Fatal(err)
	}
	m := putMember(t, a, caseID, "Probe Holdtime Vn2")

	clk.Advance(59 * time.Minute)
	if !a.KeepKey() {
		t.Fatal("the key was dropped before its hold time")
	}
	clk.Advance(59 * time.Minute) // the hold runs from the last use
	if !a.HoldsKey() {
		t.Fatal("the key was dropped before its hold time since the last use")
	}
	clk.Advance(2 * time.Minute)
	if a.HoldsKey() || a.KeepKey() {
		t.Fatal("the key is still held past its hold time")
	}
	if _, err := a.Get(ctx, "household_member", m.ID); !errors.Is(err, ErrLocked) {
		t.Fatalf("read while locked: %v", err)
	}
	if _, err := a.Put(ctx, "household_member", m.ID, "", map[string]json.RawMessage{"name": raw("X")}); !errors.Is(err, ErrLocked) {
		t.Fatalf("write while locked: %v", err)
	}
	if _, err := a.SyncOnce(ctx); !errors.Is(err, ErrLocked) {
		t.Fatalf("sync while locked: %v", err)
	}
	if n := p.pushCount(); n != 0 {
		t.Fatalf("%d pushes while locked", n)
	}
	if st, err := a.Status(ctx); err != nil || !st.Locked || st.Pending != 1 {
		t.Fatalf("status while locked: %+v %v", st, err)
	}
	if _, _, err := a.UnlockPIN(ctx, testPIN); err != nil {
		t.Fatalf("unlock with the PIN: %v", err)
	}
	if rep, err := a.SyncOnce(ctx); err != nil || rep.Applied != 1 {
		t.Fatalf("sync after the unlock: %+v %v", rep, err)
	}
	// Removing the PIN removes its way to the key.
	if err := a.ClearPIN(ctx, rightPassword); err != nil {
		t.Fatal(err)
	}
	a.DropKey()
	if _, _, err := a.UnlockPIN(ctx, testPIN); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("the removed PIN: %v", err)
	}
	if err := a.DB().OpenKey(ctx, devicedb.WrapPIN, testPIN); !errors.Is(err, devicedb.ErrNoKeyWrap) {
		t.Fatalf("the removed PIN's wrap: %v", err)
	}
}

// DestroyKeyWraps (the end of the offline lease's grace): the right
// password no longer unlocks offline, with a clear error; the next online
// sign-in starts the tablet afresh and pulls the caseload back.
func TestDestroyedKeyWrapsNeedAnOnlineSignIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	if err := a.DB().DestroyKeyWraps(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, err := a.Unlock(ctx, "asha.officer", rightPassword)
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeForbidden || e.Field != "password" {
		t.Fatalf("unlock after the wraps were destroyed: %v, want forbidden naming the password", err)
	}
	if _, err := a.Get(ctx, "case", caseID); !errors.Is(err, ErrLocked) {
		t.Fatalf("read after the wraps were destroyed: %v", err)
	}
	if _, err := a.Login(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "case", caseID); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Fatalf("the old caseload after the fresh start: %v, want not found until the next pull", err)
	}
	p.mu.Lock()
	p.pulls = nil
	p.mu.Unlock()
	seed(t, a, p, caseRecord(caseID))
	if _, err := a.Get(ctx, "case", caseID); err != nil {
		t.Fatalf("the caseload pulled again: %v", err)
	}
	if _, _, err := a.Unlock(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatalf("the offline unlock after the fresh start: %v", err)
	}
}

// A password changed on the server: the online sign-in with the new one
// wraps the key again while it is held; when it is not held and changes
// wait, the sign-in is refused (they are sealed under the old password)
// until the officer unlocks with the old one.
func TestNewPasswordAtTheOnlineSignIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	putMember(t, a, caseID, "Kept Across Resets")

	p.setPassword("a new password 2")
	if _, err := a.Login(ctx, "asha.officer", "a new password 2"); err != nil {
		t.Fatalf("sign-in with the new password, key held: %v", err)
	}
	a.DropKey()
	if _, _, err := a.Unlock(ctx, "asha.officer", "a new password 2"); err != nil {
		t.Fatalf("offline unlock with the new password: %v", err)
	}

	p.setPassword("a third password 3")
	a.DropKey()
	_, err := a.Login(ctx, "asha.officer", "a third password 3")
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeConflict || e.Field != "password" {
		t.Fatalf("sign-in with a new password, key not held, a change waiting: %v, want conflict", err)
	}
	if _, _, err := a.Unlock(ctx, "asha.officer", "a new password 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Login(ctx, "asha.officer", "a third password 3"); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.Status(ctx); st.Pending != 1 {
		t.Fatalf("the waiting change: %+v", st)
	}
}

// Another officer signing in on a locked tablet that holds the first one's
// unsent changes is refused for those changes, naming whose they are, and
// the tablet is left as it was: its key, its wraps and the changes.
func TestAnotherOfficerCannotTakeALockedTabletWithUnsentChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	putMember(t, a, caseID, "Unsent Before The Hand Over")
	a.DropKey()
	p.mu.Lock()
	p.user = schema.User{ID: schema.NewID(), Username: "ben.officer", Name: "Ben Demo", Role: schema.RoleOfficer, TeamID: "team-1"}
	p.mu.Unlock()
	p.setPassword("ben's own password")
	_, err := a.Login(ctx, "ben.officer", "ben's own password")
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeConflict || e.Field != "username" || !strings.Contains(e.Message, "asha.officer") {
		t.Fatalf("another officer's sign-in: %v, want conflict naming asha.officer's unsent changes", err)
	}
	if _, _, err := a.Unlock(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatalf("the first officer's unlock after the refusal: %v", err)
	}
	if st, _ := a.Status(ctx); st.Pending != 1 || st.User == nil || st.User.Username != "asha.officer" {
		t.Fatalf("after the refusal: %+v", st)
	}
}

// TestKeyTakenIsNotDroppedAsIdle: a check of the key's hold (HoldsKey, as
// the background sync and the lease check make at any moment) that comes
// while a sign-in or an unlock takes the key, after the key is held but
// before its use is noted, must not find the key idle since its last use
// (long ago, or never) and drop it, failing the sign-in with "locked"
// (seen under load in TestTabletAndServerComputeTheSameDueDates). Here
// every reading of the clock during the sign-in and the unlock checks.
func TestKeyTakenIsNotDroppedAsIdle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	clk := testkit.NewClock(testDay)
	var a *Agent
	var armed, in atomic.Bool
	now := func() time.Time {
		if armed.Load() && in.CompareAndSwap(false, true) {
			a.HoldsKey()
			in.Store(false)
		}
		return clk.Now()
	}
	var err error
	a, err = Open(ctx, Config{DataDir: t.TempDir(), ServerURL: p.URL(), AppVersion: "test", Now: now, KeyHold: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	armed.Store(true)
	clk.Advance(2 * time.Hour) // the key's last use (none yet) is long past
	if _, err := a.Login(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatalf("the first sign-in, which seals the store: %v", err)
	}
	if !a.HoldsKey() {
		t.Fatal("the key was dropped as the first sign-in took it")
	}
	a.DropKey()
	clk.Advance(2 * time.Hour)
	if _, _, err := a.Unlock(ctx, "asha.officer", rightPassword); err != nil {
		t.Fatalf("unlock two hours after the key's last use: %v", err)
	}
	if !a.HoldsKey() {
		t.Fatal("the key was dropped as the unlock took it")
	}
	clk.Advance(2 * time.Hour)
	if _, err := a.Login(ctx, "asha.officer", rightPassword); err != nil || !a.HoldsKey() {
		t.Fatalf("a sign-in two hours after the key's last use: %v (key held: %v)", err, a.HoldsKey())
	}
	// An unlock that fails is no use of the key: the hold runs on.
	armed.Store(false)
	clk.Advance(59 * time.Minute)
	if _, _, err := a.Unlock(ctx, "asha.officer", "not the password"); err == nil {
		t.Fatal("an unlock with a wrong password succeeded")
	}
	clk.Advance(2 * time.Minute)
	if a.HoldsKey() {
		t.Fatal("an unlock that failed made the key's hold start again")
	}
}
