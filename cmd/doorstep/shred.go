package main

import (
	"context"
	"errors"

	"doorstep/syncer"
)

// shredKeysOf is the tablet's syncer.Config.ShredKeys: what the tablet
// destroys when its offline lease's grace has run out (docs/security.md,
// "The offline lease"): the wraps of the key its data is sealed under
// (syncer.Agent.DestroyKeys). agent points at the agent once it is open.
func shredKeysOf(agent **syncer.Agent) func(context.Context) error {
	return func(ctx context.Context) error {
		if *agent == nil {
			return errors.New("the tablet agent is not open yet")
		}
		return (*agent).DestroyKeys(ctx)
	}
}
