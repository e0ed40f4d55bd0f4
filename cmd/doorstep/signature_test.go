package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"
	"doorstep/syncer"

	"github.com/klauspost/compress/gzip"
)

// signVisit writes a draft home visit on tablet a, runs between (a sync,
// say), moves the clock a minute and signs the visit complete.
func signVisit(t *testing.T, c *cluster, a *syncer.Agent, caseID, officerID string, between func()) schema.Record {
	t.Helper()
	ctx := context.Background()
	draft, err := a.Put(ctx, "visit", "", caseID, map[string]json.RawMessage{
		"status": str("draft"), "planned_type": str("home_unannounced"), "officer_id": str(officerID),
		"observation_notes": str("Kitchen tidy; spoke at the door first."),
	})
	if err != nil {
		t.Fatal(err)
	}
	between()
	c.clock.Advance(time.Minute)
	signed, err := a.Sign(ctx, draft.ID, map[string]json.RawMessage{
		"type": str("home_unannounced"), "outcome": str("completed"), "location": str("home"),
		"face_to_face": json.RawMessage("true"), "started_at": str(c.clock.Now().UTC().Format(time.RFC3339)),
		"person_seen": str("yes"), "partner_present": str("no"), "children_present": str("no_children"),
	})
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return signed
}

// TestVisitSignedByTheDevice: a real tablet signs a visit and amends it;
// the server verifies the device's signature, countersigns, chains the
// amendment to the visit's hash, and "doorstep admin verify-visit" says the
// visit is as signed, by which device and officer. Then the visit is edited
// directly in the server's database, and verify-visit fails naming the
// break.
func TestVisitSignedByTheDevice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	a := c.tablet("a1", officer.Username, nil, nil)
	mustSync(t, a)
	draft := signVisit(t, c, a, caseID, officer.ID, func() { mustSync(t, a) })
	c.clock.Advance(time.Minute)
	amendment, err := a.Amend(ctx, draft.ID, "wrong room named", map[string]json.RawMessage{"observation_notes": str("Living room tidy.")})
	if err != nil {
		t.Fatalf("amend: %v", err)
	}
	mustSync(t, a)

	chk, err := c.srv.DB().VerifyVisit(ctx, draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := chk.Signature; s.Status != serverdb.SigVerified || !chk.DeviceKeyOK || !chk.CountersignatureOK || s.DeviceID != a.DeviceID() ||
		s.OfficerID != officer.ID || len(chk.Breaks) != 0 {
		t.Fatalf("the tablet's signed visit on the server: %+v; want verified and countersigned, by %s on %s", chk, officer.ID, a.DeviceID())
	}
	if len(chk.Amendments) != 1 || chk.Amendments[0].Signature.RecordID != amendment.ID || chk.Amendments[0].Signature.Status != serverdb.SigVerified ||
		chk.Amendments[0].Signature.AmendsHash != chk.Signature.ContentHash {
		t.Fatalf("the amendment chain: %+v; want %s verified and chained to %s", chk.Amendments, amendment.ID, chk.Signature.ContentHash)
	}

	data := filepath.Join(c.dir, "server")
	out, err := doorstep(t, "admin", "verify-visit", draft.ID, "--data", data)
	if err != nil {
		t.Fatalf("verify-visit of an intact visit: %v\n%s", err, out)
	}
	for _, want := range []string{"visit " + draft.ID + " is as signed", "officer " + officer.ID, "device " + a.DeviceID(),
		"received by the server ", "device signature: verified", "amendment " + amendment.ID, "chained to its hash " + chk.Signature.ContentHash} {
		if !strings.Contains(out, want) {
			t.Errorf("verify-visit output lacks %q:\n%s", want, out)
		}
	}
	if after, err := doorstep(t, "admin", "verify-visit", "--data", data, draft.ID); err != nil || !strings.Contains(after, "visit "+draft.ID+" is as signed") {
		t.Errorf("verify-visit with the id after --data: %v\n%s", err, after)
	}
	if _, err := doorstep(t, "admin", "verify-visit", draft.ID, "--data", data, "--secrets", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no visit signing key at") {
		t.Errorf("verify-visit with a secrets folder without the key: %v; want the key's path named", err)
	}
	if _, err := doorstep(t, "admin", "verify-visit", "--data", data); err == nil || !strings.Contains(err.Error(), "say which visit") {
		t.Errorf("verify-visit without an id: %v; want told to name one", err)
	}
	if _, err := doorstep(t, "admin", "verify-visit", "no-such-visit", "--data", data); err == nil || !strings.Contains(err.Error(), "no signed visit") {
		t.Errorf("verify-visit of an unknown id: %v; want not found", err)
	}

	raw, err := sql.Open("sqlite", "file:"+filepath.Join(data, serverDBFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE records SET fields = json_set(fields, '$.outcome', 'no_answer') WHERE id = ?`, draft.ID); err != nil {
		t.Fatal(err)
	}
	out, err = doorstep(t, "admin", "verify-visit", draft.ID, "--data", data)
	if err == nil || !strings.Contains(err.Error(), "visit "+draft.ID+" no longer matches its signed hash") {
		t.Fatalf("verify-visit after the visit was edited in the database: %v\n%s; want the break named", err, out)
	}
}

// oldTablet rewrites a tablet's requests as an app from before device
// keys sends them: no device_public_key at login, no device_signature on a
// push.
type oldTablet struct{ next http.RoundTripper }

func (o oldTablet) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || (req.URL.Path != "/v1/auth/login" && req.URL.Path != "/v1/sync/push") {
		return o.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	zipped := req.Header.Get("Content-Encoding") == "gzip"
	if zipped {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	delete(doc, "device_public_key")
	if muts, ok := doc["mutations"].([]any); ok {
		for _, m := range muts {
			delete(m.(map[string]any), "device_signature")
		}
	}
	if body, err = json.Marshal(doc); err != nil {
		return nil, err
	}
	if zipped {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.Header.Del("Content-Length")
	return o.next.RoundTrip(r)
}

// TestOldTabletWithoutAKeyStillSyncs: a tablet of an older app (no key at
// sign-in, no signature on its pushes) signs and syncs a visit as before;
// the server keeps it, marked unsigned by device, with its own hash and
// countersignature, so verify-visit still checks it.
func TestOldTabletWithoutAKeyStillSyncs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	a := c.tablet("old", officer.Username, oldTablet{http.DefaultTransport.(*http.Transport).Clone()}, nil)
	mustSync(t, a)
	draft := signVisit(t, c, a, caseID, officer.ID, func() {})
	if rep := mustSync(t, a); rep.Pushed == 0 {
		t.Fatalf("the old tablet's sync pushed nothing: %+v", rep)
	}
	got, err := c.srv.DB().Get(ctx, cliActor, "visit", draft.ID)
	if err != nil || !got.Signed() {
		t.Fatalf("the old tablet's signed visit on the server: %+v, %v", got, err)
	}
	chk, err := c.srv.DB().VerifyVisit(ctx, draft.ID)
	if err != nil || chk.Signature.Status != serverdb.SigUnsigned || !chk.CountersignatureOK || len(chk.Breaks) != 0 {
		t.Fatalf("the old tablet's visit: %+v, %v; want unsigned by device, countersigned, intact", chk, err)
	}
	out, err := doorstep(t, "admin", "verify-visit", draft.ID, "--data", filepath.Join(c.dir, "server"))
	if err != nil || !strings.Contains(out, "unsigned by device") || !strings.Contains(out, "is as signed") {
		t.Errorf("verify-visit of an old tablet's visit: %v\n%s", err, out)
	}
}
