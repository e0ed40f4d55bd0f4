package webui

import (
	"sync"
	"time"
)

// Session is one signed-in browser of a Sessions store. User is whoever
// signed in, in the app's own type.
type Session[T any] struct {
	ID   string // the session cookie's value
	CSRF string // the token every form of the session carries
	User T

	lastSeen time.Time
	flash    string // a message for the next page, shown once
}

// Sessions holds cookie sessions in this process's memory only, so a
// restart forgets them. A session unused for longer than the idle time
// its caller passes is locked: it is dropped, and the caller is told.
type Sessions[T any] struct {
	mu sync.Mutex
	m  map[string]*Session[T]
}

// NewSessions returns an empty store.
func NewSessions[T any]() *Sessions[T] { return &Sessions[T]{m: map[string]*Session[T]{}} }

// Create starts a session for u, with a random id and CSRF token,
// forgetting sessions idle for longer than idle.
func (s *Sessions[T]) Create(u T, now time.Time, idle time.Duration) *Session[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.m {
		if now.Sub(old.lastSeen) > idle {
			delete(s.m, id)
		}
	}
	sess := &Session[T]{ID: Token(), User: u, CSRF: Token(), lastSeen: now}
	s.m[sess.ID] = sess
	return sess
}

// Use returns the session with id and marks it used now. A session idle
// for longer than idle is dropped: locked reports that it existed.
func (s *Sessions[T]) Use(id string, now time.Time, idle time.Duration) (sess *Session[T], locked bool) {
	if id == "" {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess = s.m[id]
	if sess == nil {
		return nil, false
	}
	if now.Sub(sess.lastSeen) > idle {
		delete(s.m, id)
		return nil, true
	}
	sess.lastSeen = now
	return sess, false
}

// Drop ends the session with id (signing out, locking).
func (s *Sessions[T]) Drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// DropIf ends every session whose user drop reports true (another
// officer's, when someone new signs in).
func (s *Sessions[T]) DropIf(drop func(T) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sess := range s.m {
		if drop(sess.User) {
			delete(s.m, id)
		}
	}
}

// DropAll ends every session.
func (s *Sessions[T]) DropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}

// SetFlash sets the message sess's next page shows; a nil sess is ignored.
func (s *Sessions[T]) SetFlash(sess *Session[T], msg string) {
	if sess == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.flash = msg
}

// TakeFlash returns sess's message and clears it.
func (s *Sessions[T]) TakeFlash(sess *Session[T]) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := sess.flash
	sess.flash = ""
	return f
}
