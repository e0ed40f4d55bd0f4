package server

import (
	"math"
	"sync"
	"time"
)

// Login rate limits (docs/sync-protocol.md §5): failures counted in a
// sliding window, per username and per client address. They live in
// memory: a restart forgets them, and several server instances each keep
// their own count (docs/api.md says so).
const (
	loginWindow     = 15 * time.Minute
	maxUserFailures = 5
	maxAddrFailures = 20
	limiterMaxKeys  = 100_000
)

// LoginLimiter counts failed sign-ins, for the API's login and the
// dashboard's sign-in form alike (one count per username and address).
type LoginLimiter struct {
	mu    sync.Mutex
	now   func() time.Time
	fails map[string][]time.Time // "u:name" or "a:addr" -> failure times, oldest first
}

func newLoginLimiter(now func() time.Time) *LoginLimiter {
	return &LoginLimiter{now: now, fails: map[string][]time.Time{}}
}

// prune drops failures older than the window; the caller holds mu.
func (l *LoginLimiter) prune(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= loginWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return ts
}

// Blocked reports whether a login for username from addr must wait, and
// how long.
func (l *LoginLimiter) Blocked(username, addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	check := func(key string, max int) {
		ts := l.prune(key, now)
		if len(ts) >= max {
			// Wait until enough of the failures leave the window.
			w := ts[len(ts)-max].Add(loginWindow).Sub(now)
			wait = time.Duration(math.Max(float64(wait), float64(w)))
		}
	}
	check("u:"+username, maxUserFailures)
	check("a:"+addr, maxAddrFailures)
	return wait > 0, wait
}

// Fail counts a failed login.
func (l *LoginLimiter) Fail(username, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > limiterMaxKeys {
		// Someone is spraying names: forget the oldest state rather than
		// grow without bound. Address counts come back at once.
		clear(l.fails)
	}
	now := l.now()
	l.fails["u:"+username] = append(l.prune("u:"+username, now), now)
	l.fails["a:"+addr] = append(l.prune("a:"+addr, now), now)
}

// Succeed forgets the username's failures (not the address's).
func (l *LoginLimiter) Succeed(username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "u:"+username)
}
