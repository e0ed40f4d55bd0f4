package officerapp

import (
	"os"
	"testing"

	"doorstep/syncer"
)

// TestMain makes the tablet's argon2id verifiers cheap: these tests sign in,
// set PINs and unlock again and again and test no hashing (syncer tests the
// production cost).
func TestMain(m *testing.M) {
	syncer.SetPasswordCost(1, 64)
	os.Exit(m.Run())
}
