package syncer

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"doorstep/schema"
)

// peer is a fake network peer: an HTTP server that answers the sync
// protocol with canned or scripted schema messages. It is not our server;
// it stands for the network, which is the only thing these tests fake.
type peer struct {
	t   *testing.T
	srv *httptest.Server
	now func() time.Time

	mu       sync.Mutex
	access   string // the access token the peer accepts
	refresh  string
	user     schema.User
	pushes   []schema.PushRequest
	pulls    []schema.PullRequest
	headers  []http.Header
	seen     map[string]string // mutation id -> first outcome
	version  map[string]int64  // record id -> version
	rotation int
	password string // the officer's password on the "server"

	// Scripted answers; nil means the default behaviour.
	onPush    func(n int, req schema.PushRequest) (int, any)
	onPull    func(n int, req schema.PullRequest) (int, any)
	onRefresh func(req schema.RefreshRequest) (int, any)
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	p := &peer{t: t, now: func() time.Time { return time.Now().UTC() }, access: "access-0", refresh: "refresh-0",
		user: schema.User{ID: schema.NewID(), Username: "asha.officer", Name: "Asha Demo", Role: schema.RoleOfficer, TeamID: "team-1"},
		seen: map[string]string{}, version: map[string]int64{}, password: "correct horse battery"}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *peer) URL() string { return p.srv.URL }

// setPassword changes the officer's password on the peer (a reset on the
// server).
func (p *peer) setPassword(pw string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.password = pw
}

func (p *peer) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.t.Errorf("peer: encode: %v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(status)
		zw := gzip.NewWriter(w)
		zw.Write(b)
		zw.Close()
		return
	}
	w.WriteHeader(status)
	w.Write(b)
}

func errBody(code, field, msg string) schema.ErrorResponse {
	return schema.ErrorResponse{Error: schema.Error{Code: code, Field: field, Message: msg}}
}

func (p *peer) decode(r *http.Request, v any) error {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return err
		}
		body = zr
	}
	return json.NewDecoder(body).Decode(v)
}

func (p *peer) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.headers = append(p.headers, r.Header.Clone())
	p.mu.Unlock()
	switch r.URL.Path {
	case "/v1/auth/login":
		var req schema.LoginRequest
		if err := p.decode(r, &req); err != nil {
			p.writeJSON(w, r, 400, errBody(schema.ECodeMalformed, "", err.Error()))
			return
		}
		p.mu.Lock()
		password := p.password
		p.mu.Unlock()
		if req.Password != password {
			p.writeJSON(w, r, 401, errBody(schema.ECodeUnauthorized, "", "wrong username or password"))
			return
		}
		p.mu.Lock()
		resp := schema.TokenResponse{AccessToken: p.access, RefreshToken: p.refresh, TokenType: "Bearer", ExpiresIn: 900,
			User: p.user, ServerTime: p.now()}
		p.mu.Unlock()
		p.writeJSON(w, r, 200, resp)
	case "/v1/auth/refresh":
		var req schema.RefreshRequest
		p.decode(r, &req)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.onRefresh != nil {
			status, v := p.onRefresh(req)
			p.writeJSON(w, r, status, v)
			return
		}
		if req.RefreshToken != p.refresh {
			p.writeJSON(w, r, 401, errBody(schema.ECodeRefreshReused, "", "refresh token reused"))
			return
		}
		p.rotation++
		p.access, p.refresh = fmt.Sprintf("access-%d", p.rotation), fmt.Sprintf("refresh-%d", p.rotation)
		p.writeJSON(w, r, 200, schema.TokenResponse{AccessToken: p.access, RefreshToken: p.refresh, User: p.user, ServerTime: p.now()})
	case "/v1/sync/push":
		var req schema.PushRequest
		if err := p.decode(r, &req); err != nil {
			p.writeJSON(w, r, 400, errBody(schema.ECodeMalformed, "", err.Error()))
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.authorized(w, r) {
			return
		}
		p.pushes = append(p.pushes, req)
		if p.onPush != nil {
			status, v := p.onPush(len(p.pushes), req)
			if v != nil {
				p.writeJSON(w, r, status, v)
				return
			}
		}
		p.writeJSON(w, r, 200, p.applyPush(req))
	case "/v1/sync/pull":
		var req schema.PullRequest
		if err := p.decode(r, &req); err != nil {
			p.writeJSON(w, r, 400, errBody(schema.ECodeMalformed, "", err.Error()))
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.authorized(w, r) {
			return
		}
		p.pulls = append(p.pulls, req)
		if p.onPull != nil {
			status, v := p.onPull(len(p.pulls), req)
			p.writeJSON(w, r, status, v)
			return
		}
		p.writeJSON(w, r, 200, schema.PullResponse{Records: []schema.Record{}, Removed: []schema.Removal{}, Cursor: req.Cursor, ServerTime: p.now()})
	default:
		p.writeJSON(w, r, 404, errBody(schema.ECodeNotFound, "", "no route"))
	}
}

func (p *peer) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+p.access {
		p.writeJSON(w, r, 401, errBody(schema.ECodeTokenExpired, "", "access token expired"))
		return false
	}
	return true
}

// applyPush is the default push answer: every mutation applied (or a
// duplicate when seen before), with a receipt.
func (p *peer) applyPush(req schema.PushRequest) schema.PushResponse {
	now := p.now()
	resp := schema.PushResponse{ServerTime: now}
	for _, m := range req.Mutations {
		res := schema.MutationResult{MutationID: m.ID, Status: schema.StatusApplied}
		if first, ok := p.seen[m.ID]; ok {
			res.Status, res.Original = schema.StatusDuplicate, first
		} else {
			p.seen[m.ID] = schema.StatusApplied
			p.version[m.RecordID]++
		}
		res.Receipt = &schema.Receipt{Entity: m.Entity, ID: m.RecordID, Version: p.version[m.RecordID], ReceivedAt: now, UpdatedAt: now}
		resp.Results = append(resp.Results, res)
	}
	return resp
}

func (p *peer) pushCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pushes)
}

// newAgent opens an agent in a temp folder, pointed at the peer, signed in.
func newAgent(t *testing.T, p *peer, mod func(*Config)) *Agent {
	t.Helper()
	cfg := Config{DataDir: t.TempDir(), ServerURL: p.URL(), AppVersion: "test"}
	if mod != nil {
		mod(&cfg)
	}
	a, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Login(context.Background(), "asha.officer", "correct horse battery"); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return a
}

// Canned records.

func caseRecord(id string) schema.Record {
	return schema.Record{Entity: "case", ID: id, CaseID: id, Version: 1, Fields: schema.FieldsOf(schema.Case{
		CRN: "X123456", GivenName: "Sam", FamilyName: "Doe", DateOfBirth: "1990-01-02", Address: "1 High St",
		OfficerID: "officer", TeamID: "team-1", SentenceType: "community_order", SupervisionStart: "2026-11-01", RoSH: "high",
	})}
}

func flagRecord(caseID, typ string) schema.Record {
	return schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: caseID, Version: 1,
		Fields: schema.FieldsOf(schema.Flag{Type: typ, StartDate: "2026-10-01"})}
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// seed pulls the given records onto the agent through the peer.
func seed(t *testing.T, a *Agent, p *peer, recs ...schema.Record) {
	t.Helper()
	p.mu.Lock()
	prev := p.onPull
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		return 200, schema.PullResponse{Records: recs, Cursor: fmt.Sprintf("seed-%d", n), ServerTime: p.now()}
	}
	p.mu.Unlock()
	if _, err := a.SyncOnce(context.Background()); err != nil {
		t.Fatalf("seed sync: %v", err)
	}
	p.mu.Lock()
	p.onPull = prev
	p.mu.Unlock()
}

func mustCode(t *testing.T, err error, code, field string) {
	t.Helper()
	e := schema.AsError(err)
	if e == nil {
		t.Fatalf("want error %s on %q, got %v", code, field, err)
	}
	if e.Code != code || (field != "" && e.Field != field) {
		t.Fatalf("want error %s on %q, got %s on %q (%s)", code, field, e.Code, e.Field, e.Message)
	}
}
