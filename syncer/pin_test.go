package syncer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"doorstep/schema"
)

const testPIN = "402781"

func TestPINUnlocksAndIsCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)

	if _, _, err := a.UnlockPIN(ctx, testPIN); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("no PIN set yet: want forbidden, got %v", err)
	}
	mustCode(t, a.SetPIN(ctx, "wrong password!", testPIN), schema.ECodeUnauthorized, "password")
	if err := a.SetPIN(ctx, "correct horse battery", testPIN); err != nil {
		t.Fatalf("SetPIN: %v", err)
	}
	u, st, err := a.UnlockPIN(ctx, testPIN)
	if err != nil || u.ID != p.user.ID || !st.Set || st.Failures != 0 {
		t.Fatalf("right PIN: user %v state %+v err %v", u, st, err)
	}

	// Wrong PINs are refused and counted; a right one resets the count.
	for i := 1; i <= 2; i++ {
		_, st, err := a.UnlockPIN(ctx, "913572")
		mustCode(t, err, schema.ECodeUnauthorized, "pin")
		if st.Failures != i || st.Left != MaxPINFailures-i {
			t.Fatalf("after %d wrong PINs: %+v", i, st)
		}
	}
	if _, st, err := a.UnlockPIN(ctx, testPIN); err != nil || st.Failures != 0 {
		t.Fatalf("right PIN after wrong ones: %+v %v", st, err)
	}

	// The count survives a restart of the agent, and so does the PIN.
	for range 3 {
		a.UnlockPIN(ctx, "913572")
	}
	dir := filepath.Dir(a.DB().Path())
	a.Close()
	a2, err := Open(ctx, Config{DataDir: dir, ServerURL: p.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if st, _ := a2.PIN(ctx); !st.Set || st.Failures != 3 || st.Left != 2 {
		t.Fatalf("after a restart: %+v", st)
	}
	a2.UnlockPIN(ctx, "913572")
	_, st, err = a2.UnlockPIN(ctx, "913572")
	mustCode(t, err, schema.ECodeForbidden, "pin")
	if !st.Disabled || st.Set {
		t.Fatalf("after %d wrong PINs the PIN is still on: %+v", MaxPINFailures, st)
	}
	// Turned off: even the right PIN is refused; the password still unlocks.
	if _, _, err := a2.UnlockPIN(ctx, testPIN); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("a turned-off PIN unlocked: %v", err)
	}
	if _, _, err := a2.Unlock(ctx, "asha.officer", "correct horse battery"); err != nil {
		t.Fatalf("password after lockout: %v", err)
	}
	if st, _ := a2.PIN(ctx); !st.Disabled {
		t.Fatalf("the password turned the PIN back on: %+v", st)
	}
	// A new PIN (with the password) turns it on again.
	if err := a2.SetPIN(ctx, "correct horse battery", "582039"); err != nil {
		t.Fatal(err)
	}
	if _, st, err := a2.UnlockPIN(ctx, "582039"); err != nil || st.Disabled {
		t.Fatalf("new PIN: %+v %v", st, err)
	}
}

func TestPasswordUnlockResetsWrongPINs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAgent(t, newPeer(t), nil)
	if err := a.SetPIN(ctx, "correct horse battery", testPIN); err != nil {
		t.Fatal(err)
	}
	a.UnlockPIN(ctx, "913572")
	if _, _, err := a.Unlock(ctx, "asha.officer", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.PIN(ctx); st.Failures != 0 || !st.Set {
		t.Fatalf("after the password: %+v", st)
	}
}

func TestPINClearedOnLogoutAndClearPIN(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	if err := a.SetPIN(ctx, "correct horse battery", testPIN); err != nil {
		t.Fatal(err)
	}
	mustCode(t, a.ClearPIN(ctx, ""), schema.ECodeRequired, "password")
	mustCode(t, a.ClearPIN(ctx, "wrong password!"), schema.ECodeUnauthorized, "password")
	if st, _ := a.PIN(ctx); !st.Set {
		t.Fatalf("a wrong password removed the PIN: %+v", st)
	}
	if err := a.ClearPIN(ctx, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.UnlockPIN(ctx, testPIN); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("a cleared PIN unlocked: %v", err)
	}
	if err := a.SetPIN(ctx, "correct horse battery", testPIN); err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.PIN(ctx); st.Set || st.Disabled || st.Failures != 0 {
		t.Fatalf("PIN after logout: %+v", st)
	}
	if _, _, err := a.UnlockPIN(ctx, testPIN); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("the PIN unlocked after logout: %v", err)
	}
	// The password still unlocks after a logout.
	if _, _, err := a.Unlock(ctx, "asha.officer", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
}

func TestWeakPINsAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAgent(t, newPeer(t), nil)
	for _, pin := range []string{"", "12345", "1234a6", "12 3456", "000000", "999999999", "123456", "654321",
		"890123", "121212", "123123", "1234567890123"} {
		if err := CheckPIN(pin); err == nil {
			t.Errorf("CheckPIN(%q) accepted a weak PIN", pin)
		} else if e := schema.AsError(err); e == nil || e.Field != "pin" {
			t.Errorf("CheckPIN(%q): want an error on pin, got %v", pin, err)
		}
	}
	if err := a.SetPIN(ctx, "correct horse battery", "111111"); err == nil {
		t.Fatal("SetPIN took 111111")
	}
	if st, _ := a.PIN(ctx); st.Set {
		t.Fatal("a refused PIN was stored")
	}
	for _, pin := range []string{"402781", "190875", "30571946"} {
		if err := CheckPIN(pin); err != nil {
			t.Errorf("CheckPIN(%q): %v", pin, err)
		}
	}
}

func TestPINIsNotStoredInClear(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAgent(t, newPeer(t), nil)
	const pin = "73915286"
	if err := a.SetPIN(ctx, "correct horse battery", pin); err != nil {
		t.Fatal(err)
	}
	a.UnlockPIN(ctx, pin)
	a.UnlockPIN(ctx, "29384756")
	dir := filepath.Dir(a.DB().Path())
	a.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) == 0 {
		t.Fatal("no store files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{pin, "correct horse battery"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q in clear", filepath.Base(f), secret)
			}
		}
	}
}

func TestWipeForgetsThePIN(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	if err := a.SetPIN(ctx, "correct horse battery", testPIN); err != nil {
		t.Fatal(err)
	}
	if err := a.wipe(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.PIN(ctx); st.Set {
		t.Fatalf("PIN after wipe: %+v", st)
	}
}

// TestPINChangesCountWrongPasswords: a wrong password sent to set or
// remove the PIN counts as a wrong unlock, so the PIN's forms on an
// unlocked tablet cannot serve to guess the password; a right one clears
// the count.
func TestPINChangesCountWrongPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAgent(t, newPeer(t), nil)
	mustCode(t, a.SetPIN(ctx, "wrong password!", testPIN), schema.ECodeUnauthorized, "password")
	mustCode(t, a.ClearPIN(ctx, "wrong password!"), schema.ECodeUnauthorized, "password")
	if st, _ := a.UnlockState(ctx); st.Failures != 2 || st.Left != MaxUnlockFailures-2 {
		t.Fatalf("after two wrong passwords on the PIN: %+v", st)
	}
	if err := a.SetPIN(ctx, "correct horse battery", testPIN); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.UnlockState(ctx); st.Failures != 0 {
		t.Fatalf("the right password did not clear the count: %+v", st)
	}
}
