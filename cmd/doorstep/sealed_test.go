package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"
	"doorstep/syncer"
	"doorstep/syncer/devicedb"
	"doorstep/syncer/localapi"
)

// TestNothingReadableAtRest is issue 12's "sealed at rest" test. Known
// sensitive values (probes) are written on the tablet and synced through a
// real server, which also sends the case's own names and address; then,
// (a) with the agent stopped, and (b) with the app locked past the key-hold
// time while the agent still runs, every file of the data folder (the
// database, its WAL and shared memory, the agent's log, anything) is
// searched byte by byte for each probe, and the tokens stored there are
// tried against the server. A change made before the lock is kept and
// delivered after the next unlock.
func TestNothingReadableAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	dir := filepath.Join(c.dir, "sealed-tablet")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cfg := syncer.Config{DataDir: dir, ServerURL: c.srv.URL(), Now: c.clock.Now, AppVersion: "test", Timeout: 5 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	a, err := syncer.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Login(ctx, officer.Username, testPassword); err != nil {
		t.Fatal(err)
	}
	mustSync(t, a)

	// What the server sent: the case's names and address.
	cs, err := a.Get(ctx, "case", caseID)
	if err != nil {
		t.Fatal(err)
	}
	var kase schema.Case
	if err := cs.Decode(&kase); err != nil {
		t.Fatal(err)
	}
	// (Short values could turn up by chance in the base64 of sealed
	// bytes: the probes are six characters or more.)
	probes := []string{kase.Address}
	for _, n := range []string{kase.GivenName, kase.FamilyName} {
		if len(n) >= 6 {
			probes = append(probes, n)
		}
	}
	// What the officer writes: partner and child names, a date of birth,
	// the observations, concerns and the safety assessment's address.
	put := func(entity string, fields map[string]any) schema.Record {
		t.Helper()
		m := map[string]json.RawMessage{}
		for k, v := range fields {
			b, _ := json.Marshal(v)
			m[k] = b
		}
		r, err := a.Put(ctx, entity, "", caseID, m)
		if err != nil {
			t.Fatalf("put %s: %v", entity, err)
		}
		return r
	}
	partner := put("household_member", map[string]any{"relation": "partner", "residence": "lives_here", "name": "Probe Partnername Qv7"})
	child := put("household_member", map[string]any{"relation": "own_child", "residence": "lives_here", "name": "Probe Childname Wz3", "date_of_birth": "2019-03-17"})
	put("visit", map[string]any{"status": "draft", "observation_notes": "Probe observation Kx9 about the kitchen",
		"partner_concerns": "Probe partner concern Jm4", "children": []map[string]string{{"member_id": child.ID, "present": "yes", "seen": "yes", "concerns": "Probe child concern Hb2"}}})
	put("safety_assessment", map[string]any{"address": "Probe Flat 9 Tulliver Court", "assessed_on": "2026-11-01", "notes": "Probe lone worker note Rd6"})
	probes = append(probes, "Probe Partnername Qv7", "Probe Childname Wz3", "2019-03-17", "Probe observation Kx9", "Probe partner concern Jm4",
		"Probe child concern Hb2", "Probe Flat 9 Tulliver Court", "Probe lone worker note Rd6")
	if rep := mustSync(t, a); rep.Applied != 4 {
		t.Fatalf("sync: %+v, want the 4 records applied", rep)
	}
	mustSync(t, a) // and pulled back from the server

	// (a) The agent stopped.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	assertNothingReadable(t, c, dir, probes)

	// (b) The agent running, the app locked past the key-hold time, with a
	// change made before the lock still unsent.
	cfg.KeyHold = 10 * time.Minute
	a, err = syncer.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	api := localapi.New(a, localapi.Config{Now: c.clock.Now, LockAfter: 5 * time.Minute})
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	var unlocked struct {
		Token string `json:"token"`
	}
	if code := localCall(t, api.URL()+"/v1/unlock", "", map[string]string{"username": officer.Username, "password": testPassword}, &unlocked); code != 200 {
		t.Fatalf("unlock: %d", code)
	}
	if code := localCall(t, api.URL()+"/v1/records/household-members/"+partner.ID, unlocked.Token, map[string]any{"fields": map[string]any{"name": "Probe Unsent Rename Pt8"}}, nil); code != 200 {
		t.Fatalf("rename the partner: %d", code)
	}
	probes = append(probes, "Probe Unsent Rename Pt8")
	if code := localCall(t, api.URL()+"/v1/lock", unlocked.Token, map[string]any{}, nil); code != 200 {
		t.Fatalf("lock: %d", code)
	}
	c.clock.Advance(cfg.KeyHold + time.Second)
	if a.HoldsKey() {
		t.Fatal("the data key is still held past the key-hold time")
	}
	if _, err := a.SyncOnce(ctx); !errors.Is(err, syncer.ErrLocked) {
		t.Fatalf("a sync while locked: %v, want ErrLocked", err)
	}
	if _, err := a.Get(ctx, "household_member", partner.ID); !errors.Is(err, syncer.ErrLocked) {
		t.Fatalf("a read while locked: %v, want ErrLocked", err)
	}
	assertNothingReadable(t, c, dir, probes)

	// The unsent change was kept: it goes at the next unlock.
	if st, err := a.Status(ctx); err != nil || !st.Locked || st.Pending != 1 {
		t.Fatalf("status while locked: %+v %v, want locked with 1 pending", st, err)
	}
	if _, _, err := a.Unlock(ctx, officer.Username, testPassword); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, a); rep.Applied != 1 {
		t.Fatalf("sync after the unlock: %+v, want the kept change applied", rep)
	}
	got := c.serverState([]string{caseID})[partner.ID]
	if string(got.Fields["name"]) != `"Probe Unsent Rename Pt8"` {
		t.Fatalf("the server's partner after the unlock: %s", got.Fields["name"])
	}
}

// assertNothingReadable searches every file under dir for each probe, and
// tries the tokens stored there against the server.
func assertNothingReadable(t *testing.T, c *cluster, dir string, probes []string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, p := range probes {
			if bytes.Contains(b, []byte(p)) {
				t.Errorf("%s holds %q in clear", filepath.Base(path), p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 {
		t.Fatalf("searched %d files in %s; want the database and the log at least", files, dir)
	}
	// The tokens as stored: try them as a thief would, from another client.
	b, err := devicedb.Open(context.Background(), filepath.Join(dir, "device.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var st map[string]string
	if err := b.View(context.Background(), func(tx *devicedb.Tx) error {
		var err error
		st, err = tx.States(context.Background())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	refresh, access, device := st[devicedb.KeyRefreshToken], st[devicedb.KeyAccessToken], st[devicedb.KeyDeviceID]
	if refresh == "" || access == "" {
		t.Fatalf("no tokens stored (%d, %d bytes): the test would prove nothing", len(refresh), len(access))
	}
	body, _ := json.Marshal(schema.RefreshRequest{RefreshToken: refresh, DeviceID: device})
	resp, err := http.Post(c.srv.URL()+"/v1/auth/refresh", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("refresh with the stored refresh token: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", c.srv.URL()+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set(schema.HeaderDeviceID, device)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/me with the stored access token: %d, want 401", resp.StatusCode)
	}
}

// localCall sends a JSON request to the tablet's local API (PATCH for a
// record's path, else POST) and decodes the answer into out.
func localCall(t *testing.T, url, token string, body any, out any) int {
	t.Helper()
	method := "POST"
	if strings.Contains(url, "/v1/records/") {
		method = "PATCH"
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestUnsentWorkSurvivesDestroyedKeys: a change made on a tablet whose
// keys are then destroyed (the end of the offline lease's grace) can no
// longer be read on the tablet, even with the password, but it was also
// sealed to the server's outbox key: the next online sign-in delivers it,
// and the server applies it as the officer wrote it.
func TestUnsentWorkSurvivesDestroyedKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	a := c.tablet("shredded", officer.Username, nil, nil)
	mustSync(t, a)
	m, err := a.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
		"relation": str("partner"), "residence": str("lives_here"), "name": str("Probe Shredded Unsent Yt4")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Outbox(ctx)
	if err != nil || len(out) != 1 || out[0].ServerBox == "" {
		t.Fatalf("the outbox: %+v %v, want one entry sealed to the server's key", out, err)
	}

	if err := a.DB().DestroyKeyWraps(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Unlock(ctx, officer.Username, testPassword); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("the offline unlock after the keys were destroyed: %v, want forbidden", err)
	}
	assertNothingReadable(t, c, filepath.Join(c.dir, "shredded"), []string{"Probe Shredded Unsent Yt4"})

	if _, err := a.Login(ctx, officer.Username, testPassword); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.Status(ctx); st.Pending != 1 {
		t.Fatalf("after the fresh start: %d pending, want the sealed change kept", st.Pending)
	}
	if rep := mustSync(t, a); rep.Applied != 1 {
		t.Fatalf("sync after the fresh start: %+v, want the sealed change applied", rep)
	}
	got, ok := c.serverState([]string{caseID})[m.ID]
	if !ok || string(got.Fields["name"]) != `"Probe Shredded Unsent Yt4"` {
		t.Fatalf("the server's record of the change: %+v", got)
	}
	// And the tablet reads it back from the server, under its new key.
	r, err := a.Get(ctx, "household_member", m.ID)
	if err != nil || string(r.Fields["name"]) != `"Probe Shredded Unsent Yt4"` {
		t.Fatalf("the tablet's record after the pull: %+v %v", r, err)
	}
}

// TestUnsentWorkSurvivesAPasswordReset: the officer's password is reset on
// the server (they forgot it) while their tablet is locked with a change
// waiting. The new password cannot open what the old one sealed, but the
// change was also sealed to the server's outbox key: the online sign-in
// with the new password starts the tablet afresh and delivers it, rather
// than refusing until the forgotten password is given.
func TestUnsentWorkSurvivesAPasswordReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	a := c.tablet("forgotten", officer.Username, nil, nil)
	mustSync(t, a)
	m, err := a.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
		"relation": str("partner"), "residence": str("lives_here"), "name": str("Probe Reset Unsent Qv8")})
	if err != nil {
		t.Fatal(err)
	}
	a.DropKey()

	db := c.srv.DB()
	code, _, err := db.IssueSetupCode(ctx, serverdb.Actor{UserID: "admin-test", Role: schema.RoleAdmin}, officer.Username)
	if err != nil {
		t.Fatal(err)
	}
	const newPassword = "a brand new password 7"
	if _, err := db.SetPassword(ctx, officer.Username, code, newPassword); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Unlock(ctx, officer.Username, newPassword); err == nil {
		t.Fatal("the offline unlock with a password the tablet never saw opened it")
	}
	if _, err := a.Login(ctx, officer.Username, newPassword); err != nil {
		t.Fatalf("the online sign-in with the new password, a change waiting sealed to the server: %v; want a fresh start", err)
	}
	if st, _ := a.Status(ctx); st.Pending != 1 {
		t.Fatalf("after the fresh start: %d pending, want the sealed change kept", st.Pending)
	}
	if rep := mustSync(t, a); rep.Applied != 1 {
		t.Fatalf("sync after the fresh start: %+v, want the sealed change applied", rep)
	}
	got, ok := c.serverState([]string{caseID})[m.ID]
	if !ok || string(got.Fields["name"]) != `"Probe Reset Unsent Qv8"` {
		t.Fatalf("the server's record of the change: %+v", got)
	}
	if _, _, err := a.Unlock(ctx, officer.Username, newPassword); err != nil {
		t.Fatalf("the offline unlock with the new password afterwards: %v", err)
	}
}
