package compliance

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// Published periods (docs/compliance.md, "Published periods";
// docs/decisions/0031-published-periods.md). A publication freezes
// PeriodFigures: every measure over the period, summarized (totals, teams
// and officers, each figure with its case ids), with its headline, and the
// CRN of every case in a list. The frozen JSON is kept as it was sent;
// the live figures are computed the same way, so the two compare figure by
// figure.

// PeriodMeasureSlugs are the measures a publication freezes, in the
// dashboard's order: the measures over a period. Measures on one day
// (overdue, workload), the QA sample and freshness are not frozen.
var PeriodMeasureSlugs = []string{"first-home-visits", "contacts", "enquiries", "households", "interventions", "reviews", "exemptions"}

// MeasureTitles are the measures' names, as the dashboard's cards say them
// (a test in package dashboard holds the two together).
var MeasureTitles = map[string]string{
	"first-home-visits": "First home visit on time", "contacts": "Contacts in the home",
	"enquiries": "Safeguarding enquiries answered", "households": "Households, children and partners",
	"interventions": "Interventions: need to completion", "reviews": "Flags and risk reviewed on time",
	"exemptions": "Visits exempted",
}

// PeriodFigures is what a publication freezes.
type PeriodFigures struct {
	Period      Period      `json:"period"`
	AsOf        schema.Date `json:"as_of"`
	RuleVersion string      `json:"rule_version"`
	// Measures maps each slug of PeriodMeasureSlugs to its report, as the
	// JSON API answers it with detail=summary (the headline included).
	Measures map[string]json.RawMessage `json:"measures"`
	// CRNs names every case of every list.
	CRNs map[string]string `json:"crns"`
}

// ComputePeriod computes every measure of PeriodMeasureSlugs over period
// as the records stood on asOf, summarized, with their headlines.
func ComputePeriod(in Input, period Period, asOf schema.Date) (PeriodFigures, error) {
	return computePeriod(in, period, asOf, nil)
}

// computePeriod is ComputePeriod with the reports of done (by slug,
// summarized, their headlines set: from the read model) taken as they are.
func computePeriod(in Input, period Period, asOf schema.Date, done map[string]Headlined) (PeriodFigures, error) {
	pf := PeriodFigures{Period: period, AsOf: asOf, RuleVersion: in.policy().Version, Measures: map[string]json.RawMessage{}, CRNs: map[string]string{}}
	type rep interface {
		Headlined
		Summarize()
	}
	measures := map[string]func(Input, Period, schema.Date) rep{
		"first-home-visits": func(in Input, p Period, a schema.Date) rep { return FirstHomeVisits(in, p, a) },
		"contacts":          func(in Input, p Period, a schema.Date) rep { return Contacts(in, p, a) },
		"enquiries":         func(in Input, p Period, a schema.Date) rep { return Enquiries(in, p, a) },
		"households":        func(in Input, p Period, a schema.Date) rep { return Households(in, p, a) },
		"interventions":     func(in Input, p Period, a schema.Date) rep { return Interventions(in, p, a) },
		"reviews":           func(in Input, p Period, a schema.Date) rep { return Reviews(in, p, a) },
		"exemptions":        func(in Input, p Period, a schema.Date) rep { return Exemptions(in, p, a) },
	}
	crn := map[string]string{}
	for _, cr := range in.Cases {
		crn[cr.Case.ID] = cr.Case.CRN
	}
	for slug, compute := range measures {
		var r any = done[slug]
		if r == nil {
			g := compute(in, period, asOf)
			AddHeadline(slug, in, g, period)
			g.Summarize()
			r = g
		}
		b, err := json.Marshal(r)
		if err != nil {
			return pf, fmt.Errorf("encode %s: %w", slug, err)
		}
		pf.Measures[slug] = b
		m, err := readMeasure(slug, b)
		if err != nil {
			return pf, err
		}
		for _, f := range m.Figures {
			for _, id := range f.CaseIDs {
				pf.CRNs[id] = crn[id]
			}
		}
	}
	return pf, nil
}

// FigureValue is one figure of a measure's totals: a count (N, with its
// cases) or a percentage. Figure is its path in the totals
// ("visited_at_all.numerator").
type FigureValue struct {
	Figure  string   `json:"figure"`
	N       *int     `json:"n,omitempty"`
	Percent *float64 `json:"percent,omitempty"`
	IsPct   bool     `json:"-"`
	CaseIDs []string `json:"-"`
}

// MeasureFigures is one measure's headline and every figure of its
// totals, read from its report's JSON.
type MeasureFigures struct {
	Slug     string        `json:"measure"`
	Title    string        `json:"title"`
	Headline *Figure       `json:"headline"`
	Figures  []FigureValue `json:"-"`
}

// readMeasure reads a report's JSON: the headline and, walking the
// totals, every object with an "n" (a count) or a "percent".
func readMeasure(slug string, b json.RawMessage) (MeasureFigures, error) {
	m := MeasureFigures{Slug: slug, Title: MeasureTitles[slug]}
	var r struct {
		Totals   map[string]json.RawMessage `json:"totals"`
		Headline *Figure                    `json:"headline"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return m, fmt.Errorf("read %s figures: %w", slug, err)
	}
	m.Headline = r.Headline
	var walk func(prefix string, obj map[string]json.RawMessage)
	walk = func(prefix string, obj map[string]json.RawMessage) {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			v := bytes.TrimSpace(obj[k])
			path := prefix + k
			if k == "percent" {
				f := FigureValue{Figure: path, IsPct: true}
				_ = json.Unmarshal(v, &f.Percent)
				m.Figures = append(m.Figures, f)
				continue
			}
			if len(v) == 0 || v[0] != '{' {
				continue
			}
			var sub map[string]json.RawMessage
			if json.Unmarshal(v, &sub) != nil {
				continue
			}
			if n, ok := sub["n"]; ok {
				var c struct {
					CaseIDs []string `json:"case_ids"`
				}
				f := FigureValue{Figure: path}
				_ = json.Unmarshal(n, &f.N)
				_ = json.Unmarshal(v, &c)
				f.CaseIDs = c.CaseIDs
				m.Figures = append(m.Figures, f)
				continue
			}
			walk(path+".", sub)
		}
	}
	walk("", r.Totals)
	return m, nil
}

// measures reads every measure of pf, in PeriodMeasureSlugs' order.
func (pf PeriodFigures) measures() ([]MeasureFigures, error) {
	var out []MeasureFigures
	for _, slug := range PeriodMeasureSlugs {
		b, ok := pf.Measures[slug]
		if !ok {
			continue
		}
		m, err := readMeasure(slug, b)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// caseIDs are every case of every list of pf.
func (pf PeriodFigures) caseIDs() []string { return slices.Sorted(maps.Keys(pf.CRNs)) }

// FigureChange is one figure as published and as it would be now.
type FigureChange struct {
	Figure           string   `json:"figure"`
	Published        *int     `json:"published,omitempty"`
	Now              *int     `json:"now,omitempty"`
	PublishedPercent *float64 `json:"published_percent,omitempty"`
	NowPercent       *float64 `json:"now_percent,omitempty"`
	Percent          bool     `json:"percent"`
	Changed          bool     `json:"changed"`
}

// MeasureComparison is one measure's figures as published beside the live
// ones over the same period and scope.
type MeasureComparison struct {
	Slug      string         `json:"measure"`
	Title     string         `json:"title"`
	Published *Figure        `json:"published"`
	Now       *Figure        `json:"now"`
	Figures   []FigureChange `json:"figures"`
}

// CaseFigure is where one case sits in one measure's figures, as
// published and now, with the measure's headline then and now: what the
// figure would be now.
type CaseFigure struct {
	Slug        string   `json:"measure"`
	Title       string   `json:"title"`
	PublishedIn []string `json:"published_in"`
	NowIn       []string `json:"now_in"`
	Published   *Figure  `json:"published"`
	Now         *Figure  `json:"now"`
}

// FieldChange is one field a revision changed, in words; Old is "" when
// the value before is not known (a field of an unsigned record changed in
// place: the store keeps its latest value only).
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new"`
}

// Revision is one change, received after publication, to a record of a
// case in the published (or the live) lists that touches the period.
type Revision struct {
	CaseID   string        `json:"case_id"`
	CRN      string        `json:"crn"`
	Entity   string        `json:"entity"`
	RecordID string        `json:"record_id"`
	Action   string        `json:"action"` // the audit event's: create, update, sign, ...
	What     string        `json:"what"`
	Changes  []FieldChange `json:"changes"`
	At       string        `json:"at"`
	By       string        `json:"by"`
	ByName   string        `json:"by_name"`
	Figures  []CaseFigure  `json:"figures"`
}

// Compare sets the published figures beside now's, measure by measure.
func Compare(published, now PeriodFigures) ([]MeasureComparison, error) {
	pm, nowBy, err := bothMeasures(published, now)
	if err != nil {
		return nil, err
	}
	out := []MeasureComparison{}
	for _, p := range pm {
		n := nowBy[p.Slug]
		mc := MeasureComparison{Slug: p.Slug, Title: p.Title, Published: p.Headline, Now: n.Headline, Figures: []FigureChange{}}
		nf := map[string]FigureValue{}
		for _, f := range n.Figures {
			nf[f.Figure] = f
		}
		for _, f := range p.Figures {
			x := nf[f.Figure]
			fc := FigureChange{Figure: f.Figure, Percent: f.IsPct}
			if f.IsPct {
				fc.PublishedPercent, fc.NowPercent = f.Percent, x.Percent
				fc.Changed = !eqPtr(f.Percent, x.Percent)
			} else {
				fc.Published, fc.Now = f.N, x.N
				fc.Changed = !eqPtr(f.N, x.N) || !slices.Equal(f.CaseIDs, x.CaseIDs)
			}
			mc.Figures = append(mc.Figures, fc)
		}
		out = append(out, mc)
	}
	return out, nil
}

// bothMeasures reads the published measures, in order, and now's by slug.
func bothMeasures(published, now PeriodFigures) ([]MeasureFigures, map[string]MeasureFigures, error) {
	pm, err := published.measures()
	if err != nil {
		return nil, nil, err
	}
	nm, err := now.measures()
	if err != nil {
		return nil, nil, err
	}
	nowBy := map[string]MeasureFigures{}
	for _, m := range nm {
		nowBy[m.Slug] = m
	}
	return pm, nowBy, nil
}

func eqPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// changeActions are the audit actions that write a record.
var changeActions = map[string]string{
	"create": "new", "create_signed": "new and signed", "import": "imported", "update": "changed", "sign": "signed",
	"conflict": "conflict recorded", "resolve_conflict": "conflict resolved", "resolve_set_aside": "set-aside change decided",
}

// Revisions lists the changes received after a publication (whose frozen
// figures are published) to the records of the cases in the published or
// the live (now) lists that touch the period: every record
// but a visit (or an amendment of one) that started after the period's
// as_of day, a flag that started after it, and a safety assessment or a
// referral dated after it. changes are the store's records of those cases
// written since the publication (serverdb.DB.ChangedSince); raw are every
// visit and amendment of those cases, to tell an amendment's values
// before; names name the people. Newest first.
func Revisions(published, now PeriodFigures, changes []serverdb.RecordChange, raw []schema.RawRecord, names map[string]string) ([]Revision, error) {
	pm, nowBy, err := bothMeasures(published, now)
	if err != nil {
		return nil, err
	}
	visits := map[string]json.RawMessage{}
	amendments := map[string][]schema.Amendment{}
	for _, r := range raw {
		switch r.Entity {
		case "visit":
			visits[r.ID] = r.Fields
		case "amendment":
			var a schema.Amendment
			if err := r.Decode(&a); err == nil {
				amendments[a.VisitID] = append(amendments[a.VisitID], a)
			}
		}
	}
	idx := map[string][2]map[string][]string{}
	for _, p := range pm {
		idx[p.Slug] = [2]map[string][]string{figureIndex(p), figureIndex(nowBy[p.Slug])}
	}
	asOf := published.AsOf
	out := []Revision{}
	for _, ch := range changes {
		if !touches(ch, asOf, visits) {
			continue
		}
		crn := published.CRNs[ch.CaseID]
		if crn == "" {
			crn = now.CRNs[ch.CaseID]
		}
		figs := caseFigures(ch.CaseID, pm, nowBy, idx)
		base := Revision{CaseID: ch.CaseID, CRN: crn, Entity: ch.Entity, RecordID: ch.ID, Figures: figs}
		evs := ch.Events
		if len(evs) == 0 { // a write with no event of its own: the record's last change
			evs = []serverdb.AuditEvent{{Action: "update", At: ch.UpdatedAt, UserID: ch.UpdatedBy}}
		}
		for _, e := range evs {
			verb, ok := changeActions[e.Action]
			if !ok {
				continue
			}
			r := base
			r.Action, r.At, r.By, r.ByName = e.Action, e.At, e.UserID, names[e.UserID]
			r.What = strings.ReplaceAll(ch.Entity, "_", " ") + " " + verb
			r.Changes = fieldChanges(ch, e, visits, amendments)
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Revision) int { return cmp.Compare(b.At, a.At) })
	return out, nil
}

// RevisionCases are the cases whose changes a publication lists: those of
// its lists and of the live ones.
func RevisionCases(published, now PeriodFigures) []string {
	set := map[string]bool{}
	for _, id := range published.caseIDs() {
		set[id] = true
	}
	for _, id := range now.caseIDs() {
		set[id] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// caseFigures says where the case sits in each measure, published and
// now, for the measures it is in either way. idx holds, per measure, the
// figures each case is in (figureIndex), published and now.
func caseFigures(caseID string, pm []MeasureFigures, nowBy map[string]MeasureFigures, idx map[string][2]map[string][]string) []CaseFigure {
	out := []CaseFigure{}
	for _, p := range pm {
		n := nowBy[p.Slug]
		in := idx[p.Slug]
		cf := CaseFigure{Slug: p.Slug, Title: p.Title, PublishedIn: orEmpty(in[0][caseID]), NowIn: orEmpty(in[1][caseID]), Published: p.Headline, Now: n.Headline}
		if len(cf.PublishedIn) > 0 || len(cf.NowIn) > 0 {
			out = append(out, cf)
		}
	}
	return out
}

// figureIndex maps each case of m's figures to the figures it is in, in
// m's order.
func figureIndex(m MeasureFigures) map[string][]string {
	out := map[string][]string{}
	for _, f := range m.Figures {
		for _, id := range f.CaseIDs {
			out[id] = append(out[id], f.Figure)
		}
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// touches reports whether a changed record can move the period's figures:
// not a visit, or an amendment of one, that started (or was planned)
// after asOf; not a flag that started after it; not a safety assessment
// assessed, nor a referral identified, after it. The measures ignore
// those (docs/compliance.md, "Which records are used").
func touches(ch serverdb.RecordChange, asOf schema.Date, visits map[string]json.RawMessage) bool {
	fields := ch.Fields
	key := map[string][]string{"visit": {"started_at", "planned_at"}, "amendment": {"started_at", "planned_at"},
		"flag": {"start_date"}, "safety_assessment": {"assessed_on"}, "referral": {"identified_on"}}[ch.Entity]
	if ch.Entity == "amendment" {
		var a struct {
			VisitID string `json:"visit_id"`
		}
		_ = json.Unmarshal(fields, &a)
		fields = visits[a.VisitID]
	}
	if len(key) == 0 || fields == nil {
		return true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(fields, &m) != nil {
		return true
	}
	for _, k := range key {
		var s string
		if json.Unmarshal(m[k], &s) == nil && len(s) >= 10 {
			return schema.Date(s[:10]) <= asOf
		}
	}
	return true
}

// fieldChanges says what event e of changed record ch did, field by
// field: an amendment's changes with the visit's values before it; a new
// record's fields; the fields an update named, with their values now.
func fieldChanges(ch serverdb.RecordChange, e serverdb.AuditEvent, visits map[string]json.RawMessage, amendments map[string][]schema.Amendment) []FieldChange {
	out := []FieldChange{}
	var cur map[string]json.RawMessage
	_ = json.Unmarshal(ch.Fields, &cur)
	if ch.Entity == "amendment" {
		var a schema.Amendment
		raw := schema.RawRecord{Entity: ch.Entity, ID: ch.ID, CaseID: ch.CaseID, Fields: ch.Fields}
		if raw.Decode(&a) == nil {
			before := visitBefore(visits[a.VisitID], a, amendments[a.VisitID])
			for _, k := range slices.Sorted(maps.Keys(a.Changes)) {
				out = append(out, FieldChange{Field: k, Old: valueText(before[k]), New: valueText(a.Changes[k])})
			}
			return out
		}
	}
	var named []string
	var d struct {
		Fields []string `json:"fields"`
	}
	if json.Unmarshal(e.Detail, &d) == nil && len(d.Fields) > 0 {
		named = d.Fields
	} else {
		named = slices.Sorted(maps.Keys(cur))
	}
	for _, k := range named {
		if v, ok := cur[k]; ok && string(v) != "null" && string(v) != `""` {
			out = append(out, FieldChange{Field: k, New: valueText(v)})
		}
	}
	return out
}

// visitBefore is the visit's fields with the amendments made before a
// applied (oldest first, as policy.AmendVisit orders them).
func visitBefore(visit json.RawMessage, a schema.Amendment, all []schema.Amendment) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	_ = json.Unmarshal(visit, &m)
	earlier := slices.DeleteFunc(slices.Clone(all), func(x schema.Amendment) bool {
		return x.ID == a.ID || cmp.Or(cmp.Compare(x.AmendedAt, a.AmendedAt), cmp.Compare(x.ID, a.ID)) > 0
	})
	slices.SortFunc(earlier, func(x, y schema.Amendment) int {
		return cmp.Or(cmp.Compare(x.AmendedAt, y.AmendedAt), cmp.Compare(x.ID, y.ID))
	})
	for _, x := range earlier {
		maps.Copy(m, x.Changes)
	}
	return m
}

// valueText is a stored value in words: text as it is (cut at 80
// characters), true and false as yes and no, nothing as "none".
func valueText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	switch string(v) {
	case "", "null", `""`:
		return "none"
	case "true":
		return "yes"
	case "false":
		return "no"
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		s = string(v)
	}
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:79]) + "…"
	}
	return s
}

// ScopeFigures computes PeriodFigures over the cases of team (every case
// in the actor's scope when "") as the records stand now, and returns the
// store's change number read before the records: the figures are those of
// the records up to it, unless a later one was written meanwhile (which
// serverdb.DB.PublishPeriod checks). It holds a job (Job) for the load
// and the computation.
func (s *Service) ScopeFigures(ctx context.Context, actor serverdb.Actor, teamID string, period Period, asOf schema.Date) (PeriodFigures, int64, error) {
	seq, err := s.db.MaxSeq(ctx)
	if err != nil {
		return PeriodFigures{}, 0, err
	}
	ctx, release, err := s.Job(ctx)
	if err != nil {
		return PeriodFigures{}, 0, err
	}
	defer release()
	in, err := s.InputOf(ctx, actor, Narrow{TeamID: teamID})
	if err != nil {
		return PeriodFigures{}, 0, err
	}
	done, err := s.periodReportsFromReadModel(ctx, actor, teamID, period, asOf)
	if err != nil {
		return PeriodFigures{}, 0, err
	}
	pf, err := computePeriod(in, period, asOf, done)
	return pf, seq, err
}

// PeriodView is a publication's figures beside the live ones, and its
// revisions.
type PeriodView struct {
	Now       []MeasureComparison `json:"now"`
	Revisions []Revision          `json:"revisions"`
	// CaseIDs are every case the view names (for the audit of the view).
	CaseIDs []string `json:"-"`
}

// ViewPublication decodes pub's frozen figures, computes the live ones
// over the same scope and period (as the records stood on the earlier of
// the period's last day and today), and lists the revisions since
// publication in the actor's scope.
func (s *Service) ViewPublication(ctx context.Context, actor serverdb.Actor, pub serverdb.Publication, today schema.Date) (PeriodFigures, PeriodView, error) {
	var published PeriodFigures
	if err := json.Unmarshal(pub.Figures, &published); err != nil {
		return published, PeriodView{}, fmt.Errorf("publication %s: stored figures: %w", pub.ID, err)
	}
	period := Period{From: pub.From, To: pub.To}
	now, _, err := s.ScopeFigures(ctx, actor, pub.TeamID, period, min(pub.To, today))
	if err != nil {
		return published, PeriodView{}, err
	}
	var v PeriodView
	if v.Now, err = Compare(published, now); err != nil {
		return published, v, err
	}
	v.CaseIDs = RevisionCases(published, now)
	changes, err := s.db.ChangedSince(ctx, actor, v.CaseIDs, pub.Seq, pub.AuditID)
	if err != nil {
		return published, v, err
	}
	var raw []schema.RawRecord
	if len(changes) > 0 {
		var ids []string
		for _, ch := range changes {
			ids = append(ids, ch.CaseID)
		}
		slices.Sort(ids)
		if raw, err = s.db.ListRawCases(ctx, actor, []string{"visit", "amendment"}, slices.Compact(ids)); err != nil {
			return published, v, err
		}
	}
	names := map[string]string{}
	users, err := s.db.ListUsers(ctx)
	if err != nil {
		return published, v, err
	}
	for _, u := range users {
		names[u.ID] = u.Name
	}
	v.Revisions, err = Revisions(published, now, changes, raw, names)
	return published, v, err
}
