package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// Measure 9, freshness (docs/compliance.md): devices not synced for N days,
// changes waiting on tablets, set-aside mutations, and how long signed
// visits took to reach the server.

// FreshnessOptions narrows and parameterises Freshness.
type FreshnessOptions struct {
	// StaleDays: a device whose last sync is more than this many days (of
	// 24 hours) before now, or that never synced, is stale. At least 1.
	StaleDays int
	// OfficerID keeps one user's devices, set-aside mutations and signed
	// visits ("" for all in scope).
	OfficerID string
	// From and To bound the signed visits by the UTC day of signed_at
	// (both included; "" for no bound).
	From, To schema.Date
}

// DeviceFreshness is one device's row.
type DeviceFreshness struct {
	DeviceID   string `json:"device_id"`
	Name       string `json:"name"`
	UserID     string `json:"user_id"`
	UserName   string `json:"user_name"`
	TeamID     string `json:"team_id"`
	AppVersion string `json:"app_version,omitempty"`
	Revoked    bool   `json:"revoked"`
	LastSyncAt string `json:"last_sync_at"`
	// DaysSinceSync is whole days since the last sync (null: never synced).
	DaysSinceSync *int `json:"days_since_sync"`
	// Stale: not revoked, and never synced or last synced more than
	// StaleDays ago.
	Stale bool `json:"stale"`
	// OutboxPending is what the device last said waits in its outbox (null:
	// it never said; an older app), at OutboxReportedAt.
	OutboxPending    *int   `json:"outbox_pending"`
	OutboxReportedAt string `json:"outbox_reported_at,omitempty"`
	// SetAsideOpen counts the mutations from this device that were set
	// aside and not yet decided; SetAsideTotal all it ever had set aside.
	SetAsideOpen  int `json:"set_aside_open"`
	SetAsideTotal int `json:"set_aside_total"`
}

// IDList is a count with the ids behind it.
type IDList struct {
	N   int      `json:"n"`
	IDs []string `json:"ids"`
}

func (l *IDList) add(id string) { l.N++; l.IDs = append(l.IDs, id) }

// LatencyStats summarises seconds from signing to arrival. Min, median,
// p90 and max are null when there is no visit. The median of an even
// count is the mean of the middle two; p90 is the nearest rank
// (the ceil(0.9 n)-th smallest). MinVisit, P90Visit and MaxVisit name the
// visit at that rank.
type LatencyStats struct {
	N             int      `json:"n"`
	MinSeconds    *float64 `json:"min_seconds"`
	MedianSeconds *float64 `json:"median_seconds"`
	P90Seconds    *float64 `json:"p90_seconds"`
	MaxSeconds    *float64 `json:"max_seconds"`
	MinVisit      string   `json:"min_visit,omitempty"`
	P90Visit      string   `json:"p90_visit,omitempty"`
	MaxVisit      string   `json:"max_visit,omitempty"`
	VisitIDs      []string `json:"visit_ids"`
}

// FreshnessGroup is the figures of the total, a team or an officer.
type FreshnessGroup struct {
	Devices      IDList `json:"devices"`       // active (not revoked) devices
	StaleDevices IDList `json:"stale_devices"` // of which stale
	// OutboxPending sums what the reporting devices said waits on them;
	// NotReporting lists the active devices that never said (older apps).
	OutboxPending int          `json:"outbox_pending"`
	NotReporting  IDList       `json:"not_reporting"`
	SetAsideOpen  IDList       `json:"set_aside_open"` // mutation ids
	SetAsideTotal int          `json:"set_aside_total"`
	Latency       LatencyStats `json:"signed_to_server"`
}

// VisitLatency is one signed visit: when it was signed on the device and
// when its signed state first reached the server. It counts for its case's
// team and officer now (TeamID, OfficerID), as every measure allocates a
// case, so that every scope gives a team the same figure; SignedBy may be
// another officer (of another team, when the case was reassigned).
type VisitLatency struct {
	VisitID   string `json:"visit_id"`
	CaseID    string `json:"case_id"`
	SignedBy  string `json:"signed_by"`
	OfficerID string `json:"officer_id"`
	TeamID    string `json:"team_id"`
	DeviceID  string `json:"device_id,omitempty"`
	SignedAt  string `json:"signed_at"`
	ArrivedAt string `json:"arrived_at"`
	// ArrivedFrom says where ArrivedAt comes from: "sign" (the audit event
	// of the push that signed it) or "received_at" (no such event, as for a
	// seeded record: the record's first arrival).
	ArrivedFrom string  `json:"arrived_from"`
	Seconds     float64 `json:"seconds"`
}

// Freshness is measure 9.
type Freshness struct {
	Now       string                    `json:"now"`
	StaleDays int                       `json:"stale_days"`
	From      schema.Date               `json:"from,omitempty"`
	To        schema.Date               `json:"to,omitempty"`
	Total     FreshnessGroup            `json:"total"`
	Teams     map[string]FreshnessGroup `json:"teams"`
	Officers  map[string]FreshnessGroup `json:"officers"`
	Devices   []DeviceFreshness         `json:"devices"`
	// Visits are the signed visits behind the latency figures, slowest
	// first.
	Visits []VisitLatency `json:"visits"`
}

// CaseIDs returns the cases whose records the answer shows (the signed
// visits'), for the audit event.
func (f Freshness) CaseIDs() []string {
	ids := make([]string, 0, len(f.Visits))
	for _, v := range f.Visits {
		ids = append(ids, v.CaseID)
	}
	out := uniq(ids)
	if out == nil {
		out = []string{}
	}
	return out
}

// Freshness computes measure 9 over the actor's scope: a supervisor's team
// (its users' devices and set-aside mutations, its cases' signed visits),
// everything for an admin or auditor. Officers are refused. It does not
// audit; the caller records the view with f.CaseIDs().
func (db *DB) Freshness(ctx context.Context, actor Actor, opts FreshnessOptions) (Freshness, error) {
	if err := requireQueueReader(actor); err != nil {
		return Freshness{}, schema.Errorf(schema.ECodeForbidden, "", "only a supervisor, an admin or an auditor may see the compliance measures")
	}
	if opts.StaleDays < 1 {
		return Freshness{}, schema.Errorf(schema.ECodeInvalid, "stale_days", "stale_days must be at least 1, not %d", opts.StaleDays)
	}
	if err := db.FlushDevices(ctx); err != nil {
		return Freshness{}, err
	}
	now := db.now().UTC()
	f := Freshness{Now: fmtTime(now), StaleDays: opts.StaleDays, From: opts.From, To: opts.To,
		Teams: map[string]FreshnessGroup{}, Officers: map[string]FreshnessGroup{}, Devices: []DeviceFreshness{}, Visits: []VisitLatency{}}
	// each applies fn to the figures a row adds to: total, team, officer.
	teams, perUser := map[string]*FreshnessGroup{}, map[string]*FreshnessGroup{}
	each := func(team, user string, fn func(g *FreshnessGroup)) {
		fn(&f.Total)
		if teams[team] == nil {
			teams[team] = &FreshnessGroup{}
		}
		fn(teams[team])
		if perUser[user] == nil {
			perUser[user] = &FreshnessGroup{}
		}
		fn(perUser[user])
	}
	err := db.view(ctx, func(tx *sql.Tx) error {
		userTeam := map[string]string{}
		names := map[string]string{}
		officers := map[string]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT id, name, coalesce(team_id, ''), role FROM users`)
		if err != nil {
			return fmt.Errorf("read users: %w", err)
		}
		for rows.Next() {
			var id, name, team, role string
			if err := rows.Scan(&id, &name, &team, &role); err != nil {
				rows.Close()
				return fmt.Errorf("read users: %w", err)
			}
			userTeam[id], names[id], officers[id] = team, name, role == string(schema.RoleOfficer)
		}
		rows.Close()
		inScope := func(user string) bool {
			if opts.OfficerID != "" && user != opts.OfficerID {
				return false
			}
			return actor.Role != schema.RoleSupervisor || userTeam[user] == actor.TeamID
		}

		// Set-aside mutations per device and user.
		type counts struct{ open, total int }
		perDevice := map[string]*counts{}
		cond, args := setAsideScope(actor, policy.ReviewRules{})
		rows, err = tx.QueryContext(ctx, `SELECT m.mutation_id, m.device_id, m.user_id, coalesce(s.decision, '') FROM mutations m
			LEFT JOIN set_aside s ON s.mutation_id = m.mutation_id WHERE m.status = 'rejected' AND `+cond+` ORDER BY m.received_at, m.mutation_id`, args...)
		if err != nil {
			return fmt.Errorf("read set-aside mutations: %w", err)
		}
		for rows.Next() {
			var id, dev, user, decision string
			if err := rows.Scan(&id, &dev, &user, &decision); err != nil {
				rows.Close()
				return fmt.Errorf("read set-aside mutations: %w", err)
			}
			if !inScope(user) {
				continue
			}
			c := perDevice[dev]
			if c == nil {
				c = &counts{}
				perDevice[dev] = c
			}
			c.total++
			open := decision == ""
			if open {
				c.open++
			}
			each(userTeam[user], user, func(g *FreshnessGroup) {
				g.SetAsideTotal++
				if open {
					g.SetAsideOpen.add(id)
				}
			})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		// Devices.
		rows, err = tx.QueryContext(ctx, `SELECT id, user_id, name, app_version, last_sync_at, revoked_at, outbox_pending, outbox_reported_at, protocol
			FROM devices ORDER BY user_id, id`)
		if err != nil {
			return fmt.Errorf("read devices: %w", err)
		}
		stale := now.Add(-time.Duration(opts.StaleDays) * 24 * time.Hour)
		for rows.Next() {
			var d DeviceFreshness
			var revoked string
			var pending, protocol int
			if err := rows.Scan(&d.DeviceID, &d.UserID, &d.Name, &d.AppVersion, &d.LastSyncAt, &revoked, &pending, &d.OutboxReportedAt, &protocol); err != nil {
				rows.Close()
				return fmt.Errorf("read devices: %w", err)
			}
			if !inScope(d.UserID) {
				continue
			}
			// A supervisor's, admin's or auditor's device that never made a
			// sync request is a browser sign-in, not a tablet.
			if protocol == 0 && d.LastSyncAt == "" && !officers[d.UserID] {
				continue
			}
			d.UserName, d.TeamID, d.Revoked = names[d.UserID], userTeam[d.UserID], revoked != ""
			if d.LastSyncAt != "" {
				days := int(now.Sub(parseTime(d.LastSyncAt)) / (24 * time.Hour))
				d.DaysSinceSync = &days
			}
			d.Stale = !d.Revoked && (d.LastSyncAt == "" || parseTime(d.LastSyncAt).Before(stale))
			if pending >= 0 {
				p := pending
				d.OutboxPending = &p
			}
			if c := perDevice[d.DeviceID]; c != nil {
				d.SetAsideOpen, d.SetAsideTotal = c.open, c.total
			}
			f.Devices = append(f.Devices, d)
			if d.Revoked {
				continue
			}
			each(d.TeamID, d.UserID, func(g *FreshnessGroup) {
				g.Devices.add(d.DeviceID)
				if d.Stale {
					g.StaleDevices.add(d.DeviceID)
				}
				if d.OutboxPending != nil {
					g.OutboxPending += *d.OutboxPending
				} else {
					g.NotReporting.add(d.DeviceID)
				}
			})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		// Signed visits: signed_at on the device, and the first arrival of
		// the signed state (the audit event of the push that signed it).
		// Only the period's are read (records_signed_visit_day, one day
		// wider each side for signed_at's offset; the parsed instant
		// decides below), then their sign events by id (audit_visit_sign).
		visits, err := signedVisitRows(ctx, tx, db.eng, actor, opts.From, opts.To)
		if err != nil {
			return err
		}
		ids := make([]string, len(visits))
		for i, r := range visits {
			ids[i] = r.id
		}
		arrivals := map[string][2]string{} // visit id -> at, device
		rows, err = tx.QueryContext(ctx, `SELECT record_id, at, device_id FROM audit
			WHERE record_id IN (`+db.eng.idsIn()+`) AND entity = 'visit' AND action IN ('sign', 'create_signed') ORDER BY id`, jsonIDList(ids))
		if err != nil {
			return fmt.Errorf("read sign events: %w", err)
		}
		for rows.Next() {
			var id, at, dev string
			if err := rows.Scan(&id, &at, &dev); err != nil {
				rows.Close()
				return fmt.Errorf("read sign events: %w", err)
			}
			if _, ok := arrivals[id]; !ok {
				arrivals[id] = [2]string{at, dev}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range visits {
			signed, err := r.signedAt.Time()
			if err != nil {
				continue // unreadable signed_at: no latency to give
			}
			if opts.OfficerID != "" && r.officerID != opts.OfficerID {
				continue
			}
			day := schema.DateOf(signed)
			if (opts.From != "" && day < opts.From) || (opts.To != "" && day > opts.To) {
				continue
			}
			vl := VisitLatency{VisitID: r.id, CaseID: r.caseID, SignedBy: r.signedBy, OfficerID: r.officerID, TeamID: r.teamID,
				SignedAt: fmtTime(signed), ArrivedAt: r.receivedAt, ArrivedFrom: "received_at"}
			if a, ok := arrivals[r.id]; ok {
				vl.ArrivedAt, vl.DeviceID, vl.ArrivedFrom = a[0], a[1], "sign"
			}
			vl.Seconds = parseTime(vl.ArrivedAt).Sub(signed).Seconds()
			f.Visits = append(f.Visits, vl)
		}
		return nil
	})
	if err != nil {
		return f, err
	}
	sortSlowestFirst(f.Visits)
	all, byTeam, byUser := latencyGroups(f.Visits)
	for id := range byTeam {
		if teams[id] == nil {
			teams[id] = &FreshnessGroup{}
		}
	}
	for id := range byUser {
		if perUser[id] == nil {
			perUser[id] = &FreshnessGroup{}
		}
	}
	f.Total.Latency = latencyStats(all)
	for id, g := range teams {
		g.Latency = latencyStats(byTeam[id])
		f.Teams[id] = finishGroup(*g)
	}
	for id, g := range perUser {
		g.Latency = latencyStats(byUser[id])
		f.Officers[id] = finishGroup(*g)
	}
	f.Total = finishGroup(f.Total)
	return f, nil
}

// finishGroup makes empty id lists [] rather than null.
func finishGroup(g FreshnessGroup) FreshnessGroup {
	for _, l := range []*IDList{&g.Devices, &g.StaleDevices, &g.NotReporting, &g.SetAsideOpen} {
		if l.IDs == nil {
			l.IDs = []string{}
		}
	}
	if g.Latency.VisitIDs == nil {
		g.Latency.VisitIDs = []string{}
	}
	return g
}

// sortSlowestFirst sorts vs slowest first, then by id: a total order (a
// visit's id is unique), so an unstable sort gives what a stable one would.
func sortSlowestFirst(vs []VisitLatency) {
	slices.SortFunc(vs, func(a, b VisitLatency) int {
		return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(a.VisitID, b.VisitID))
	})
}

// ascending is vs, slowest first then by id (Freshness.Visits' order), in
// latencyStats' order: fastest first, then by id. It reverses the list
// and then each run of equal seconds (whose ids it reversed), in place,
// rather than sorting again.
func ascending(out []VisitLatency) []VisitLatency {
	slices.Reverse(out)
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].Seconds == out[i].Seconds {
			j++
		}
		slices.Reverse(out[i:j])
		i = j
	}
	return out
}

// latencyGroups returns vs (slowest first, then by id: Freshness.Visits'
// order) in latencyStats' order, fastest first then by id, and so each
// team's and each officer's visits. The whole list is turned once
// (ascending, on a copy), and each group's visits are picked from it in
// its order into a slice made to their count. Appended one by one to lists
// in vs' order, each turned after, a team's 3,400 visits of a 90-day
// period (about 200 bytes each) were copied again and again into three
// growing lists, under keys made for each visit (decision 0103).
func latencyGroups(vs []VisitLatency) (all []VisitLatency, byTeam, byUser map[string][]VisitLatency) {
	all = ascending(slices.Clone(vs))
	nTeam, nUser := map[string]int{}, map[string]int{}
	for _, v := range all {
		nTeam[v.TeamID]++
		nUser[v.OfficerID]++
	}
	byTeam, byUser = make(map[string][]VisitLatency, len(nTeam)), make(map[string][]VisitLatency, len(nUser))
	for _, v := range all {
		if byTeam[v.TeamID] == nil {
			byTeam[v.TeamID] = make([]VisitLatency, 0, nTeam[v.TeamID])
		}
		byTeam[v.TeamID] = append(byTeam[v.TeamID], v)
		if byUser[v.OfficerID] == nil {
			byUser[v.OfficerID] = make([]VisitLatency, 0, nUser[v.OfficerID])
		}
		byUser[v.OfficerID] = append(byUser[v.OfficerID], v)
	}
	return all, byTeam, byUser
}

// latencyStats computes the figures of sorted, fastest first then by id.
func latencyStats(sorted []VisitLatency) LatencyStats {
	s := LatencyStats{N: len(sorted), VisitIDs: make([]string, 0, len(sorted))}
	if len(sorted) == 0 {
		return s
	}
	for _, v := range sorted {
		s.VisitIDs = append(s.VisitIDs, v.VisitID)
	}
	n := len(sorted)
	f := func(x float64) *float64 { return &x }
	s.MinSeconds, s.MinVisit = f(sorted[0].Seconds), sorted[0].VisitID
	s.MaxSeconds, s.MaxVisit = f(sorted[n-1].Seconds), sorted[n-1].VisitID
	if n%2 == 1 {
		s.MedianSeconds = f(sorted[n/2].Seconds)
	} else {
		s.MedianSeconds = f((sorted[n/2-1].Seconds + sorted[n/2].Seconds) / 2)
	}
	rank := (9*n+9)/10 - 1 // ceil(0.9 n), in integers
	s.P90Seconds, s.P90Visit = f(sorted[rank].Seconds), sorted[rank].VisitID
	return s
}

// signedVisitQuery is signedVisitRows' statement and its arguments.
func signedVisitQuery(eng engine, actor Actor, from, to schema.Date) (string, []any, error) {
	return signedVisitStatement(eng, actor, from, to, eng.name() == "postgres")
}

// signedVisitStatement is signedVisitQuery's statement, with castOnce
// (PostgreSQL only) the fields made a jsonb once a visit (decision 0108);
// without, each field read with jsonText, as before it.
func signedVisitStatement(eng engine, actor Actor, from, to schema.Date, castOnce bool) (string, []any, error) {
	// A scope of cases (a supervisor's team, an officer's caseload) is
	// read by case and day (records_signed_visit_case, migration 0017:
	// the scope's cases' visits of the period, not every team's);
	// the whole service by the day alone (records_signed_visit_day).
	cond, args, err := scopeFilter(actor, "records.case_id")
	if err != nil {
		return "", nil, err
	}
	day := `substr(` + eng.jsonText("fields", "signed_at") + `, 1, 10)`
	// signed_at and signed_by as given: SQLite parses a row's fields once
	// for its json_extracts (its cache of parsed JSON). PostgreSQL made a
	// jsonb of the fields for each of the two, the statement's largest
	// cost (about half of it at 25,000 cases): there the fields are made a
	// jsonb once a visit (the subquery, kept apart by OFFSET 0 so the
	// planner does not copy its cast into both) and both are read from it
	// (decision 0108). The index's day expression is left as it is.
	tables, signedAt, signedBy := "records", eng.jsonText("fields", "signed_at"), eng.jsonText("fields", "signed_by")
	if castOnce {
		tables = `records CROSS JOIN LATERAL (SELECT records.fields::jsonb AS v OFFSET 0) j`
		signedAt, signedBy = `(j.v ->> 'signed_at')`, `(j.v ->> 'signed_by')`
	}
	// The case's team and officer now (case_scope, at most one row a case:
	// its key), whom the visit counts for: one search a visit, where two
	// subqueries searched it twice (decision 0095).
	q := `SELECT records.id, records.case_id, records.received_at, coalesce(` + signedAt + `, ''), coalesce(` + signedBy + `, ''),
		coalesce(s.officer_id, ''), coalesce(s.team_id, '')
		FROM ` + tables + ` LEFT JOIN case_scope s ON s.case_id = records.case_id
		WHERE records.entity = 'visit' AND records.signed = 1 AND ` + cond
	if from != "" {
		q += ` AND ` + day + ` >= ?`
		args = append(args, string(shiftDate(from, -1)))
	}
	if to != "" {
		q += ` AND ` + day + ` <= ?`
		args = append(args, string(shiftDate(to, 1)))
	}
	return q + ` ORDER BY records.seq`, args, nil
}

// signedVisitRows reads the signed visits in the actor's scope whose
// signed_at, as written, falls from the day before from to the day after
// to ("" for no bound): a superset of those signed in the period by the UTC
// day (an RFC 3339 offset is under a day), which the caller keeps. The day
// expression is records_signed_visit_day's and records_signed_visit_case's,
// so the indexes serve it.
func signedVisitRows(ctx context.Context, tx *sql.Tx, eng engine, actor Actor, from, to schema.Date) ([]freshVisit, error) {
	q, args, err := signedVisitQuery(eng, actor, from, to)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read visit: %w", err)
	}
	defer rows.Close()
	var out []freshVisit
	for rows.Next() {
		var v freshVisit
		var at, by any
		if err := rows.Scan(&v.id, &v.caseID, &v.receivedAt, &at, &by, &v.officerID, &v.teamID); err != nil {
			return nil, fmt.Errorf("read visit: %w", err)
		}
		// Only strings count, as decoding the fields would have it.
		if a, ok := at.(string); ok {
			v.signedAt = schema.Timestamp(a)
		}
		if b, ok := by.(string); ok {
			v.signedBy = b
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// freshVisit is what Freshness reads of a signed visit record.
type freshVisit struct {
	id, caseID, receivedAt string
	signedAt               schema.Timestamp
	signedBy               string
	officerID, teamID      string // the case's now
}

// shiftDate is d moved by days; a date that does not parse is kept (the
// bound then only narrows by the text, as before).
func shiftDate(d schema.Date, days int) schema.Date {
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return d
	}
	return schema.DateOf(t.AddDate(0, 0, days))
}
