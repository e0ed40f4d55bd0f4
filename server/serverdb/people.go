package serverdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"doorstep/schema"
)

// peopleOf returns the people a user of team may meet on their tablet: every
// user of the team (its officers and supervisors, disabled ones too, whose
// past decisions still need a name), by id, with only their id, name and
// role. A user with no team meets no one. tag identifies the list: it
// changes when anyone joins or leaves the team or is renamed, and only
// then, so a device that holds the list under the same tag needs nothing.
func peopleOf(ctx context.Context, tx *sql.Tx, teamID string) (people []schema.Person, tag string, err error) {
	people = []schema.Person{}
	if teamID != "" {
		rows, err := tx.QueryContext(ctx, `SELECT id, name, role FROM users WHERE team_id = ? ORDER BY id`, teamID)
		if err != nil {
			return nil, "", fmt.Errorf("people: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var p schema.Person
			var role string
			if err := rows.Scan(&p.ID, &p.Name, &role); err != nil {
				return nil, "", fmt.Errorf("people: %w", err)
			}
			p.Role = schema.Role(role)
			people = append(people, p)
		}
		if err := rows.Err(); err != nil {
			return nil, "", fmt.Errorf("people: %w", err)
		}
	}
	b, _ := json.Marshal(people)
	sum := sha256.Sum256(b)
	return people, "p:" + hex.EncodeToString(sum[:12]), nil
}

// People returns the people the actor may meet and the list's tag, as a
// pull sends them (docs/sync-protocol.md §7.1).
func (db *DB) People(ctx context.Context, actor Actor) (people []schema.Person, tag string, err error) {
	err = db.view(ctx, func(tx *sql.Tx) error {
		people, tag, err = peopleOf(ctx, tx, actor.TeamID)
		return err
	})
	return people, tag, err
}
