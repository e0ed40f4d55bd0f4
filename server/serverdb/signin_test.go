package serverdb

import (
	"context"
	"testing"
	"time"

	"doorstep/schema"
)

// TestSignInWaits: the waits of each counter after n failures, and how a
// person is told them.
func TestSignInWaits(t *testing.T) {
	t.Parallel()
	c := signInCounters("sue", "192.0.2.7")
	s := time.Second
	for _, tc := range []struct {
		counter  signInCounter
		failures []time.Duration // wait after failure 1, 2, ...
	}{
		{c[0], []time.Duration{0, 0, 0, 0, 30 * s, 60 * s, 120 * s, 240 * s, 480 * s, 900 * s, 900 * s}},
		{c[1], []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 30 * s, 60 * s, 60 * s}},
		{c[2], append(make([]time.Duration, 19), 30*s, 60*s, 120*s)},
	} {
		for i, want := range tc.failures {
			if got := tc.counter.wait(i + 1); got != want {
				t.Errorf("%s counter, failure %d: wait %v, want %v", tc.counter.name, i+1, got, want)
			}
		}
		if got := tc.counter.wait(1000); got != tc.counter.maxWait {
			t.Errorf("%s counter, failure 1000: wait %v, want the cap %v", tc.counter.name, got, tc.counter.maxWait)
		}
	}
	for d, want := range map[time.Duration]string{
		time.Second: "1 second", 1500 * time.Millisecond: "2 seconds", 59 * s: "59 seconds", 60 * s: "1 minute",
		61 * s: "2 minutes", 15 * time.Minute: "15 minutes",
	} {
		if got := HumanWait(d); got != want {
			t.Errorf("HumanWait(%v) = %q, want %q", d, got, want)
		}
	}
	for th, want := range map[Throttle]string{
		{TriesLeft: 3}: "", {TriesLeft: 2}: "2 tries left before a wait", {TriesLeft: 1}: "1 try left before a wait",
		{Wait: 30 * s}: "try again in 30 seconds",
	} {
		if got := th.Advice(); got != want {
			t.Errorf("%+v.Advice() = %q, want %q", th, got, want)
		}
	}
}

// A sign-in naming a NUL (which PostgreSQL's text cannot hold) is refused,
// naming what holds it, and counts no failure, on both engines.
func TestSignInRefusesNUL(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		field string
		a     SignInAttempt
	}{
		{"username", SignInAttempt{Username: "s\x00ue", Password: "x", Address: "192.0.2.7"}},
		{"device_id", SignInAttempt{Username: "sue", Password: "x", Address: "192.0.2.7", DeviceID: "d\x00"}},
	} {
		_, th, err := f.db.SignIn(ctx, tc.a)
		if e := schema.AsError(err); e == nil || e.Code != schema.ECodeInvalid || e.Field != tc.field {
			t.Errorf("a NUL in %s: %v, want invalid naming %s", tc.field, err, tc.field)
		}
		if th.Wait != 0 {
			t.Errorf("a NUL in %s: a wait of %v, want none counted", tc.field, th.Wait)
		}
	}
}
