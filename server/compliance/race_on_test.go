//go:build race

package compliance_test

// raceEnabled: the race detector instruments the code it runs, so counts
// of allocations are its own, not the code's: those tests only log them.
const raceEnabled = true
