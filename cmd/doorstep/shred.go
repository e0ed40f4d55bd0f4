package main

import (
	"context"
	"errors"

	"doorstep/syncer"
)

// shredKeysOf is the tablet's syncer.Config.ShredKeys: what the tablet
// destroys when its offline lease's grace has run out (docs/security.md,
// "The offline lease"). agent points at the agent once it is open. Until
// the tablet's data is sealed at rest under wrapped keys, the strongest
// destruction there is: the local data erased as a revocation erases it,
// unsent changes included (syncer.Agent.EraseLocalData).
func shredKeysOf(agent **syncer.Agent) func(context.Context) error {
	return func(ctx context.Context) error {
		if *agent == nil {
			return errors.New("the tablet agent is not open yet")
		}
		return (*agent).EraseLocalData(ctx)
	}
}
