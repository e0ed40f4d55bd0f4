package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"doorstep/schema"
)

// Measure 3, how contact happened, over the read model
// (docs/compliance.md, "Measure 3" and "The read model"): each figure is
// a set of visits, the signed contacts of the period up to as_of, dated by
// started_day, with the channel and place the write derived with
// schema.ContactChannel. The day-dependent parts (the period, as_of, the
// domestic-abuse flag live on the contact's day) are the query's.

// MeasureContacts is measure 3, by the name its report carries.
const MeasureContacts = "contacts"

// contactChannelFigures are the figures of a ChannelFigures, by their JSON
// names under "channels" and "attempt_channels".
var contactChannelFigures = []string{"face_to_face", schema.ChannelHome, schema.ChannelDoorstep, schema.ChannelElsewhere,
	"elsewhere_by_place." + schema.PlaceCafe, "elsewhere_by_place." + schema.PlaceLibrary, "elsewhere_by_place." + schema.PlaceOffice,
	"elsewhere_by_place." + schema.PlaceCommunityVenue, "elsewhere_by_place." + schema.PlaceOther,
	schema.ChannelPhone, schema.ChannelVideo, schema.ChannelOtherNotFace}

// contactAttemptOutcomes are the outcomes of an attempt measure 3 names;
// any other outcome (or none) is "other".
var contactAttemptOutcomes = []string{"no_answer", "refused_entry", "not_present", "abandoned_safety", "not_undertaken"}

// contactShareFigures are the parts of the two shares, by JSON path.
var contactShareFigures = []string{"home_share.numerator", "home_share.denominator", "face_to_face_share.numerator",
	"face_to_face_share.denominator"}

// contactFigureNames are measure 3's figures, each named by its JSON path
// in the report's figures ("channels.face_to_face_home",
// "domestic_abuse.home_share.numerator").
func contactFigureNames() []string {
	out := []string{"contacts", "completed", "attempts"}
	for _, c := range contactChannelFigures {
		out = append(out, "channels."+c)
	}
	for _, o := range contactAttemptOutcomes {
		out = append(out, "attempt_outcomes."+o)
	}
	out = append(out, "attempt_outcomes.other")
	for _, c := range contactChannelFigures {
		out = append(out, "attempt_channels."+c)
	}
	out = append(out, contactShareFigures...)
	for _, n := range append([]string{"contacts", "completed", "attempts"}, contactShareFigures...) {
		out = append(out, "domestic_abuse."+n)
	}
	return out
}

// contactVisits adds the FROM and WHERE of measure 3's contacts: visit v
// of case c, signed, started on a day of the period up to as_of.
func (q *sqlb) contactVisits(f FigureQuery) {
	q.add(` FROM rm_visits v JOIN rm_cases c ON c.case_id = v.case_id`)
	q.contactDays(f)
}

// contactSigned is the condition on v, a row of rm_visits, that it is a
// contact measure 3 counts: signed, with a day it started.
const contactSigned = `v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> ''`

// contactDays adds the WHERE clause of the contacts (contactSigned) of
// f's period up to its as_of.
func (q *sqlb) contactDays(f FigureQuery) {
	q.add(` WHERE `+contactSigned+` AND v.started_day >= ? AND v.started_day <= ? AND v.started_day <= ?`,
		string(f.From), string(f.To), string(f.AsOf))
}

// periodDates checks f's period.
func periodDates(f FigureQuery) error {
	if _, ok := dayNumber(f.From); !ok {
		return schema.Errorf(schema.ECodeInvalid, "from", "from must be a date (YYYY-MM-DD)")
	}
	if _, ok := dayNumber(f.To); !ok {
		return schema.Errorf(schema.ECodeInvalid, "to", "to must be a date (YYYY-MM-DD)")
	}
	return nil
}

// contactSet: measure 3's figures are sets of its contacts, one row
// each: case_id, team_id, officer_id, outcome, channel, place, and da (1
// when the case had a domestic-abuse flag live on the contact's day,
// worked out when the read model was written: rm_visits.da, decision 0061);
// and, asked for (sqlb.numbered), the numbers team_no and officer_no.
var contactSet = figureSet{
	name:     "contacts",
	listed:   true,
	numbered: true,
	cols:     []string{"outcome", "channel", "place", "da"},
	base:     func(q *sqlb, actor Actor, f FigureQuery, _ []string) error { return contactRows(q, actor, f, nil) },
	byWeek:   contactRows,
	cond:     contactCond,
	summed:   contactTotalRows,
	sumsFor:  seesTheWholeService,
	cases:    contactCases,
}

// contactCases adds the query of the distinct cases of contactSet's rows
// (case_id), with each case its team's and officer's numbers (team_no,
// officer_no), which ContactsElsewhere then reads from the list rather
// than joining every contact elsewhere to rm_cases again (casesNumbered,
// decision 0111). The cases are read from rm_cases by their first and
// last contact days (migration 0028): a case whose first or last contact
// is in the period has a contact in it, one whose contacts all lie on one
// side of it has none, and only a case with contacts before and after it
// is asked for one in it (EXISTS). Found distinct from the period's
// contacts, the list was the largest part of measure 3's report: at
// 100,000 cases 537,000 contacts hashed to 99,000 cases (decisions 0113,
// 0118, 0129).
func contactCases(q *sqlb, actor Actor, f FigureQuery) error {
	if err := periodDates(f); err != nil {
		return err
	}
	from, end := string(f.From), string(min(f.To, f.AsOf))
	q.add(`SELECT c.case_id, c.team_no, c.officer_no FROM rm_cases c
		WHERE c.first_contact_day <= ? AND c.last_contact_day >= ? AND (c.first_contact_day >= ? OR c.last_contact_day <= ?
		OR EXISTS (SELECT 1 FROM rm_visits v`, end, from, from, end)
	q.contactDays(f)
	q.add(` AND v.case_id = c.case_id))`)
	return q.scoped(actor, "c", f)
}

// contactTotalRows adds the query of contactSet's rows counted as they
// were written (rm_contact_totals, decision 0097): team_no, officer_no,
// outcome, channel, place, da and n, the contacts of the group, summed
// where contactRows' rows are counted. Only for a scope of the whole
// service (an admin's or an auditor's, with or without a team or an
// officer, which are the numbers' rows): a supervisor's or an officer's
// scope is the cases of case_scope, which the totals do not keep apart,
// so it reads contactRows.
func contactTotalRows(q *sqlb, actor Actor, f FigureQuery) error {
	if err := periodDates(f); err != nil {
		return err
	}
	from, _ := time.Parse(time.DateOnly, string(f.From))
	end, _ := time.Parse(time.DateOnly, string(min(f.To, f.AsOf)))
	q.contactPeriodRows(`SELECT t.team_no, t.officer_no, t.outcome, t.channel, t.place, t.da, `, from, end)
	if f.OfficerID != "" {
		q.add(` AND t.officer_no = (SELECT i.no FROM rm_ids i WHERE i.id = ?)`, f.OfficerID)
	}
	if f.TeamID != "" {
		q.add(` AND t.team_no = (SELECT i.no FROM rm_ids i WHERE i.id = ?)`, f.TeamID)
	}
	return nil
}

// seesTheWholeService says whether actor's scope is every case (an admin
// or an auditor): the scopes contactTotalRows answers for.
func seesTheWholeService(actor Actor) bool {
	return actor.Role == schema.RoleAdmin || actor.Role == schema.RoleAuditor
}

// contactRows adds the query of contactSet's rows, each with its week
// of weeks when set (figureSet.byWeek).
func contactRows(q *sqlb, actor Actor, f FigureQuery, weeks []Week) error {
	if err := periodDates(f); err != nil {
		return err
	}
	q.add(`SELECT v.case_id, c.team_id, c.officer_id, v.outcome, v.channel, v.place, v.da`)
	if q.numbered {
		q.add(`, c.team_no, c.officer_no`)
	}
	q.weekOf("v.started_day", weeks)
	q.contactVisits(f)
	return q.scoped(actor, "c", f)
}

// contactCond adds the condition on b, a row of contactSet, of figure name.
func contactCond(q *sqlb, name string) error {
	if rest, ok := strings.CutPrefix(name, "domestic_abuse."); ok {
		q.add(`b.da = 1 AND `)
		name = rest
	}
	completed, attempt := `b.outcome = 'completed'`, `b.outcome <> 'completed'`
	switch {
	case name == "contacts":
		q.add(`1 = 1`)
	case name == "completed", name == "home_share.denominator", name == "face_to_face_share.denominator":
		q.add(completed)
	case name == "attempts":
		q.add(attempt)
	case name == "home_share.numerator":
		q.add(completed)
		q.channel(schema.ChannelHome)
	case name == "face_to_face_share.numerator":
		q.add(completed)
		q.channel("face_to_face")
	case strings.HasPrefix(name, "channels."):
		q.add(completed)
		q.channel(strings.TrimPrefix(name, "channels."))
	case strings.HasPrefix(name, "attempt_channels."):
		q.add(attempt)
		q.channel(strings.TrimPrefix(name, "attempt_channels."))
	case name == "attempt_outcomes.other":
		q.add(attempt + ` AND b.outcome NOT IN ('` + strings.Join(contactAttemptOutcomes, "', '") + `')`)
	case strings.HasPrefix(name, "attempt_outcomes."):
		q.add(attempt+` AND b.outcome = ?`, strings.TrimPrefix(name, "attempt_outcomes."))
	default:
		return fmt.Errorf("measure %s: figure %q has no query", MeasureContacts, name)
	}
	return nil
}

// channel adds the condition that contact b was of channel (one of
// contactChannelFigures).
func (q *sqlb) channel(channel string) {
	switch {
	case channel == "face_to_face":
		q.add(` AND b.channel IN (?, ?, ?)`, schema.ChannelHome, schema.ChannelDoorstep, schema.ChannelElsewhere)
	case strings.HasPrefix(channel, "elsewhere_by_place."):
		q.add(` AND b.channel = ? AND b.place = ?`, schema.ChannelElsewhere, strings.TrimPrefix(channel, "elsewhere_by_place."))
	default:
		q.add(` AND b.channel = ?`, channel)
	}
}

// ElsewhereContact is one face-to-face contact of measure 3 away from the
// home, completed or not, with the place and the reason recorded.
type ElsewhereContact struct {
	VisitID, CaseID, TeamID, OfficerID string
	Place, Reason                      string
}

// ContactsElsewhere lists measure 3's contacts of f's period away from
// the home in the actor's scope (f's Figure is not read), in visit id
// order.
func (f Figures) ContactsElsewhere(ctx context.Context, actor Actor, fq FigureQuery) ([]ElsewhereContact, error) {
	if err := periodDates(fq); err != nil {
		return nil, err
	}
	if _, ok := dayNumber(fq.AsOf); !ok {
		return nil, schema.Errorf(schema.ECodeInvalid, "as_of", "as_of must be a date (YYYY-MM-DD)")
	}
	ids, err := f.idsByNo(ctx)
	if err != nil {
		return nil, err
	}
	byCase := f.casesNumbered(actor, fq)
	var out []ElsewhereContact
	if f.pg {
		out, err = f.elsewhereText(ctx, actor, fq, ids, byCase)
	} else {
		var q *sqlb
		if q, err = contactsElsewhere(actor, fq, false, byCase != nil, false); err == nil {
			out, err = elsewhereRows(ctx, f.q, q, ids)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("contacts elsewhere: %w", err)
	}
	// Sorted here, not by the store (decision 0071): the ids are the
	// table's key, so the order is whole, and byte order is the "C"
	// collation's and SQLite's.
	return byVisitID(out), nil
}

// numberedKey is the key of the numbered list of key's cases
// (contactCases', kept by CountsListing) on the snapshot.
func numberedKey(key setKey) setKey {
	key.set += " numbered"
	return key
}

// casesNumbered is each case of measure 3's case list of fq's period,
// kept on the snapshot by CountsListing for a scope of the whole service
// without a team or an officer, with its team's and officer's numbers;
// nil when none is kept. Those cases are every case of a contact of the
// period in rm_cases, so a contact elsewhere's case is among them or it
// is of no case the join to rm_cases would find.
func (f Figures) casesNumbered(actor Actor, fq FigureQuery) *listedNumbers {
	if !f.pg || f.setCases == nil || !seesTheWholeService(actor) || fq.TeamID != "" || fq.OfficerID != "" {
		return nil
	}
	key := setKey{actor: actor, q: fq, set: contactSet.name}
	key.q.Figure = ""
	list, ok := f.setCases[numberedKey(key)]
	if !ok {
		return nil
	}
	return numberCases(list)
}

// listedNumbers are the team's and officer's numbers of listed cases, by
// case. When every case id is as NewID writes it they are kept by the
// id's key (uuidKey: two integers in the map's slots, where a string key
// was a hash of its 36 bytes and a comparison through its pointer for
// each of 240,000 contacts elsewhere at 100,000 cases, decision 0113);
// else by the id.
type listedNumbers struct {
	byKey map[[2]uint64][2]int64
	byID  map[string][2]int64
}

// numberCases reads list, each case as case_id:team_no:officer_no (the
// numbered case list, contactCases'); nil when an entry is not of that
// form (the statement then joins rm_cases again).
func numberCases(list []string) *listedNumbers {
	keys := make([][2]uint64, len(list))
	nos := make([][2]int64, len(list))
	byKey := true
	for i, s := range list {
		id, rest, _ := strings.Cut(s, ":")
		team, officer, _ := strings.Cut(rest, ":")
		t, err1 := strconv.ParseInt(team, 10, 64)
		o, err2 := strconv.ParseInt(officer, 10, 64)
		if err1 != nil || err2 != nil {
			return nil // not as written: the statement joins again
		}
		nos[i] = [2]int64{t, o}
		if byKey {
			hi, lo, ok := uuidKey(id)
			keys[i], byKey = [2]uint64{hi, lo}, ok
		}
	}
	out := &listedNumbers{}
	if byKey {
		out.byKey = make(map[[2]uint64][2]int64, len(list))
		for i, k := range keys {
			out.byKey[k] = nos[i]
		}
		return out
	}
	out.byID = make(map[string][2]int64, len(list))
	for i, s := range list {
		id, _, _ := strings.Cut(s, ":")
		out.byID[id] = nos[i]
	}
	return out
}

// of is the numbers of case id; false when it is not listed.
func (c *listedNumbers) of(id string) ([2]int64, bool) {
	if c.byID != nil {
		nos, ok := c.byID[id]
		return nos, ok
	}
	hi, lo, ok := uuidKey(id)
	if !ok {
		return [2]int64{}, false // every listed id is a key's
	}
	nos, ok := c.byKey[[2]uint64{hi, lo}]
	return nos, ok
}

// byVisitID is out sorted by visit id, in place: the order is found on
// the ids' keys (idOrder) and each row moved once, along the cycles of
// the order (the rows are six strings each: sorting them in place moved
// them about twenty times each, behind the garbage collector's write
// barriers, decision 0102; a sorted copy was another array of them,
// decision 0105).
func byVisitID(out []ElsewhereContact) []ElsewhereContact {
	order, sorted := idOrder(len(out), func(i int) string { return out[i].VisitID })
	if sorted {
		return out
	}
	inOrder(out, order)
	return out
}

// inOrder puts xs in order: place k takes xs[order[k]], order being a
// permutation of xs's places. Each cycle of the permutation is followed
// once, so each element moves once; order is spent (each place done is
// marked -1).
func inOrder[T any](xs []T, order []int32) {
	for i := range xs {
		if order[i] < 0 {
			continue
		}
		held := xs[i]
		j := i
		for {
			k := int(order[j])
			order[j] = -1
			if k == i {
				xs[j] = held
				break
			}
			xs[j] = xs[k]
			j = k
		}
	}
}

// sortIDs is ids sorted in byte order (the "C" collation's and
// SQLite's), as slices.Sort sorts them, by their keys (idOrder), in
// place.
func sortIDs(ids []string) []string {
	if order, sorted := idOrder(len(ids), func(i int) string { return ids[i] }); !sorted {
		inOrder(ids, order)
	}
	return ids
}

// idKey is an id as two integers that order as its bytes do (uuidKey),
// and its position.
type idKey struct {
	hi, lo uint64
	i      int32
}

// idOrder is the order of n ids (id(i), the i-th) in byte order: their
// positions sorted; sorted when they already were (order is then nil).
// Ids as NewID writes them are sorted by their keys (uuidKey, radixSort):
// integers in place rather than strings of 36 bytes reached through
// their pointers (240,000 of them in about a third of the time that
// comparing the strings took, decision 0105); if any id is another, all
// are sorted by their bytes. Equal ids keep their order.
func idOrder(n int, id func(int) string) (order []int32, sorted bool) {
	sorted = true
	for i := 1; i < n && sorted; i++ {
		sorted = id(i-1) <= id(i)
	}
	if sorted {
		return nil, true
	}
	keys := make([]idKey, n)
	byKey := true
	for i := range keys {
		hi, lo, ok := uuidKey(id(i))
		if !ok {
			byKey = false
			break
		}
		keys[i] = idKey{hi: hi, lo: lo, i: int32(i)}
	}
	order = make([]int32, n)
	if !byKey {
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortStableFunc(order, func(a, b int32) int { return strings.Compare(id(int(a)), id(int(b))) })
		return order, false
	}
	keys = radixSort(keys)
	for k, x := range keys {
		order[k] = x.i
	}
	return order, false
}

// radixSort is keys sorted by hi, lo and i: by hi 16 bits at a time,
// least significant first, each pass stable (so keys of one hi keep
// their order, i's), then each run of one hi sorted by lo. Four passes
// over the keys rather than a comparison sort's twenty or so compares a
// key through a function (decision 0105); keys sharing a hi are rare
// (NewID's hi is a millisecond and 12 bits more).
func radixSort(keys []idKey) []idKey {
	if len(keys) < 4096 {
		slices.SortFunc(keys, cmpKeys)
		return keys
	}
	buf := make([]idKey, len(keys))
	var count [1 << 16]int
	for shift := 0; shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range keys {
			count[k.hi>>shift&0xffff]++
		}
		at := 0
		for d, n := range count {
			count[d] = at
			at += n
		}
		for _, k := range keys {
			d := k.hi >> shift & 0xffff
			buf[count[d]] = k
			count[d]++
		}
		keys, buf = buf, keys
	}
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].hi == keys[i].hi {
			j++
		}
		if j-i > 1 {
			slices.SortStableFunc(keys[i:j], func(a, b idKey) int { return cmp.Compare(a.lo, b.lo) })
		}
		i = j
	}
	return keys
}

// cmpKeys orders keys by hi, lo and i.
func cmpKeys(a, b idKey) int {
	switch {
	case a.hi != b.hi:
		return cmp.Compare(a.hi, b.hi)
	case a.lo != b.lo:
		return cmp.Compare(a.lo, b.lo)
	}
	return cmp.Compare(a.i, b.i)
}

// uuidKey is id, a UUID as NewID writes it (36 bytes: lower-case hex
// digits, dashes at 8, 13, 18 and 23), as two integers of its 32 digits,
// hi the first 16: two such ids compare as their keys do, for their
// dashes are in the same places and the digits' bytes ('0'–'9' before
// 'a'–'f') are in the order of their values. False for any other id.
func uuidKey(id string) (hi, lo uint64, ok bool) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return 0, 0, false
	}
	var bad byte
	digits := func(s string) uint64 {
		var k uint64
		for i := 0; i < len(s); i++ {
			d := hexDigit[s[i]]
			bad |= d
			k = k<<4 | uint64(d&0xf)
		}
		return k
	}
	hi = digits(id[0:8])<<32 | digits(id[9:13])<<16 | digits(id[14:18])
	lo = digits(id[19:23])<<48 | digits(id[24:36])
	return hi, lo, bad&0xf0 == 0
}

// hexDigit is the value of each lower-case hex digit's byte, 0xff for
// any other byte.
var hexDigit = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	return t
}()

// idsByNo are the ids of the teams and officers by their numbers
// (rm_ids, migration 0020): a few thousand rows.
func (f Figures) idsByNo(ctx context.Context) (map[int64]string, error) {
	rs, err := f.q.QueryContext(ctx, `SELECT no, id FROM rm_ids`)
	if err != nil {
		return nil, fmt.Errorf("team and officer numbers: %w", err)
	}
	defer rs.Close()
	m := map[int64]string{}
	for rs.Next() {
		var no int64
		var id string
		if err := rs.Scan(&no, &id); err != nil {
			return nil, fmt.Errorf("team and officer numbers: %w", err)
		}
		m[no] = id
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("team and officer numbers: %w", err)
	}
	return m, nil
}

// idOf is the id of number no in ids; a number with no id (none is
// written without one) is an error.
func idOf(ids map[int64]string, no int64) (string, error) {
	id, ok := ids[no]
	if !ok {
		return "", fmt.Errorf("no id has the number %d", no)
	}
	return id, nil
}

// elsewhereRows reads ContactsElsewhere's rows (q's, on SQLite) one by
// one.
func elsewhereRows(ctx context.Context, db querier, q *sqlb, ids map[int64]string) ([]ElsewhereContact, error) {
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []ElsewhereContact
	for rs.Next() {
		var e ElsewhereContact
		var team, officer int64
		if err := rs.Scan(&e.VisitID, &e.CaseID, &team, &officer, &e.Place, &e.Reason); err != nil {
			return nil, err
		}
		if e.TeamID, err = idOf(ids, team); err != nil {
			return nil, err
		}
		if e.OfficerID, err = idOf(ids, officer); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rs.Err()
}

// elsewhereText reads ContactsElsewhere's rows on PostgreSQL from the
// one row of contactsElsewhere's statement (fixed: the ids at their
// width, elsewhereRead), or, when an id of them is of another width or a
// place holds a comma, of the statement that writes each field's length
// (decision 0118).
func (f Figures) elsewhereText(ctx context.Context, actor Actor, fq FigureQuery, ids map[int64]string, byCase *listedNumbers) ([]ElsewhereContact, error) {
	for _, fixed := range []bool{true, false} {
		q, err := contactsElsewhere(actor, fq, true, byCase != nil, fixed)
		if err != nil {
			return nil, err
		}
		out, ok, err := elsewhereRead(ctx, f.q, q, fixed, ids, byCase)
		if err != nil || ok {
			return out, err
		}
	}
	return nil, fmt.Errorf("contacts elsewhere: no statement read them")
}

// elsewhereRead reads ContactsElsewhere's rows from q's one row on
// PostgreSQL: every row's fields in one text (contactsElsewhere's
// string_agg), each text field as its length in bytes, a colon and its
// bytes, each number followed by a comma, so that whatever a reason
// holds it is read back whole; fixed, the visit's and the case's ids at
// their 36 bytes (as NewID writes them, as the server takes them:
// schema.ValidID) and the place followed by a comma, without lengths,
// and ok false when the statement found an id of another width or a
// place with a comma (the rows are then to be read with the lengths).
// Writing the lengths of the ids and the place was about a third of
// the statement's time at 100,000 cases (decision 0118). The rows'
// strings are parts of that one text: hundreds of thousands of rows,
// read one by one, cost the process two allocations a column (the
// driver's string and its interface) and database/sql's work a row
// (decision 0102). With byCase the rows carry no numbers: each
// contact's are its case's there, and a contact of no case there is
// left out, as the join to rm_cases leaves it (decision 0111).
func elsewhereRead(ctx context.Context, db querier, q *sqlb, fixed bool, ids map[int64]string, byCase *listedNumbers) ([]ElsewhereContact, bool, error) {
	var text sql.NullString
	var n int
	var ok sql.NullBool
	if err := func() error {
		rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		if !rs.Next() {
			return cmp.Or(rs.Err(), sql.ErrNoRows)
		}
		if err := rs.Scan(&n, &ok, &text); err != nil {
			return err
		}
		return rs.Close()
	}(); err != nil {
		return nil, false, err
	}
	if ok.Valid && !ok.Bool { // NULL: no rows
		return nil, false, nil
	}
	var out []ElsewhereContact // nil for none, as elsewhereRows
	if n > 0 {
		out = make([]ElsewhereContact, 0, n)
	}
	r := aggText{s: text.String}
	for len(r.s) > 0 && r.err == nil {
		var e ElsewhereContact
		if fixed {
			e.VisitID, e.CaseID = r.fixed(idWidth), r.fixed(idWidth)
		} else {
			e.VisitID, e.CaseID = r.text(), r.text()
		}
		var team, officer int64
		if byCase == nil {
			team, officer = r.number(), r.number()
		}
		if fixed {
			e.Place = r.until(',')
		} else {
			e.Place = r.text()
		}
		e.Reason = r.text()
		if r.err != nil {
			break
		}
		if byCase != nil {
			nos, ok := byCase.of(e.CaseID)
			if !ok {
				n--
				continue
			}
			team, officer = nos[0], nos[1]
		}
		var err error
		if e.TeamID, err = idOf(ids, team); err != nil {
			return nil, false, err
		}
		if e.OfficerID, err = idOf(ids, officer); err != nil {
			return nil, false, err
		}
		out = append(out, e)
	}
	if r.err != nil {
		return nil, false, r.err
	}
	if len(out) != n {
		return nil, false, fmt.Errorf("read %d rows of %d", len(out), n)
	}
	return out, true, nil
}

// aggText reads the fields of rows aggregated into one text (see
// elsewhereText); the first malformed field sets err.
type aggText struct {
	s   string
	err error
}

// text reads a text field: its length in bytes, ':', its bytes.
func (r *aggText) text() string {
	i := strings.IndexByte(r.s, ':')
	if i < 0 || r.err != nil {
		r.fail()
		return ""
	}
	n, err := strconv.Atoi(r.s[:i])
	if err != nil || n < 0 || n > len(r.s)-i-1 {
		r.fail()
		return ""
	}
	t := r.s[i+1 : i+1+n]
	r.s = r.s[i+1+n:]
	return t
}

// fixed reads a field of n bytes.
func (r *aggText) fixed(n int) string {
	if n > len(r.s) || r.err != nil {
		r.fail()
		return ""
	}
	t := r.s[:n]
	r.s = r.s[n:]
	return t
}

// until reads a field that holds no sep: its bytes, sep.
func (r *aggText) until(sep byte) string {
	i := strings.IndexByte(r.s, sep)
	if i < 0 || r.err != nil {
		r.fail()
		return ""
	}
	t := r.s[:i]
	r.s = r.s[i+1:]
	return t
}

// number reads a number field: its digits, ','.
func (r *aggText) number() int64 {
	i := strings.IndexByte(r.s, ',')
	if i < 0 || r.err != nil {
		r.fail()
		return 0
	}
	n, err := strconv.ParseInt(r.s[:i], 10, 64)
	if err != nil {
		r.fail()
		return 0
	}
	r.s = r.s[i+1:]
	return n
}

func (r *aggText) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("malformed aggregated rows at %.40q", r.s)
	}
}

// idWidth is the width in bytes of an id as NewID writes it.
const idWidth = 36

// contactsElsewhere is the query of ContactsElsewhere: on SQLite its
// rows (visit_id, case_id, team_no, officer_no, place,
// elsewhere_reason), on PostgreSQL (pg) one row of their count, whether
// they may be read fixed (below), and their fields in one text
// (elsewhereRead): fixed, the ids written at their width and the place
// before a comma, the row's flag whether every id is idWidth bytes and
// no place holds a comma; else every text field with its length (and
// the flag true). Shared (on PostgreSQL, the case list's numbers at
// hand: casesNumbered), the rows are without the numbers, nor the join
// to rm_cases that finds them, nor a scope (the whole service's).
func contactsElsewhere(actor Actor, fq FigureQuery, pg, shared, fixed bool) (*sqlb, error) {
	q := &sqlb{}
	// shared (the case list's numbers at hand) reads the one text on
	// either store, as before decision 0118; the ids at their width
	// (fixed) are PostgreSQL's alone (bool_and, strpos).
	if pg || shared {
		numbers := ` || c.team_no || ',' || c.officer_no || ','`
		if shared {
			numbers = ``
		}
		if fixed && pg {
			w := strconv.Itoa(idWidth)
			q.add(`SELECT count(*), bool_and(octet_length(v.visit_id) = ` + w + ` AND octet_length(v.case_id) = ` + w + `
				AND strpos(v.place, ',') = 0), string_agg(v.visit_id || v.case_id` + numbers + ` || v.place || ','
				|| octet_length(v.elsewhere_reason) || ':' || v.elsewhere_reason, '')`)
		} else {
			q.add(`SELECT count(*), true, string_agg(octet_length(v.visit_id) || ':' || v.visit_id || octet_length(v.case_id)
				|| ':' || v.case_id` + numbers + ` || octet_length(v.place) || ':' || v.place
				|| octet_length(v.elsewhere_reason) || ':' || v.elsewhere_reason, '')`)
		}
	} else {
		q.add(`SELECT v.visit_id, v.case_id, c.team_no, c.officer_no, v.place, v.elsewhere_reason`)
	}
	if shared {
		q.add(` FROM rm_visits v`)
		q.contactDays(fq)
	} else {
		q.contactVisits(fq)
	}
	// The channel is written out, not a parameter: it is the WHERE of
	// the partial index rm_visits_elsewhere (migration 0015), and
	// PostgreSQL's generic plan of a prepared statement (which its plan
	// cache may come to) cannot use a partial index for a parameter.
	q.add(` AND v.channel = '` + schema.ChannelElsewhere + `'`)
	if shared {
		return q, nil
	}
	if err := q.scoped(actor, "c", fq); err != nil {
		return nil, err
	}
	return q, nil
}

// figureSet is how a measure's figures are selected when each is a
// condition on the same rows: base adds the query of the rows (case_id,
// team_id, officer_id and cols, the columns cond reads), cond the
// condition on b, one of those rows, of one figure; base is told the
// figures whose conditions will read its rows. A figure's rows are
// the base's with its condition (figureRows); all the figures' counts are
// one pass over the base (Figures.Counts).
type figureSet struct {
	name string
	// listed: CountsListing lists the cases of the set's rows in its
	// counts' statement, where reading the rows again for them costs
	// more than grouping them by case too (measure 3's contacts; measure
	// 5's cases are listed cheaper by a statement of their own).
	listed bool
	// numbered: base's rows carry the numbers of their team and officer
	// too (team_no, officer_no: rm_ids, migration 0020) when its sqlb
	// asks (sqlb.numbered), and Counts groups them by those, two
	// integers rather than two 36-character ids, reading the ids back
	// once a group (decision 0091).
	numbered bool
	cols     []string
	base     func(q *sqlb, actor Actor, f FigureQuery, names []string) error
	cond     func(q *sqlb, figure string) error
	// byWeek, when set, adds base's rows with the week of weeks each
	// falls in, as column wk (NULL for none): f's From and To are the
	// weeks' span, and a week's rows are base's with the week as the
	// period (setWeeks); with no weeks, base's rows.
	byWeek func(q *sqlb, actor Actor, f FigureQuery, weeks []Week) error
	// summed, when set, adds the query of base's rows counted as they
	// were written, grouped: team_no, officer_no, cols and n, how many
	// of base's rows each stands for, for the actors sumsFor answers
	// true (Counts and Totals read base for the others).
	summed  func(q *sqlb, actor Actor, f FigureQuery) error
	sumsFor func(actor Actor) bool
	// cases, when set, adds the query of the distinct cases of base's
	// rows (case_id, each once), cheaper than base's rows made distinct;
	// CountsListing reads it beside summed's rows.
	cases func(q *sqlb, actor Actor, f FigureQuery) error
}

// grouped adds to q the rows of s for f, each with n, the rows it stands
// for, grouped by keys (columns of a, the rows of base or of summed):
// summed's when it answers for the actor (sums), else base's.
//
// A sum of summed's n is cast back to an integer: PostgreSQL's sum of a
// BIGINT is a NUMERIC, and the figures' sums of it (a CASE each, 55 for
// measure 3, over every group: 46,000 at 100,000 cases) were then
// NUMERIC additions, about half the time of the summed counts there
// (decision 0105); SQLite's sum of integers is an integer already.
// summed's rows may take contacts away (a month's row less its days
// outside the period: contactPeriodRows), so a group may come to none:
// it is no group, as base's rows give it none.
func (s figureSet) grouped(q *sqlb, actor Actor, f FigureQuery, names []string, keys []string) error {
	n, having := "count(*) AS n", ""
	if s.sums(actor) {
		n, having = "CAST(sum(a.n) AS BIGINT) AS n", ` HAVING sum(a.n) <> 0`
	}
	q.add(`SELECT ` + strings.Join(append(slices.Clone(keys), n), ", ") + ` FROM (`)
	var err error
	if s.sums(actor) {
		err = s.summed(q, actor, f)
	} else {
		err = s.base(q, actor, f, names)
	}
	if err != nil {
		return err
	}
	q.add(`) a`)
	if len(keys) > 0 {
		q.add(` GROUP BY ` + strings.Join(keys, ", "))
	}
	q.add(having)
	return nil
}

// sums says whether s's rows are read summed (figureSet.summed) for
// actor.
func (s figureSet) sums(actor Actor) bool { return s.summed != nil && s.sumsFor(actor) }

// reads are the columns of s that the conditions of figures read, in
// the order of s.cols: the rows are grouped by those alone, so that a
// column no figure asked for reads nothing (the previous period's
// headline of measure 5 reads the household's status, not its children,
// victims or partner) and its rows fall into fewer groups.
func (s figureSet) reads(figures []string) []string {
	q := &sqlb{}
	for _, name := range figures {
		if err := s.cond(q, name); err != nil {
			return s.cols // the error is the caller's to find
		}
		q.add(" ")
	}
	text := q.b.String()
	var out []string
	for _, c := range s.cols {
		if regexp.MustCompile(`\bb\.` + c + `\b`).MatchString(text) {
			out = append(out, c)
		}
	}
	return out
}

// figureSetOf is the figure set of f's figure, false for a measure
// whose figures are queries of their own.
func figureSetOf(measure, figure string) (figureSet, bool) {
	switch measure {
	case MeasureContacts:
		return contactSet, true
	case MeasureHouseholds:
		if slices.Contains(householdVisitFigures, figure) {
			return householdVisitSet, true
		}
		return householdCaseSet, true
	}
	return figureSet{}, false
}

// setRows adds the query of f's rows of figure set s.
func setRows(q *sqlb, s figureSet, actor Actor, f FigureQuery) error {
	q.add(`SELECT b.case_id, b.team_id, b.officer_id, 0 AS x, 0 AS wk FROM (`)
	if err := s.base(q, actor, f, []string{f.Figure}); err != nil {
		return err
	}
	q.add(`) b WHERE `)
	return s.cond(q, f.Figure)
}

// FigureCounts are the counts of several figures for the cases of one
// team and officer: N[i] is the rows (visits, or cases for a figure of
// cases) of the i-th figure asked for.
type FigureCounts struct {
	TeamID, OfficerID string
	N                 []int
}

// Counts counts the figures names of f's measure (one whose figures are
// conditions on the same rows: measures 3 and 5) over the actor's scope
// by team and officer, one pass over the rows of each figure set: the
// groups with at least one row, ordered by team then officer id.
func (f Figures) Counts(ctx context.Context, actor Actor, fq FigureQuery, names []string) ([]FigureCounts, error) {
	return f.counts(ctx, actor, fq, names, false)
}

// CountsListing is Counts that also keeps, on a PostgreSQL snapshot, the
// cases of the rows of each figure set that is listed (measure 3's
// contacts), found in the same statement, so that Cases of the set's
// figure of all its rows ("contacts") reads no rows again (decision
// 0078). Elsewhere it is Counts.
func (f Figures) CountsListing(ctx context.Context, actor Actor, fq FigureQuery, names []string) ([]FigureCounts, error) {
	return f.counts(ctx, actor, fq, names, f.pg && f.setCases != nil)
}

// setKey names a figure set's cases on a snapshot: the query but its
// figure, and who asked.
type setKey struct {
	actor Actor
	q     FigureQuery
	set   string
}

// allRows reports whether figure's condition in s is every row of s.
func (s figureSet) allRows(figure string) bool {
	q := &sqlb{}
	return s.cond(q, figure) == nil && q.b.String() == `1 = 1`
}

// setCasesOnce is the cases of q's figure kept on the snapshot by
// CountsListing, in case id order; false when none are kept for it.
func (f Figures) setCasesOnce(actor Actor, q FigureQuery) ([]string, bool) {
	s, ok := figureSetOf(q.Measure, q.Figure)
	if !ok || f.setCases == nil || !slices.Contains(figureNames[q.Measure], q.Figure) || !s.allRows(q.Figure) {
		return nil, false
	}
	key := setKey{actor: actor, q: q, set: s.name}
	key.q.Figure = ""
	ids, ok := f.setCases[key]
	return ids, ok
}

// namedSet is a figure set and the indexes, in the names asked for, of
// its figures.
type namedSet struct {
	s   figureSet
	idx []int
}

// figureSetsOf checks fq's as_of and that names are figures of its
// measure, and splits them by figure set, in the order first named.
func figureSetsOf(fq FigureQuery, names []string) ([]*namedSet, error) {
	if _, ok := dayNumber(fq.AsOf); !ok {
		return nil, schema.Errorf(schema.ECodeInvalid, "as_of", "as_of must be a date (YYYY-MM-DD)")
	}
	var sets []*namedSet
	bySet := map[string]*namedSet{}
	for i, name := range names {
		if !slices.Contains(figureNames[fq.Measure], name) {
			return nil, schema.Errorf(schema.ECodeInvalid, "figure", "measure %s has no figure %q", fq.Measure, name)
		}
		s, ok := figureSetOf(fq.Measure, name)
		if !ok {
			return nil, fmt.Errorf("measure %s: no figure set", fq.Measure)
		}
		if bySet[s.name] == nil {
			bySet[s.name] = &namedSet{s: s}
			sets = append(sets, bySet[s.name])
		}
		bySet[s.name].idx = append(bySet[s.name].idx, i)
	}
	return sets, nil
}

// names are the names of st's figures among names.
func (st *namedSet) names(names []string) []string {
	out := make([]string, 0, len(st.idx))
	for _, i := range st.idx {
		out = append(out, names[i])
	}
	return out
}

// Totals is Counts summed over every team and officer: N[i] is the rows
// of the i-th figure of names in the actor's scope. The rows are grouped
// by the columns the conditions read alone, not by team and officer too
// (a headline's previous period, which wants the totals, took two to
// three times as long grouped by team and officer: decision 0082).
//
// A measure whose figures are of families (measure 1's, 8's, 2's, 7's
// and the exemptions') is counted in rows of its families, one
// statement a family (familyTotals).
func (f Figures) Totals(ctx context.Context, actor Actor, fq FigureQuery, names []string) ([]int, error) {
	if figureFamilies[fq.Measure] != nil {
		return f.familyTotals(ctx, actor, fq, names)
	}
	sets, err := figureSetsOf(fq, names)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(names))
	for _, st := range sets {
		setNames := st.names(names)
		q := &sqlb{}
		q.add(`SELECT `)
		for k, i := range st.idx {
			if k > 0 {
				q.add(`, `)
			}
			q.add(`coalesce(sum(CASE WHEN `)
			if err := st.s.cond(q, names[i]); err != nil {
				return nil, err
			}
			q.add(` THEN b.n ELSE 0 END), 0)`)
		}
		var keys []string
		for _, c := range st.s.reads(setNames) {
			keys = append(keys, "a."+c)
		}
		q.add(` FROM (`)
		if err := st.s.grouped(q, actor, fq, setNames, keys); err != nil {
			return nil, err
		}
		q.add(`) b`)
		if err := sumRows(ctx, f.q, q, st.idx, out); err != nil {
			return nil, fmt.Errorf("totals of %s: %w", fq.Measure, err)
		}
	}
	return out, nil
}

// counts is Counts; with listing, on PostgreSQL, the statement groups
// the rows by case too (GROUPING SETS, one pass over them) and the cases
// are kept on the snapshot for setCasesOnce.
func (f Figures) counts(ctx context.Context, actor Actor, fq FigureQuery, names []string, listing bool) ([]FigureCounts, error) {
	sets, err := figureSetsOf(fq, names)
	if err != nil {
		return nil, err
	}
	groups := map[[2]string]*FigureCounts{}
	all := listing
	for _, st := range sets {
		// Counted as written (figureSet.summed) where it answers for the
		// actor: then, listing, the cases are the distinct cases of the
		// rows, in the same statement (a UNION ALL branch of their own).
		summed := st.s.sums(actor)
		listing := all && st.s.listed
		if summed && f.pg {
			ids, err := f.summedCounts(ctx, actor, fq, st, names, listing, groups)
			if err != nil {
				return nil, err
			}
			if listing {
				f.keepSetCases(actor, fq, st.s, ids, st.s.cases != nil)
			}
			continue
		}
		// The rows are counted by team, officer and every column the
		// conditions read first: a handful of rows to test each figure's
		// condition on, and each column worked out once a row (SQLite
		// does not flatten a grouped subquery into the conditions, which
		// would compute a column again for every condition that reads it).
		setNames := st.names(names)
		keys, by, heads := "a.team_id, a.officer_id", "b.team_id, b.officer_id", "b.team_id, b.officer_id"
		if st.s.numbered {
			keys, by = "a.team_no, a.officer_no", "b.team_no, b.officer_no"
			heads = `(SELECT i.id FROM rm_ids i WHERE i.no = b.team_no), (SELECT i.id FROM rm_ids i WHERE i.no = b.officer_no)`
		}
		for _, c := range st.s.reads(setNames) {
			keys += ", a." + c
		}
		q := &sqlb{numbered: st.s.numbered}
		if listing && !summed {
			// The rows by the keys, and apart by case, in one pass
			// (GROUPING SETS): a row of the second set has its case and
			// no keys, one of the first its keys and no case (a
			// contact's case is never NULL). The counts are summed from
			// the first; the second's cases come back as one list, not
			// a row each with every figure's column (decision 0071 found
			// those rows cost more than the statement they saved).
			q.add(`WITH g AS (SELECT ` + keys + `, a.case_id, count(*) AS n FROM (`)
			if err := st.s.base(q, actor, fq, setNames); err != nil {
				return nil, err
			}
			q.add(`) a GROUP BY GROUPING SETS ((` + keys + `), (a.case_id))) `)
		}
		q.add(`SELECT ` + heads)
		if listing {
			q.add(`, NULL`)
		}
		for _, i := range st.idx {
			q.add(`, sum(CASE WHEN `)
			if err := st.s.cond(q, names[i]); err != nil {
				return nil, err
			}
			q.add(` THEN b.n ELSE 0 END)`)
		}
		switch {
		case !listing: // SQLite's summed rows too
			q.add(` FROM (`)
			if err := st.s.grouped(q, actor, fq, setNames, strings.Split(keys, ", ")); err != nil {
				return nil, err
			}
			q.add(`) b GROUP BY ` + by)
		default:
			q.add(` FROM g b WHERE b.case_id IS NULL GROUP BY ` + by + `
				UNION ALL SELECT NULL, NULL, string_agg(b.case_id, ',')` + strings.Repeat(`, 0`, len(st.idx)) +
				` FROM g b WHERE b.case_id IS NOT NULL`)
		}
		var ids []string
		if err := func() error {
			rs, err := f.q.QueryContext(ctx, q.b.String(), q.args...)
			if err != nil {
				return fmt.Errorf("figures of %s: %w", fq.Measure, err)
			}
			defer rs.Close()
			for rs.Next() {
				var team, officer, cases sql.NullString
				n := make([]int, len(st.idx))
				dst := []any{&team, &officer}
				if listing {
					dst = append(dst, &cases)
				}
				for k := range n {
					dst = append(dst, &n[k])
				}
				if err := rs.Scan(dst...); err != nil {
					return fmt.Errorf("figures of %s: %w", fq.Measure, err)
				}
				if listing && !team.Valid { // the cases (ids are UUIDs: no comma)
					if cases.Valid {
						ids = strings.Split(cases.String, ",")
					}
					continue
				}
				g := groups[[2]string{team.String, officer.String}]
				if g == nil {
					g = &FigureCounts{TeamID: team.String, OfficerID: officer.String, N: make([]int, len(names))}
					groups[[2]string{team.String, officer.String}] = g
				}
				for k, i := range st.idx {
					g.N[i] = n[k]
				}
			}
			return rs.Err()
		}(); err != nil {
			return nil, err
		}
		if listing {
			f.keepSetCases(actor, fq, st.s, ids, false)
		}
	}
	out := make([]FigureCounts, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b FigureCounts) int {
		return cmp.Or(cmp.Compare(a.TeamID, b.TeamID), cmp.Compare(a.OfficerID, b.OfficerID))
	})
	return out, nil
}

// keepSetCases keeps ids, the cases of s's rows for fq and actor, on the
// snapshot (setCasesOnce), in case id order; numbered, each is
// case_id:team_no:officer_no (contactCases'), kept as it is for
// ContactsElsewhere (casesNumbered), the ids apart.
func (f Figures) keepSetCases(actor Actor, fq FigureQuery, s figureSet, ids []string, numbered bool) {
	key := setKey{actor: actor, q: fq, set: s.name}
	key.q.Figure = ""
	if numbered {
		f.setCases[numberedKey(key)] = ids
		ids = slices.Clone(ids)
		for i, s := range ids {
			ids[i], _, _ = strings.Cut(s, ":")
		}
	}
	ids = sortIDs(ids) // byte order, as figureCases' (the "C" collation's)
	f.setCases[key] = slices.Compact(ids)
}

// summedCounts adds to groups the counts of the figures of st (their
// indexes in names) from the rows of figureSet.summed on PostgreSQL;
// listing, it answers the cases of the set's rows too, in the same
// statement (a UNION ALL branch: figureSet.cases, each case as
// case_id:team_no:officer_no, or the rows' distinct cases).
//
// The rows are grouped by the columns the conditions read alone (30
// groups of a quarter at 100,000 cases), each group with whether each
// figure's condition holds for it and its rows' team and officer
// numbers and n as one text (team_no,officer_no,n,…); the process sums
// them by team and officer. Summed by PostgreSQL (a group a team,
// officer and those columns, 46,000 at 100,000 cases, then a CASE a
// figure and group, 55 for measure 3) the counts took three times the
// backend's CPU (decision 0141). A team's and officer's rows of one
// group are netted as the groups were (a month's row less its days
// outside the period: contactPeriodRows), and none that come to no
// contacts counts, as the groups' HAVING left them out.
func (f Figures) summedCounts(ctx context.Context, actor Actor, fq FigureQuery, st *namedSet, names []string, listing bool, groups map[[2]string]*FigureCounts) ([]string, error) {
	setNames := st.names(names)
	var by []string
	for _, c := range st.s.reads(setNames) {
		by = append(by, "b."+c)
	}
	q := &sqlb{pg: true, numbered: st.s.numbered}
	q.add(`SELECT 0, string_agg(b.team_no || ',' || b.officer_no || ',' || b.n, ',')`)
	for _, i := range st.idx {
		q.add(`, CASE WHEN `)
		if err := st.s.cond(q, names[i]); err != nil {
			return nil, err
		}
		q.add(` THEN 1 ELSE 0 END`)
	}
	q.add(` FROM (`)
	if err := st.s.summed(q, actor, fq); err != nil {
		return nil, err
	}
	q.add(`) b`)
	if len(by) > 0 {
		q.add(` GROUP BY ` + strings.Join(by, ", "))
	}
	if listing {
		listed := `b.case_id`
		if st.s.cases != nil { // each case as case_id:team_no:officer_no
			listed = `b.case_id || ':' || b.team_no || ':' || b.officer_no`
		}
		q.add(` UNION ALL SELECT 1, string_agg(` + listed + `, ',')` + strings.Repeat(`, 0`, len(st.idx)) + ` FROM (`)
		if st.s.cases != nil {
			if err := st.s.cases(q, actor, fq); err != nil {
				return nil, err
			}
		} else {
			q.add(`SELECT DISTINCT a.case_id FROM (`)
			if err := st.s.base(q, actor, fq, setNames); err != nil {
				return nil, err
			}
			q.add(`) a`)
		}
		q.add(`) b`)
	}
	ids, err := f.idsByNo(ctx)
	if err != nil {
		return nil, err
	}
	var cases []string
	err = func() error {
		rs, err := f.q.QueryContext(ctx, q.b.String(), q.args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		net := map[[2]int64]int64{}
		byNos := map[[2]int64]*FigureCounts{}
		for rs.Next() {
			var kind int
			var list sql.NullString
			holds := make([]int, len(st.idx))
			dst := []any{&kind, &list}
			for k := range holds {
				dst = append(dst, &holds[k])
			}
			if err := rs.Scan(dst...); err != nil {
				return err
			}
			if kind == 1 { // the cases (ids are UUIDs: no comma)
				if list.Valid {
					cases = strings.Split(list.String, ",")
				}
				continue
			}
			clear(net)
			if err := sumNumbered(list.String, net); err != nil {
				return err
			}
			var held []int // the indexes in names of the figures the group holds
			for k, i := range st.idx {
				if holds[k] == 1 {
					held = append(held, i)
				}
			}
			for nos, n := range net {
				if n == 0 {
					continue // no contacts: no group (the groups' HAVING)
				}
				g := byNos[nos]
				if g == nil {
					team, officer := ids[nos[0]], ids[nos[1]] // none: "" as the join's NULL
					if g = groups[[2]string{team, officer}]; g == nil {
						g = &FigureCounts{TeamID: team, OfficerID: officer, N: make([]int, len(names))}
						groups[[2]string{team, officer}] = g
					}
					byNos[nos] = g
				}
				for _, i := range held {
					g.N[i] += int(n)
				}
			}
		}
		return rs.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("figures of %s: %w", fq.Measure, err)
	}
	return cases, nil
}

// sumNumbered adds the rows of list (team_no,officer_no,n, each after a
// comma but the first) to net by their team's and officer's numbers. The
// numbers are read digit by digit (126,640 rows of three at 100,000
// cases: strconv's parsing, each number cut from the text first, was
// about half the process's sums, decision 0141).
func sumNumbered(list string, net map[[2]int64]int64) error {
	var row [3]int64
	k := 0
	for i := 0; i < len(list); i++ { // i at a number's first byte
		neg := list[i] == '-'
		if neg {
			i++
		}
		start := i
		var n int64
		for ; i < len(list) && list[i] >= '0' && list[i] <= '9'; i++ {
			n = n*10 + int64(list[i]-'0')
		}
		if i == start || i-start > 18 || i < len(list) && (list[i] != ',' || i == len(list)-1) {
			return fmt.Errorf("summed rows: malformed at %.40q", list[start:])
		}
		if neg {
			n = -n
		}
		row[k] = n
		if k == 2 {
			net[[2]int64{row[0], row[1]}] += n
		}
		k = (k + 1) % 3
	}
	if k != 0 {
		return fmt.Errorf("summed rows: a row of %d numbers", k)
	}
	return nil
}
