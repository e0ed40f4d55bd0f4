package serverdb

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Measure 3's contacts counted as they are written (rm_contact_totals,
// migration 0023, decision 0097): how many signed contacts each team and
// officer (the case's numbers now) has on each started_day, and in each
// month (a row whose started_day is the month, "2026-09"), by outcome,
// channel, place and da, the columns measure 3's conditions read. A
// whole-service report of measure 3 sums the rows of the period's whole
// months and of its other days rather than reading and grouping every
// contact of the period (contactSet.summed, contactPeriodRows).
//
// It is kept exact by the transaction that writes the read model: the
// grouped contacts of every case whose rows the transaction may change
// are read before the read model's rows are written and again after,
// and the difference is added to the table (withContactTotals). So a
// visit signed or amended, a case reallocated to another team or officer
// (its contacts move to the new numbers' rows) and a DA flag that starts,
// ends or is added (the visits' da moves them) all move the counts as the
// rows move, whatever the write path wrote. A rebuild of the read model
// counts the table again whole (recountContactTotals).

// contactTotalsGroup is the grouped count of the signed contacts of
// some cases, the columns of rm_contact_totals in its order.
const contactTotalsGroup = `SELECT v.started_day, c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da, count(*)
	FROM rm_visits v JOIN rm_cases c ON c.case_id = v.case_id
	WHERE ` + contactSigned

// contactTotalsBy is the GROUP BY of contactTotalsGroup.
const contactTotalsBy = ` GROUP BY v.started_day, c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da`

// contactKey is one row's key of rm_contact_totals.
type contactKey struct {
	day                     string
	team, officer           int64
	outcome, channel, place string
	da                      int64
}

// contactTotalCases are the cases of the records t wrote whose rows
// rm_contact_totals counts may change: a case record (its allocation), a
// flag (the visits' da), an amendment (it may amend a signed visit) or a
// signed visit. A visit not signed is no contact before or after the
// write (a signed record never changes, and an amendment cannot unsign a
// visit: factsChanged), and the other records change no column it
// counts. New cases have no rows before the write; they are kept apart.
func (t *wtx) contactTotalCases() (old, fresh []string) {
	seen := map[string]bool{}
	for _, r := range t.written {
		if seen[r.caseID] {
			continue
		}
		switch {
		case r.entity == "case", r.entity == "flag", r.entity == "amendment", r.entity == "visit" && r.signed:
		default:
			continue
		}
		seen[r.caseID] = true
		if t.newCases[r.caseID] {
			fresh = append(fresh, r.caseID)
		} else {
			old = append(old, r.caseID)
		}
	}
	slices.Sort(old)
	slices.Sort(fresh)
	return old, fresh
}

// withContactTotals runs write, which writes t's read model rows
// (refreshReadModel), and keeps rm_contact_totals to them: the grouped
// contacts of the cases whose rows may change are taken away before and
// added back after.
func (db *DB) withContactTotals(t *wtx, write func(*wtx) error) error {
	old, fresh := t.contactTotalCases()
	if len(old)+len(fresh) == 0 {
		return write(t)
	}
	delta := map[contactKey]int64{}
	if err := t.groupContacts(old, delta, -1); err != nil {
		return err
	}
	if err := write(t); err != nil {
		return err
	}
	written := append(old, fresh...)
	if err := t.groupContacts(written, delta, 1); err != nil {
		return err
	}
	if err := t.setContactDays(written); err != nil {
		return err
	}
	return t.addContactTotals(delta)
}

// contactDaysSet sets each case's first and last contact days
// (rm_cases.first_contact_day, last_contact_day, migration 0028: the least
// and the greatest started_day of its signed contacts, the empty text when it has
// none) from its rm_visits rows; its WHERE is the caller's.
const contactDaysSet = `UPDATE rm_cases SET
	first_contact_day = COALESCE((SELECT min(v.started_day) FROM rm_visits v WHERE v.case_id = rm_cases.case_id AND ` +
	contactSigned + `), ''),
	last_contact_day = COALESCE((SELECT max(v.started_day) FROM rm_visits v WHERE v.case_id = rm_cases.case_id AND ` +
	contactSigned + `), '')`

// setContactDays sets the first and last contact days of the cases ids
// (contactDaysSet), once their read model rows are written: the cases
// whose contacts the write may change are those whose rm_contact_totals
// groups it may change (contactTotalCases), and a case row written again
// (a case record changed) is written without them.
func (t *wtx) setContactDays(ids []string) error {
	for chunk := range slices.Chunk(ids, rmChunk) {
		if _, err := t.ExecContext(t.ctx, contactDaysSet+` WHERE case_id IN (`+t.eng.idsIn()+`)`, jsonIDList(chunk)); err != nil {
			return fmt.Errorf("read model: contact days: %w", err)
		}
	}
	return nil
}

// groupContacts adds sign times the grouped contacts of the cases ids to
// into.
func (t *wtx) groupContacts(ids []string, into map[contactKey]int64, sign int64) error {
	for chunk := range slices.Chunk(ids, rmChunk) {
		err := func() error {
			rows, err := t.QueryContext(t.ctx, contactTotalsGroup+` AND v.case_id IN (`+t.eng.idsIn()+`)`+contactTotalsBy,
				jsonIDList(chunk))
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var k contactKey
				var n int64
				if err := rows.Scan(&k.day, &k.team, &k.officer, &k.outcome, &k.channel, &k.place, &k.da, &n); err != nil {
					return err
				}
				into[k] += sign * n
				k.day = k.day[:7] // the month's row
				into[k] += sign * n
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("read model: contact totals: %w", err)
		}
	}
	return nil
}

// contactTotalsBatch is how many rows one upsert of rm_contact_totals
// writes.
const contactTotalsBatch = 64

// addContactTotals adds delta to rm_contact_totals, and deletes the rows
// it leaves at none.
func (t *wtx) addContactTotals(delta map[contactKey]int64) error {
	keys := slices.SortedFunc(maps.Keys(delta), func(a, b contactKey) int {
		return cmp.Or(strings.Compare(a.day, b.day), cmp.Compare(a.team, b.team), cmp.Compare(a.officer, b.officer),
			strings.Compare(a.outcome, b.outcome), strings.Compare(a.channel, b.channel), strings.Compare(a.place, b.place),
			cmp.Compare(a.da, b.da))
	})
	keys = slices.DeleteFunc(keys, func(k contactKey) bool { return delta[k] == 0 })
	for chunk := range slices.Chunk(keys, contactTotalsBatch) {
		args := make([]any, 0, 8*len(chunk))
		for _, k := range chunk {
			args = append(args, k.day, k.team, k.officer, k.outcome, k.channel, k.place, k.da, delta[k])
		}
		_, err := t.ExecContext(t.ctx, `INSERT INTO rm_contact_totals (started_day, team_no, officer_no, outcome, channel,
			place, da, n) VALUES `+strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?), `, len(chunk)), ", ")+`
			ON CONFLICT (started_day, team_no, officer_no, outcome, channel, place, da)
			DO UPDATE SET n = rm_contact_totals.n + excluded.n`, args...)
		if err != nil {
			return fmt.Errorf("read model: contact totals: %w", err)
		}
	}
	for _, k := range keys {
		if delta[k] > 0 {
			continue
		}
		_, err := t.ExecContext(t.ctx, `DELETE FROM rm_contact_totals WHERE started_day = ? AND team_no = ? AND officer_no = ?
			AND outcome = ? AND channel = ? AND place = ? AND da = ? AND n = 0`,
			k.day, k.team, k.officer, k.outcome, k.channel, k.place, k.da)
		if err != nil {
			return fmt.Errorf("read model: contact totals: %w", err)
		}
	}
	return nil
}

// contactMonthsGroup is contactTotalsGroup by month (the first seven
// characters of started_day, "2026-09"): the month rows.
const contactMonthsGroup = `SELECT substr(v.started_day, 1, 7), c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da, count(*)
	FROM rm_visits v JOIN rm_cases c ON c.case_id = v.case_id
	WHERE ` + contactSigned + `
	GROUP BY substr(v.started_day, 1, 7), c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da`

// recountContactTotals counts rm_contact_totals again whole from the
// read model's rows (in the key's order, as migration 0023 fills it, so
// that a period's rows are together on disk): after a rebuild, whose
// writeCases set each case's first and last contact days.
func (t *wtx) recountContactTotals() error {
	if _, err := t.ExecContext(t.ctx, `DELETE FROM rm_contact_totals`); err != nil {
		return fmt.Errorf("read model: contact totals: %w", err)
	}
	for _, q := range []string{contactTotalsGroup + contactTotalsBy, contactMonthsGroup} {
		_, err := t.ExecContext(t.ctx, `INSERT INTO rm_contact_totals (started_day, team_no, officer_no, outcome, channel, place,
			da, n) `+q+` ORDER BY 1, 2, 3, 4, 5, 6, 7`)
		if err != nil {
			return fmt.Errorf("read model: contact totals: %w", err)
		}
	}
	return nil
}

// contactPeriodRows adds the query of the rows of rm_contact_totals t
// that count the contacts of the days from to end (both in it) once:
// sel, the columns before n, then n and the rest of the query. Of each
// month the days cover, the rows read are the cheaper of two ways, by
// the days each reads: the day rows of the days in the period, or the
// month's row less the day rows of its days outside the period (their n
// negated). A month covered whole is its month row alone; the month of
// a period that ends on today, 23 of 30 days in, is its month's row less
// the days after today, which have no contacts yet, where it was 23
// days' rows (at 100,000 cases a quarter read 196,000 rows where it now
// reads 128,000, decision 0105). A month row's started_day ("2026-09")
// sorts before its days ("2026-09-01"), so a range of days within a
// month holds none.
func (q *sqlb) contactPeriodRows(sel string, from, end time.Time) {
	var months []any
	var ranges, less [][2]string
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(end); m = m.AddDate(0, 1, 0) {
		first, last := m, m.AddDate(0, 1, -1)
		lo := slices.MaxFunc([]time.Time{first, from}, time.Time.Compare)
		hi := slices.MinFunc([]time.Time{last, end}, time.Time.Compare)
		in := int(hi.Sub(lo).Hours()/24) + 1
		if out := last.Day() - in; out >= in {
			ranges = append(ranges, [2]string{day(lo), day(hi)})
			continue
		}
		months = append(months, m.Format("2006-01"))
		if lo.After(first) {
			less = append(less, [2]string{day(first), day(lo.AddDate(0, 0, -1))})
		}
		if hi.Before(last) {
			less = append(less, [2]string{day(hi.AddDate(0, 0, 1)), day(last)})
		}
	}
	rangeOf := func(r [2]string) { q.add(` OR (t.started_day >= ? AND t.started_day <= ?)`, r[0], r[1]) }
	q.add(sel)
	if len(less) == 0 {
		q.add(`t.n`)
	} else {
		q.add(`CASE WHEN 1 = 0`)
		for _, r := range less {
			rangeOf(r)
		}
		q.add(` THEN -t.n ELSE t.n END AS n`)
	}
	q.add(` FROM rm_contact_totals t WHERE (1 = 0`)
	if len(months) > 0 {
		q.add(` OR t.started_day IN (?`+strings.Repeat(`, ?`, len(months)-1)+`)`, months...)
	}
	for _, r := range append(ranges, less...) {
		rangeOf(r)
	}
	q.add(`)`)
}
