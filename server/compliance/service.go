package compliance

import (
	"bytes"
	"cmp"
	"context"
	"runtime"
	"slices"
	"sync"
	"time"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/server/serverdb"
)

// Service is the one place that loads what the measures read, for the
// JSON endpoints and the dashboard alike. It reads through the store,
// which enforces the actor's scope.
//
// It keeps nothing between requests: every answer computed in Go reads
// and decodes the records of the cases it covers, and drops them with
// the answer (docs/decisions/0051-no-compliance-cache.md). What bounds its
// memory is MaxCases: an answer that would cover more cases is refused
// before a record is read; MaxJobs: at most that many such answers are
// computed at once, the others wait their turn (Job; decision 0060); and
// MaxCasesInFlight: the answers computed at once cover at most that many
// cases together, a load waits for its cases (decision 0079).
type Service struct {
	db     *serverdb.DB
	policy *policy.Policy

	// MaxCases is the most cases one answer computed in Go may cover
	// (0: DefaultMaxCases). Set it before the service answers.
	MaxCases int
	// MaxJobs is the most answers computed in Go at once (0:
	// DefaultMaxJobs), and JobWait how long a request waits for its turn
	// before it is answered busy (0: DefaultJobWait): Job. Set them before
	// the service answers.
	MaxJobs int
	JobWait time.Duration
	// MaxCasesInFlight is the most cases the answers computed in Go at
	// once may cover together (0: MaxCases, one answer's worth): a load
	// waits for its share before it reads a record (Job). Set it before
	// the service answers.
	MaxCasesInFlight int

	jobs jobs
}

// DefaultMaxCases is MaxCases unless set: 5,000 cases, ten 500-case teams,
// about 200 MiB of decoded records (docs/performance.md).
const DefaultMaxCases = 5000

// NewService returns the service over db; p is the visit policy the
// measures compute with (nil: policy.Default()).
func NewService(db *serverdb.DB, p *policy.Policy) *Service {
	return &Service{db: db, policy: p}
}

// ScopeKey names what an actor may see: every case, a team's, or an
// officer's. Answers kept per scope are keyed by it.
func ScopeKey(a serverdb.Actor) string {
	switch a.Role {
	case schema.RoleAdmin, schema.RoleAuditor:
		return "all"
	case schema.RoleSupervisor:
		return "team:" + a.TeamID
	}
	return string(a.Role) + ":" + a.UserID
}

// Narrow keeps, of an actor's scope, one team's cases, one officer's, or
// both (serverdb.ScopeNarrow): the cases outside it are not read.
type Narrow = serverdb.ScopeNarrow

// loadChunk is how many cases one worker reads and decodes at a time.
const loadChunk = 250

// CaseLimit is the most cases one answer computed in Go may cover.
func (s *Service) CaseLimit() int { return s.maxCases() }

// maxCases is MaxCases, or its default.
func (s *Service) maxCases() int {
	if s.MaxCases > 0 {
		return s.MaxCases
	}
	return DefaultMaxCases
}

// TooManyCases is the refusal of an answer over more than max cases: a
// too_many_cases error (422) saying how many, the limit, and what to ask
// instead (docs/api.md).
func TooManyCases(n, max int) error {
	return schema.Errorf(schema.ECodeTooManyCases, "", "this answer would cover %d cases, more than the %d one report computed case by case may cover; "+
		"narrow it to an officer (officer_id) or a team, ask detail=counts of a measure the read model answers, "+
		"or page through a figure's cases (GET /v1/compliance/<measure>/cases)", n, max)
}

// Cases returns the decoded records of every case of the actor's scope
// within narrow, ordered by CRN then id (as Group orders them): read
// through the store's scope, in chunks, on every core. More than MaxCases
// cases is a TooManyCases error, before any record is read. Unless ctx
// holds a job (Job), the load takes one, and gives it back when it
// returns: the caller should hold one around its computation too. The
// job then holds the cases' share of MaxCasesInFlight, waiting for it
// (at most JobWait, then a busy error) before any record is read, until
// the job is given back.
func (s *Service) Cases(ctx context.Context, actor serverdb.Actor, narrow Narrow) ([]CaseRecords, error) {
	ids, err := s.db.ScopeCases(ctx, actor, narrow)
	if err != nil {
		return nil, err
	}
	if len(ids) > s.maxCases() {
		return nil, TooManyCases(len(ids), s.maxCases())
	}
	ctx, release, err := s.jobHolding(ctx, len(ids))
	if err != nil {
		return nil, err
	}
	defer release()
	loaded, err := s.loadCases(ctx, actor, ids)
	if err != nil {
		return nil, err
	}
	out := make([]CaseRecords, 0, len(loaded))
	for _, id := range ids {
		if cr, ok := loaded[id]; ok {
			out = append(out, cr)
		}
	}
	slices.SortFunc(out, func(a, b CaseRecords) int {
		return cmp.Or(cmp.Compare(a.Case.CRN, b.Case.CRN), cmp.Compare(a.Case.ID, b.Case.ID))
	})
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

// Input loads the records of every case in the actor's scope (only
// officerID's cases when set), through the store's scope filter, with the
// names of officers and teams. Nothing is kept: each call reads the
// records afresh. More than MaxCases cases is a TooManyCases error.
func (s *Service) Input(ctx context.Context, actor serverdb.Actor, officerID string) (Input, error) {
	return s.InputOf(ctx, actor, Narrow{OfficerID: officerID})
}

// InputOf is Input for the cases of the actor's scope within narrow
// (the measures' OfficerID is narrow's).
func (s *Service) InputOf(ctx context.Context, actor serverdb.Actor, narrow Narrow) (Input, error) {
	cases, err := s.Cases(ctx, actor, narrow)
	if err != nil {
		return Input{}, err
	}
	in, err := s.names(ctx, narrow.OfficerID)
	in.Cases = cases
	return in, err
}

// QARatings loads the DA risk assessment ratings (oversight records of a
// case, aspect da_risk_assessment) of the actor's scope. What it reads
// grows with the scope's cases, so it is a load as Cases is: under a job
// (taken unless ctx holds one), holding the scope's cases of the budget of
// cases in flight (decision 0079), waiting for them or answered busy.
func (s *Service) QARatings(ctx context.Context, actor serverdb.Actor) ([]schema.Oversight, error) {
	ids, err := s.db.ScopeCases(ctx, actor, Narrow{})
	if err != nil {
		return nil, err
	}
	ctx, release, err := s.jobHolding(ctx, len(ids))
	if err != nil {
		return nil, err
	}
	defer release()
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
