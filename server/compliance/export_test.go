package compliance

import (
	"context"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// MemoRequirements is the requirements as the measures get them (through
// the case's memo), for the tests.
func (cr CaseRecords) MemoRequirements(p *policy.Policy, asOf schema.Date) []policy.Requirement {
	reqs, _ := cr.requirements(p, asOf)
	return reqs
}

// WithNewMemo is cr with a memo of its own: for records altered by a
// test, which must not share what was worked out from the records before.
func (cr CaseRecords) WithNewMemo() CaseRecords {
	cr.memo = &memo{}
	return cr
}

// HoldCases is holdCases, for the tests of the budget of cases in
// flight without a store.
func (s *Service) HoldCases(ctx context.Context, n int) error { return s.holdCases(ctx, n) }
