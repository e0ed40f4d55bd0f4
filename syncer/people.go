package syncer

import (
	"context"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// Person returns the user with id as the last pull named them (the people
// of the officer's team, supervisors included), and false when the tablet
// does not know them: another team's user, or a server too old to send the
// list.
func (a *Agent) Person(ctx context.Context, id string) (p schema.Person, ok bool, err error) {
	if id == "" {
		return schema.Person{}, false, nil
	}
	err = a.db.View(ctx, func(tx *devicedb.Tx) error {
		p, ok, err = tx.Person(ctx, id)
		return err
	})
	return p, ok, err
}

// People returns everyone the tablet can name, by name.
func (a *Agent) People(ctx context.Context) (people []schema.Person, err error) {
	err = a.db.View(ctx, func(tx *devicedb.Tx) error {
		people, err = tx.People(ctx)
		return err
	})
	return people, err
}
