package serverdb

import (
	"context"
	"testing"
	"time"

	"doorstep/schema"
)

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u, err := f.db.Authenticate(ctx, "asha", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Authenticate(ctx, "asha", "wrong password!"); schema.ErrorCode(err) != schema.ECodeUnauthorized {
		t.Errorf("wrong password: %v", err)
	}
	tok1, err := f.db.Login(ctx, u, "tab-1", DeviceInfo{Name: "t"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Login(ctx, f.ben, "tab-1", DeviceInfo{}, time.Hour); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("another user's device: %v, want forbidden", err)
	}
	got, tok2, err := f.db.Refresh(ctx, tok1, "tab-1", time.Hour)
	if err != nil || got.ID != u.ID || tok2 == tok1 {
		t.Fatalf("refresh = %v %v", got, err)
	}
	if _, _, err := f.db.Refresh(ctx, tok2, "other-device", time.Hour); schema.ErrorCode(err) != schema.ECodeUnauthorized {
		t.Errorf("refresh from another device: %v", err)
	}
	// tok1 again at once, tok2 unused: the answer to the first refresh was
	// lost. tok2 is revoked and a new pair given.
	_, tok2b, err := f.db.Refresh(ctx, tok1, "tab-1", time.Hour)
	if err != nil || tok2b == tok2 || tok2b == "" {
		t.Fatalf("retry of a refresh whose answer was lost: %q, %v; want a new token", tok2b, err)
	}
	if _, _, err := f.db.Refresh(ctx, tok2, "tab-1", time.Hour); schema.ErrorCode(err) != schema.ECodeUnauthorized {
		t.Errorf("the successor never delivered: %v, want unauthorized", err)
	}
	// tok2b is used; tok1 again is now theft. Every token of the device
	// dies, tok2b's successor included.
	_, tok3, err := f.db.Refresh(ctx, tok2b, "tab-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.db.Refresh(ctx, tok1, "tab-1", time.Hour); schema.ErrorCode(err) != schema.ECodeRefreshReused {
		t.Errorf("reuse after the successor was used: %v, want refresh_reused", err)
	}
	if _, _, err := f.db.Refresh(ctx, tok3, "tab-1", time.Hour); schema.ErrorCode(err) != schema.ECodeUnauthorized {
		t.Errorf("token after reuse: %v, want unauthorized", err)
	}
	// A spent token back after the grace period is theft, successor unused or not.
	tok5, _ := f.db.Login(ctx, u, "tab-1", DeviceInfo{}, time.Hour)
	if _, _, err := f.db.Refresh(ctx, tok5, "tab-1", time.Hour); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(refreshGrace + time.Second)
	if _, _, err := f.db.Refresh(ctx, tok5, "tab-1", time.Hour); schema.ErrorCode(err) != schema.ECodeRefreshReused {
		t.Errorf("reuse after the grace period: %v, want refresh_reused", err)
	}
	// Expiry.
	tok6, _ := f.db.Login(ctx, u, "tab-1", DeviceInfo{}, time.Hour)
	f.clock.Advance(2 * time.Hour)
	if _, _, err := f.db.Refresh(ctx, tok6, "tab-1", time.Hour); schema.ErrorCode(err) != schema.ECodeUnauthorized {
		t.Errorf("expired refresh: %v", err)
	}
	// Revocation.
	tok4, _ := f.db.Login(ctx, u, "tab-1", DeviceInfo{}, time.Hour)
	if err := f.db.RevokeDevice(ctx, f.admin, "tab-1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.db.Refresh(ctx, tok4, "tab-1", time.Hour); schema.ErrorCode(err) != schema.ECodeDeviceRevoked {
		t.Errorf("refresh on revoked device: %v", err)
	}
	if _, err := f.db.Login(ctx, u, "tab-1", DeviceInfo{}, time.Hour); schema.ErrorCode(err) != schema.ECodeDeviceRevoked {
		t.Errorf("login on revoked device: %v", err)
	}
	devs, _ := f.db.ListDevices(ctx)
	revoked := false
	for _, d := range devs {
		if d.ID == "tab-1" {
			revoked = d.Revoked
		}
	}
	if !revoked {
		t.Errorf("ListDevices does not show tab-1 revoked")
	}
}

// A thief who replays a spent refresh token inside the grace period gets a
// pair; the officer's next sign-in on the device must end it (issue 11,
// defect 6).
func TestLoginRevokesTheDevicesEarlierTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tok1, err := f.db.Login(ctx, f.asha, "tab-1", DeviceInfo{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, tok2, err := f.db.Refresh(ctx, tok1, "tab-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, stolen, err := f.db.Refresh(ctx, tok1, "tab-1", time.Hour) // the thief's copy of tok1, within the grace period
	if err != nil {
		t.Fatalf("replay inside the grace period: %v, want a pair (the documented window)", err)
	}
	// The officer's tablet fails to refresh with tok2 (revoked for the
	// thief's retry) and the officer signs in again.
	if _, _, err := f.db.Refresh(ctx, tok2, "tab-1", time.Hour); err == nil {
		t.Fatal("tok2 still refreshes after the replay")
	}
	fresh, err := f.db.Login(ctx, f.asha, "tab-1", DeviceInfo{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.db.Refresh(ctx, stolen, "tab-1", time.Hour); schema.ErrorCode(err) != schema.ECodeUnauthorized {
		t.Errorf("the thief's token after the officer signed in again: %v, want unauthorized", err)
	}
	if _, _, err := f.db.Refresh(ctx, fresh, "tab-1", time.Hour); err != nil {
		t.Errorf("the officer's new token: %v, want it to work", err)
	}
}
