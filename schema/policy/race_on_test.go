//go:build race

package policy_test

// raceEnabled: the race detector instruments the code it runs, so counts
// of allocations are its own, not the code's: those tests skip.
const raceEnabled = true
