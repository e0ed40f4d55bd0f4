package compliance

import (
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
