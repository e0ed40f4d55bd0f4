package server

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"sync"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// caseCache keeps each case's records decoded (compliance.CaseRecords),
// with the version of its records they were decoded at. Decoding is what
// a compliance report costs (docs/performance.md); a case whose records
// did not change since is not read again. It is shared by every actor:
// what an actor gets is decided by the scoped version query, never by the
// cache. The zero value is ready to use.
//
// Entries are read-only once stored: the measures only read their input.
type caseCache struct {
	mu sync.Mutex
	m  map[string]cachedCase
	// scopes: the last answer per scope, with the store's change number
	// when it was made. While no record has changed anywhere (MaxSeq the
	// same), it is the answer again, without asking per case.
	scopes map[string]scopeAnswer
}

type scopeAnswer struct {
	seq   int64
	cases []compliance.CaseRecords
}

// scopeKey names what an actor may see: every case, a team's, or an
// officer's.
func scopeKey(a serverdb.Actor) string {
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
	cr compliance.CaseRecords
	ok bool // false: the records have no case record to group under
}

// loadChunk is how many cases one worker reads and decodes at a time.
const loadChunk = 250

// caseRecords returns the decoded records of every case in the actor's
// scope, ordered by CRN then id (as compliance.Group orders them): those
// unchanged since they were last decoded from the cache, the others read
// through the store's scope and decoded, on every core.
func (s *Server) caseRecords(ctx context.Context, actor serverdb.Actor) ([]compliance.CaseRecords, error) {
	// Read before the records: a write after it makes the next request
	// look again.
	seq, err := s.db.MaxSeq(ctx)
	if err != nil {
		return nil, err
	}
	key := scopeKey(actor)
	s.cases.mu.Lock()
	if a, ok := s.cases.scopes[key]; ok && a.seq == seq {
		s.cases.mu.Unlock()
		return a.cases, nil
	}
	s.cases.mu.Unlock()
	vers, err := s.db.CaseVersions(ctx, actor)
	if err != nil {
		return nil, err
	}
	out := make([]compliance.CaseRecords, 0, len(vers))
	var stale []string
	s.cases.mu.Lock()
	for id, v := range vers {
		if c, hit := s.cases.m[id]; hit && c.v == v {
			if c.ok {
				out = append(out, c.cr)
			}
		} else {
			stale = append(stale, id)
		}
	}
	s.cases.mu.Unlock()
	if len(stale) > 0 {
		slices.Sort(stale)
		loaded, err := s.loadCases(ctx, actor, stale)
		if err != nil {
			return nil, err
		}
		s.cases.mu.Lock()
		if s.cases.m == nil {
			s.cases.m = map[string]cachedCase{}
		}
		for _, id := range stale {
			cr, ok := loaded[id]
			// Stored under the version read before the records: if a write
			// came between, the next request sees a newer version and reads
			// the case again.
			s.cases.m[id] = cachedCase{v: vers[id], cr: cr, ok: ok}
			if ok {
				out = append(out, cr)
			}
		}
		s.cases.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b compliance.CaseRecords) int {
		return cmp.Or(cmp.Compare(a.Case.CRN, b.Case.CRN), cmp.Compare(a.Case.ID, b.Case.ID))
	})
	s.cases.mu.Lock()
	if s.cases.scopes == nil {
		s.cases.scopes = map[string]scopeAnswer{}
	}
	s.cases.scopes[key] = scopeAnswer{seq: seq, cases: out}
	s.cases.mu.Unlock()
	return out, nil
}

// loadCases reads and decodes the records of the given cases in chunks,
// one worker per core.
func (s *Server) loadCases(ctx context.Context, actor serverdb.Actor, ids []string) (map[string]compliance.CaseRecords, error) {
	var chunks [][]string
	for c := range slices.Chunk(ids, loadChunk) {
		chunks = append(chunks, c)
	}
	out := make(map[string]compliance.CaseRecords, len(ids))
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
				recs, err := s.db.ListRawCases(ctx, actor, compliance.Entities, chunk)
				var crs []compliance.CaseRecords
				if err == nil {
					crs, err = compliance.Group(recs)
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

// WarmCompliance reads and decodes every case's records into the cache,
// so that the first compliance request after a start finds them there. It
// returns how many cases it holds. doorstep server runs it in the
// background at start.
func (s *Server) WarmCompliance(ctx context.Context) (int, error) {
	crs, err := s.caseRecords(ctx, serverdb.Actor{UserID: "compliance-cache", Role: schema.RoleAdmin})
	return len(crs), err
}
