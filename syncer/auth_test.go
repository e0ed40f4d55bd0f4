package syncer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

func TestExpiredTokenIsRefreshedOnceAndRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	writeVisits(t, a, caseID, 1)

	// The server's access token moves on (ours expired).
	p.mu.Lock()
	p.access = "access-new"
	p.mu.Unlock()
	rep, err := a.SyncOnce(ctx)
	if err != nil {
		t.Fatalf("sync with an expired token: %v", err)
	}
	if rep.Applied != 1 {
		t.Fatalf("the push was not retried after the refresh: %+v", rep)
	}
	p.mu.Lock()
	wantRefresh := p.refresh
	p.mu.Unlock()
	var stored string
	a.DB().View(ctx, func(tx *devicedb.Tx) error {
		stored, _ = tx.State(ctx, devicedb.KeyRefreshToken)
		return nil
	})
	if stored != wantRefresh || wantRefresh == "refresh-0" {
		t.Fatalf("rotated refresh token not stored: have %q, server has %q", stored, wantRefresh)
	}
	if st, _ := a.Status(ctx); !st.SignedIn {
		t.Fatal("signed out after a good refresh")
	}
}

func TestReusedRefreshSignsOutAndKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	writeVisits(t, a, caseID, 2)
	p.mu.Lock()
	p.access, p.refresh = "someone-else", "someone-else"
	p.mu.Unlock()
	_, err := a.SyncOnce(ctx)
	if !errors.Is(err, ErrSignedOut) || schema.ErrorCode(err) != schema.ECodeRefreshReused {
		t.Fatalf("want ErrSignedOut with refresh_reused, got %v", err)
	}
	st, _ := a.Status(ctx)
	if st.SignedIn || st.User == nil || st.Pending != 2 {
		t.Fatalf("status after sign-out: signed_in %v user %v pending %d", st.SignedIn, st.User, st.Pending)
	}
	if recs, _ := a.List(ctx, "", caseID); len(recs) != 3 {
		t.Fatalf("records lost on sign-out: %d", len(recs))
	}
	// Local work goes on while signed out; a new login sends it.
	writeVisits(t, a, caseID, 1)
	p.mu.Lock()
	p.access, p.refresh = "access-9", "refresh-9"
	p.mu.Unlock()
	if _, err := a.Login(ctx, "asha.officer", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	rep, err := a.SyncOnce(ctx)
	if err != nil || rep.Applied != 3 {
		t.Fatalf("after login again: %+v %v", rep, err)
	}
}

func TestRevokedDeviceIsWiped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID), flagRecord(caseID, "da_victim"))
	writeVisits(t, a, caseID, 2)
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		return 403, schema.ErrorResponse{Error: schema.Error{Code: schema.ECodeDeviceRevoked, Message: "revoked"}, Wipe: true}
	}
	p.mu.Unlock()
	_, err := a.SyncOnce(ctx)
	if !errors.Is(err, ErrDeviceRevoked) {
		t.Fatalf("want ErrDeviceRevoked, got %v", err)
	}
	if recs, _ := a.List(ctx, "", ""); len(recs) != 0 {
		t.Fatalf("%d records survived the wipe", len(recs))
	}
	if out := mustOutbox(t, a); len(out) != 0 {
		t.Fatalf("%d outbox rows survived the wipe", len(out))
	}
	st, _ := a.Status(ctx)
	if st.SignedIn || st.User != nil || !st.Revoked || st.Cursor != "" {
		t.Fatalf("status after wipe: %+v", st)
	}
	if _, _, err := a.Unlock(ctx, "asha.officer", "correct horse battery"); err == nil {
		t.Fatal("a wiped tablet still unlocks")
	}
	// The file no longer holds the case data.
	b, _ := os.ReadFile(filepath.Join(a.DB().Path()))
	if strings.Contains(string(b), "1 High St") {
		t.Fatal("the case address is still in the database file")
	}
}

func TestOfflineUnlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	u, _, err := a.Unlock(ctx, "asha.officer", "correct horse battery")
	if err != nil || u.ID != p.user.ID {
		t.Fatalf("Unlock: %v %v", u, err)
	}
	_, _, err = a.Unlock(ctx, "asha.officer", "wrong password!")
	mustCode(t, err, schema.ECodeUnauthorized, "")
	_, _, err = a.Unlock(ctx, "someone.else", "correct horse battery")
	mustCode(t, err, schema.ECodeUnauthorized, "")
	_, err = a.Login(ctx, "asha.officer", "bad")
	mustCode(t, err, schema.ECodeUnauthorized, "")
}
