package devicedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"doorstep/schema"
)

// ReplacePeople stores the people list a pull brought, in place of the one
// held, under its tag (schema.PullResponse.People).
func (tx *Tx) ReplacePeople(ctx context.Context, people []schema.Person, tag string) error {
	if _, err := tx.exec(ctx, "DELETE FROM people"); err != nil {
		return fmt.Errorf("replace people: %w", err)
	}
	for _, p := range people {
		if p.ID == "" {
			continue
		}
		name, err := tx.sealText(personAAD(p.ID), []byte(p.Name))
		if err != nil {
			return fmt.Errorf("replace people: %w", err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO people (id, name, role) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role`, p.ID, name, string(p.Role)); err != nil {
			return fmt.Errorf("replace people: %w", err)
		}
	}
	return tx.SetState(ctx, KeyPeopleTag, tag)
}

// Person returns the person with id, and false when the tablet does not
// know them.
func (tx *Tx) Person(ctx context.Context, id string) (schema.Person, bool, error) {
	p := schema.Person{ID: id}
	var role string
	err := tx.queryRow(ctx, "SELECT name, role FROM people WHERE id = ?", id).Scan(&p.Name, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Person{}, false, nil
	}
	if err != nil {
		return schema.Person{}, false, fmt.Errorf("read person %s: %w", id, err)
	}
	name, err := tx.openText(personAAD(id), p.Name)
	if err != nil {
		return schema.Person{}, false, fmt.Errorf("read person %s: %w", id, err)
	}
	p.Name, p.Role = string(name), schema.Role(role)
	return p, true, nil
}

// People returns every person the tablet knows, by name (sorted here: the
// names are sealed).
func (tx *Tx) People(ctx context.Context) ([]schema.Person, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT id, name, role FROM people ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read people: %w", err)
	}
	defer rows.Close()
	var out []schema.Person
	for rows.Next() {
		var p schema.Person
		var role string
		if err := rows.Scan(&p.ID, &p.Name, &role); err != nil {
			return nil, fmt.Errorf("read people: %w", err)
		}
		name, err := tx.openText(personAAD(p.ID), p.Name)
		if err != nil {
			return nil, fmt.Errorf("read people: %w", err)
		}
		p.Name, p.Role = string(name), schema.Role(role)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b schema.Person) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
