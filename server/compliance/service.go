package compliance

import (
	"bytes"
	"cmp"
	"context"
	"runtime"
	"slices"
	"sync"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/server/serverdb"
)

// Service is the one place that loads and caches what the measures read,
// for the JSON endpoints and the dashboard alike. It reads through the
// store, which enforces the actor's scope.
//
// It keeps each case's records decoded (CaseRecords), with the version of
// its records they were decoded at. Decoding is what a compliance report
// costs (docs/performance.md); a case whose records did not change since
// is not read again. The cache is shared by every actor: what an actor
// gets is decided by the scoped version query, never by the cache.
//
// Entries are read-only once stored: the measures only read their input.
type Service struct {
	db     *serverdb.DB
	policy *policy.Policy

	mu sync.Mutex
	m  map[string]cachedCase
	// scopes: the last answer per scope, with the store's change number
	// when it was made. While no record has changed anywhere (MaxSeq the
	// same), it is the answer again, without asking per case.
	scopes map[string]scopeAnswer
}

type scopeAnswer struct {
	seq   int64
	cases []CaseRecords
}

// NewService returns the service over db; p is the visit policy the
// measures compute with (nil: policy.Default()).
func NewService(db *serverdb.DB, p *policy.Policy) *Service {
	return &Service{db: db, policy: p}
}

// ScopeKey names what an actor may see: every case, a team's, or an
// officer's. Answers cached per scope are keyed by it.
func ScopeKey(a serverdb.Actor) string {
	switch a.Role {
	case schema.RoleAdmin, schema.RoleAuditor:
		return "all"
	case schema.RoleSupervisor:
		return "team:" + a.TeamID
	}
	return string(a.Role) + ":" + a.UserID
}

type cachedCase struct {
	v  serverdb.CaseVersion
	cr CaseRecords
	ok bool // false: the records have no case record to group under
}

// loadChunk is how many cases one worker reads and decodes at a time.
const loadChunk = 250

// Cases returns the decoded records of every case in the actor's
// scope, ordered by CRN then id (as Group orders them): those
// unchanged since they were last decoded from the cache, the others read
// through the store's scope and decoded, on every core.
func (s *Service) Cases(ctx context.Context, actor serverdb.Actor) ([]CaseRecords, error) {
	// Read before the records: a write after it makes the next request
	// look again.
	seq, err := s.db.MaxSeq(ctx)
	if err != nil {
		return nil, err
	}
	key := ScopeKey(actor)
	s.mu.Lock()
	if a, ok := s.scopes[key]; ok && a.seq == seq {
		s.mu.Unlock()
		return a.cases, nil
	}
	s.mu.Unlock()
	vers, err := s.db.CaseVersions(ctx, actor)
	if err != nil {
		return nil, err
	}
	out := make([]CaseRecords, 0, len(vers))
	var stale []string
	s.mu.Lock()
	for id, v := range vers {
		if c, hit := s.m[id]; hit && c.v == v {
			if c.ok {
				out = append(out, c.cr)
			}
		} else {
			stale = append(stale, id)
		}
	}
	s.mu.Unlock()
	if len(stale) > 0 {
		slices.Sort(stale)
		loaded, err := s.loadCases(ctx, actor, stale)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.m == nil {
			s.m = map[string]cachedCase{}
		}
		for _, id := range stale {
			cr, ok := loaded[id]
			// Stored under the version read before the records: if a write
			// came between, the next request sees a newer version and reads
			// the case again.
			s.m[id] = cachedCase{v: vers[id], cr: cr, ok: ok}
			if ok {
				out = append(out, cr)
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b CaseRecords) int {
		return cmp.Or(cmp.Compare(a.Case.CRN, b.Case.CRN), cmp.Compare(a.Case.ID, b.Case.ID))
	})
	s.mu.Lock()
	if s.scopes == nil {
		s.scopes = map[string]scopeAnswer{}
	}
	s.scopes[key] = scopeAnswer{seq: seq, cases: out}
	s.mu.Unlock()
	return out, nil
}

// loadCases reads and decodes the records of the given cases in chunks,
// one worker per core.
func (s *Service) loadCases(ctx context.Context, actor serverdb.Actor, ids []string) (map[string]CaseRecords, error) {
	var chunks [][]string
	for c := range slices.Chunk(ids, loadChunk) {
		chunks = append(chunks, c)
	}
	out := make(map[string]CaseRecords, len(ids))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan []string)
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range work {
				recs, err := s.db.ListRawCases(ctx, actor, Entities, chunk)
				var crs []CaseRecords
				if err == nil {
					crs, err = Group(recs)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for _, cr := range crs {
					out[cr.Case.ID] = cr
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range chunks {
		work <- c
	}
	close(work)
	wg.Wait()
	return out, firstErr
}

// Warm reads and decodes every case's records into the cache,
// so that the first compliance request after a start finds them there. It
// returns how many cases it holds. doorstep server runs it in the
// background at start.
func (s *Service) Warm(ctx context.Context) (int, error) {
	crs, err := s.Cases(ctx, serverdb.Actor{UserID: "compliance-cache", Role: schema.RoleAdmin})
	return len(crs), err
}

// Input loads the records of every case in the actor's scope, through the
// store's scope filter, with the names of officers and teams. Cases whose
// records did not change since an earlier request come decoded from the
// cache; the records returned are shared and must not be changed.
func (s *Service) Input(ctx context.Context, actor serverdb.Actor, officerID string) (Input, error) {
	cases, err := s.Cases(ctx, actor)
	if err != nil {
		return Input{}, err
	}
	in, err := s.names(ctx, officerID)
	in.Cases = cases
	return in, err
}

// QARatings loads the DA risk assessment ratings (oversight records of a
// case, aspect da_risk_assessment) of the actor's scope.
func (s *Service) QARatings(ctx context.Context, actor serverdb.Actor) ([]schema.Oversight, error) {
	recs, err := s.db.ListRaw(ctx, actor, []string{"oversight"})
	if err != nil {
		return nil, err
	}
	var out []schema.Oversight
	for _, r := range recs {
		if !bytes.Contains(r.Fields, []byte(schema.AspectDARiskAssessment)) {
			continue // most oversight records are reviews of visits: skip decoding them
		}
		var o schema.Oversight
		if err := r.Decode(&o); err != nil {
			return nil, err
		}
		if o.IsDARating() {
			out = append(out, o)
		}
	}
	return out, nil
}
