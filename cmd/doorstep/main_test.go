package main

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"doorstep/server/serverdb"
	"doorstep/syncer"
)

// runMainEnv, set to 1, makes the test binary run as the doorstep command
// (see startDoorstep).
const runMainEnv = "DOORSTEP_TEST_RUN_MAIN"

// TestMain makes password hashing cheap on both sides (the server's bcrypt,
// the tablet's argon2id verifier): these tests create users and sign
// tablets in by the dozen and test no hashing.
func TestMain(m *testing.M) {
	serverdb.SetPasswordCost(bcrypt.MinCost)
	syncer.SetPasswordCost(1, 64)
	if os.Getenv(runMainEnv) == "1" {
		// A test's subprocess: the test binary is the doorstep command.
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
