package serverdb

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"doorstep/schema"
)

// ScopeNarrow keeps, of an actor's scope, one team's cases (TeamID), one
// officer's (OfficerID), or both; empty fields keep everything.
type ScopeNarrow struct {
	TeamID    string
	OfficerID string
}

// ScopeCases returns the ids of the cases in the actor's scope within
// narrow, in id order, from case_scope and its indexes alone (by team:
// case_scope_team; by officer: case_scope_officer), without reading a
// record: what a report counts before it reads the cases' records.
func (db *DB) ScopeCases(ctx context.Context, actor Actor, narrow ScopeNarrow) ([]string, error) {
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	q, args := scopeCasesQuery(cond, args, narrow)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cases in scope: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("cases in scope: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// scopeCasesQuery is ScopeCases' query for the scope condition cond (of
// scopeFilter, with its args) and narrow.
func scopeCasesQuery(cond string, args []any, narrow ScopeNarrow) (string, []any) {
	q := `SELECT case_id FROM case_scope WHERE ` + cond
	if narrow.TeamID != "" {
		q += ` AND team_id = ?`
		args = append(args, narrow.TeamID)
	}
	if narrow.OfficerID != "" {
		q += ` AND officer_id = ?`
		args = append(args, narrow.OfficerID)
	}
	return q + ` ORDER BY case_id`, args
}

// rawCasesQuery is ListRawCases' query for entities, n case ids and the
// scope condition cond (of scopeFilter): the records index by case
// (records_case_entity) finds each case's records. It does not sort them:
// ListRawCases puts them in change order by their seq. Sorted by the
// store, a 250-case chunk of a team's records (about 10,000 of them, 4 MB
// of fields) went through SQLite's sorter, which spilled to temporary
// files: about half the statement's time at 25,000 cases (decision 0086).
//
// On SQLite (sqlite) the statement is shaped for the way SQLite walks it
// (decision 0108). The entities filter the rows found by case (`+entity`
// keeps the index off them): in the index's search, they made SQLite seek
// every pair of case and entity, 2,000 searches a 250-case chunk for eight
// entities where 250 find the same rows (a case's records are the listed
// entities but few). And the scope (scoped: an actor's cases, not the
// whole service) is checked once a case, in the subquery that gives the
// cases, rather than on each of the chunk's 10,000 records: a search of
// the scope's list of cases a record. Together about an eighth of the
// statement's time at 25,000 cases. PostgreSQL is asked as before: it
// already searches by case alone and joins the scope's cases once.
func rawCasesQuery(sqlite bool, entities, n int, cond string, scoped bool) string {
	if !sqlite {
		return `SELECT ` + rawCasesCols + ` FROM records WHERE entity IN (` + listMarks(entities) + `) AND case_id IN (` +
			listMarks(n) + `) AND ` + cond
	}
	q := `SELECT ` + rawCasesCols + ` FROM records WHERE +entity IN (` + listMarks(entities) + `) AND case_id IN (`
	if !scoped {
		return q + listMarks(n) + `) AND ` + cond
	}
	// The case ids of case_scope that are in cond's scope.
	return q + `SELECT case_id FROM case_scope WHERE case_id IN (` + listMarks(n) + `) AND ` + cond + `)`
}

// ListRawCases is ListRaw for the given cases only (those out of the
// actor's scope give nothing), in change order. Their Fields are the
// driver's strings' bytes (fieldsOf): read them, never write into them.
func (db *DB) ListRawCases(ctx context.Context, actor Actor, entities, caseIDs []string) ([]schema.RawRecord, error) {
	if len(entities) == 0 || len(caseIDs) == 0 {
		return nil, nil
	}
	for _, e := range entities {
		if _, ok := schema.Entity(e); !ok {
			return nil, schema.Errorf(schema.ECodeUnknownEntity, "entity", "there is no entity %q", e)
		}
	}
	cond, scopeArgs, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	const chunk = 500 // well under SQLite's limit on parameters
	var out []schema.RawRecord
	var seqs []int64
	for len(caseIDs) > 0 {
		n := min(chunk, len(caseIDs))
		args := make([]any, 0, len(entities)+n+len(scopeArgs))
		for _, e := range entities {
			args = append(args, e)
		}
		for _, id := range caseIDs[:n] {
			args = append(args, id)
		}
		args = append(args, scopeArgs...)
		rows, err := db.r.QueryContext(ctx, rawCasesQuery(db.eng.name() == "sqlite", len(entities), n, cond, len(scopeArgs) > 0), args...)
		if err != nil {
			return nil, fmt.Errorf("list records of cases: %w", err)
		}
		// The chunk's records, and their seqs beside them, put in change
		// order below.
		start := len(out)
		seqs = seqs[:0]
		// Scanned into the same variables each row (Scan's pointers make
		// them escape: declared in the loop, each row's were an allocation
		// of their own), and the answer grown by doubling rather than by
		// append's quarter for large slices, which copied a chunk's records
		// about five times over (decision 0108).
		var packed string
		var seq int64
		for rows.Next() {
			if err := rows.Scan(&packed, &seq); err != nil {
				rows.Close()
				return nil, fmt.Errorf("list records of cases: %w", err)
			}
			r, ok := unpackRawRecord(packed, entities)
			if !ok {
				rows.Close()
				return nil, fmt.Errorf("list records of cases: a row read as %.80q", packed)
			}
			if len(out) == cap(out) {
				out = slices.Grow(out, max(len(out), 256))
			}
			out = append(out, r)
			seqs = append(seqs, seq)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		inChangeOrder(out[start:], seqs)
		caseIDs = caseIDs[n:]
	}
	return out, nil
}

// inChangeOrder sorts recs by their seqs (seqs[i] is recs[i]'s, each
// distinct), in place. It sorts the records' places by seq, small values,
// then moves each record once to its place (each cycle of the
// permutation in turn), rather than sorting the
// records themselves with their seqs (about 80 bytes a swap; decision
// 0095).
func inChangeOrder(recs []schema.RawRecord, seqs []int64) {
	if slices.IsSorted(seqs) {
		return
	}
	order := make([]int32, len(recs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(seqs[a], seqs[b]) })
	inOrder(recs, order)
}

// fieldsOf is a record's stored fields, as the driver read them, as a
// json.RawMessage without copying them: the string is the row's own (both
// drivers make one for each value read) and nothing else holds it once the
// next row is read. A conversion copied every record's fields again, a
// 500-case team's 8.5 MB a dashboard page, only to drop the string
// (decision 0103). Whoever reads ListRawCases' records must not write into
// their Fields (no caller does: they are decoded, never edited).
func fieldsOf(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage(s)
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// rawCasesCols are the columns ListRawCases reads of a record: its
// entity, id, case id and fields packed into one text (unpackRawRecord),
// and its seq. Read as five columns, each row was five calls into the
// driver, each taking the connection's mutex on SQLite, and four strings
// made (decision 0135).
const rawCasesCols = `entity || ',' || octet_length(id) || ':' || id || octet_length(case_id) || ':' || case_id || fields, seq`

// unpackRawRecord is the record of a text s of rawCasesCols: the entity
// (a name without a comma) and ',', the id and the case id each with its
// length in bytes and ':', then the fields. The entity is the one of
// entities it names; the id and the case id are copied into one string of
// their own (the decoded records keep them: parts of s, they would keep
// the whole row's fields alive); the fields are s's own bytes (fieldsOf).
func unpackRawRecord(s string, entities []string) (schema.RawRecord, bool) {
	r := aggText{s: s}
	entity := r.until(',')
	id := r.text()
	caseID := r.text()
	if r.err != nil {
		return schema.RawRecord{}, false
	}
	if i := slices.Index(entities, entity); i >= 0 {
		entity = entities[i]
	} else {
		entity = strings.Clone(entity)
	}
	ids := id + caseID
	return schema.RawRecord{Entity: entity, ID: ids[:len(id)], CaseID: ids[len(id):], Fields: fieldsOf(r.s)}, true
}

func listMarks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
