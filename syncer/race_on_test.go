//go:build race

package syncer

// raceEnabled: the race detector slows everything down several times, so
// timing tests only log their figures.
const raceEnabled = true
