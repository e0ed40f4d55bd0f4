package main

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"doorstep/server/serverdb"
	"doorstep/syncer"
)

// TestMain makes password hashing cheap on both sides (the server's bcrypt,
// the tablet's argon2id verifier): these tests create users and sign
// tablets in by the dozen and test no hashing.
func TestMain(m *testing.M) {
	serverdb.SetPasswordCost(bcrypt.MinCost)
	syncer.SetPasswordCost(1, 64)
	os.Exit(m.Run())
}
