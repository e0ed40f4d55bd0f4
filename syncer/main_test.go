package syncer

import (
	"os"
	"strings"
	"testing"
)

// TestMain makes password and PIN verifiers cheap: the tests unlock, sign in
// and lock out again and again, and argon2id at its production cost takes
// tens of milliseconds each time. TestPasswordVerifierAtProductionCost
// checks the production cost itself.
func TestMain(m *testing.M) {
	SetPasswordCost(1, 64)
	os.Exit(m.Run())
}

func TestPasswordVerifierAtProductionCost(t *testing.T) {
	t.Parallel()
	v := hashPasswordAt("correct horse battery", argonTime, argonMemory)
	if !strings.HasPrefix(v, "argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("verifier %q, want argon2id at m=19456,t=2,p=1", v)
	}
	if !checkPassword(v, "correct horse battery") || checkPassword(v, "correct horse batterie") {
		t.Error("the production-cost verifier does not tell the right password from a wrong one")
	}
	if cheap := hashPassword("correct horse battery"); !checkPassword(cheap, "correct horse battery") || !strings.Contains(cheap, "m=64,t=1,p=1") {
		t.Errorf("the tests' cheap verifier %q does not check or does not carry its cost", cheap)
	}
}
