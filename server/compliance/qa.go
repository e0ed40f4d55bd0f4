package compliance

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"doorstep/schema"
)

// Measure 10: DA risk assessment sufficiency (QA sample). A supervisor
// rates the domestic-abuse risk analysis of a sample of cases sufficient
// or insufficient (an oversight record of the case with aspect
// da_risk_assessment); the figure is the share rated sufficient. The
// sample is drawn here, deterministically, so the same request always
// shows the same cases (docs/compliance.md, measure 10).

// QASamplePerOfficer is the default sample size: up to this many cases
// per officer. The 2023 thematic inspection read 60 DA cases across six
// delivery units.
const QASamplePerOfficer = 10

// MaxQASamplePerOfficer bounds the sample size a request may ask for.
const MaxQASamplePerOfficer = 100

// QA ratings of a case (measure 10).
const (
	QASufficient   = "sufficient"
	QAInsufficient = "insufficient"
)

// QASeed is the seed of the sample drawn for a period: the calendar
// quarter of its last day ("2026-Q4"). Every period ending in the same
// quarter (the dashboard's rolling 90 days, from one day to the next)
// draws the same cases, so a rating made today is still of a sampled case
// tomorrow; a new quarter draws a new sample.
func QASeed(period Period) string {
	t := period.To.Time()
	return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
}

// qaRank is a case's place in the sample draw: the first 8 bytes of
// SHA-256(seed "|" case id), as a big-endian number. Lower is drawn first.
func qaRank(seed, caseID string) uint64 {
	h := sha256.Sum256([]byte(seed + "|" + caseID))
	return binary.BigEndian.Uint64(h[:8])
}

// QAFigures are measure 10's figures for one set of cases.
type QAFigures struct {
	// Eligible: the cases the sample is drawn from (open, supervision
	// started by as_of, a DA flag live on some day of the period up to
	// as_of).
	Eligible IDs `json:"eligible"`
	// Sampled: the cases drawn, up to the sample size per officer.
	Sampled IDs `json:"sampled"`
	// Sufficient: sampled cases whose latest rating in the period (up to
	// as_of) is sufficient, over the sampled cases rated.
	Sufficient   CaseShare `json:"sufficient"`
	Insufficient IDs       `json:"insufficient"`
	// NotRated: sampled cases with no rating in the period; in neither
	// part of the figure.
	NotRated IDs `json:"not_rated"`
	// RatedNotSampled: cases rated in the period that are not in the
	// sample; in neither part of the figure, listed so no rating is
	// hidden.
	RatedNotSampled IDs `json:"rated_not_sampled"`
}

func (f *QAFigures) count(row QACase) {
	id := row.CaseID
	if row.Eligible {
		f.Eligible.add(id)
	}
	switch {
	case row.Sampled && row.Rating == "":
		f.Sampled.add(id)
		f.NotRated.add(id)
	case row.Sampled:
		f.Sampled.add(id)
		f.Sufficient.count(id, row.Rating == QASufficient)
		if row.Rating == QAInsufficient {
			f.Insufficient.add(id)
		}
	case row.Rating != "":
		f.RatedNotSampled.add(id)
	}
}

func (f *QAFigures) finish() {
	for _, x := range []*IDs{&f.Eligible, &f.Sampled, &f.Insufficient, &f.NotRated, &f.RatedNotSampled} {
		x.finish()
	}
	f.Sufficient.finish()
}

// QACase is one case of the sample, or one rated outside it.
type QACase struct {
	CaseID      string `json:"case_id"`
	CRN         string `json:"crn"`
	OfficerID   string `json:"officer_id"`
	OfficerName string `json:"officer_name"`
	TeamID      string `json:"team_id"`
	TeamName    string `json:"team_name"`
	Eligible    bool   `json:"eligible"`
	Sampled     bool   `json:"sampled"`
	// Draw is the case's place in its officer's draw (1 first); 0 when
	// not eligible.
	Draw int `json:"draw,omitempty"`
	// DAFlags: the DA flag types live in the period.
	DAFlags []string `json:"da_flags,omitempty"`
	// The latest rating in the period, up to as_of ("" when none).
	Rating      string           `json:"rating,omitempty"`
	Reason      string           `json:"reason,omitempty"`
	RatedBy     string           `json:"rated_by,omitempty"`
	RatedAt     schema.Timestamp `json:"rated_at,omitempty"`
	OversightID string           `json:"oversight_id,omitempty"`
	// Ratings: how many ratings of the case fall in the period (a re-rating
	// replaces the one before it; only the latest counts).
	Ratings int `json:"ratings,omitempty"`
}

// QAReport is measure 10 over a period.
type QAReport struct {
	Measure    string                 `json:"measure"`
	Period     Period                 `json:"period"`
	AsOf       schema.Date            `json:"as_of"`
	Seed       string                 `json:"seed"`
	PerOfficer int                    `json:"per_officer"`
	OfficerID  string                 `json:"officer_id,omitempty"`
	Totals     QAFigures              `json:"totals"`
	Teams      []Breakdown[QAFigures] `json:"teams"`
	Officers   []Breakdown[QAFigures] `json:"officers"`
	// Cases: the sampled cases, then those rated outside the sample.
	Cases []QACase `json:"cases"`
}

// CaseIDs returns the cases the report covers: the eligible ones and
// those rated outside the sample.
func (r *QAReport) CaseIDs() []string {
	return uniqueSorted(append(slices.Clone(r.Totals.Eligible.CaseIDs), r.Totals.RatedNotSampled.CaseIDs...))
}

// Summarize empties the per-case rows.
func (r *QAReport) Summarize() { r.Cases = []QACase{} }

// RatingDay is the day a rating was made: the UTC day of its at (the
// server's clock), "" when at does not parse.
func RatingDay(o schema.Oversight) schema.Date { return o.Day() }

// QAInput is what measure 10 needs beyond the case records.
type QAInput struct {
	// Ratings may hold any oversight records: only the DA risk assessment
	// ratings (IsDARating) of the report's cases are read.
	Ratings []schema.Oversight
	// PerOfficer is the sample size per officer; < 1 means
	// QASamplePerOfficer.
	PerOfficer int
	// Pool, when set, are the cases the sample is drawn from, when the
	// report covers fewer of them (a dashboard filtered on RoSH or a
	// flag), so that a filter narrows the sample and does not redraw it.
	// nil: the report's cases.
	Pool []CaseRecords
}

// RiskAssessmentQA computes measure 10: the sample of the period (up to
// PerOfficer cases per officer, by current allocation, drawn with
// QASeed(period) from the eligible cases), each case's latest rating in
// the period up to asOf, and the share rated sufficient of the sampled
// cases rated.
func RiskAssessmentQA(in Input, qa QAInput, period Period, asOf schema.Date) *QAReport {
	sm := qaSampleOf(in, qa, period, asOf)
	rep := &QAReport{Measure: "risk_assessment_qa", Period: period, AsOf: asOf, Seed: sm.seed, PerOfficer: sm.perOfficer,
		OfficerID: in.OfficerID, Cases: []QACase{}}
	var rows []qaRow
	for _, cr := range in.cases() {
		c := cr.Case
		row := QACase{CaseID: c.ID, CRN: c.CRN, OfficerID: c.OfficerID, OfficerName: in.Officers[c.OfficerID],
			TeamID: c.TeamID, TeamName: in.Teams[c.TeamID]}
		if o, ok := sm.latest[c.ID]; ok {
			row.Rating, row.Reason, row.RatedBy, row.RatedAt, row.OversightID, row.Ratings = o.Decision, o.Reason, o.By, o.At, o.ID, sm.count[c.ID]
		}
		row.DAFlags = qaFlags(cr, period.From, sm.end)
		row.Eligible = row.DAFlags != nil
		if row.Eligible {
			row.Draw = sm.draw[c.ID]
			row.Sampled = row.Draw >= 1 && row.Draw <= sm.perOfficer
		}
		if row.Eligible || row.Rating != "" {
			rows = append(rows, qaRow{row: row, c: c})
		}
	}
	qaAssemble(rep, in, rows)
	return rep
}

// RiskAssessmentQAShare is RiskAssessmentQA's Totals.Sufficient alone:
// what the dashboard's previous headline and weekly trend of measure 10
// show, 14 reports of a page built whole for one figure each before
// (decision 0103). It counts the same cases in the same order, without
// the report's rows, groups and lists of the other figures
// (TestQAShareIsTheReports holds it to the report's).
func RiskAssessmentQAShare(in Input, qa QAInput, period Period, asOf schema.Date) CaseShare {
	sm := qaSampleOf(in, qa, period, asOf)
	var share CaseShare
	for _, cr := range in.cases() {
		c := cr.Case
		o, rated := sm.latest[c.ID]
		if !rated || o.Decision == "" {
			continue
		}
		if qaFlags(cr, period.From, sm.end) == nil {
			continue
		}
		if d := sm.draw[c.ID]; d >= 1 && d <= sm.perOfficer {
			share.count(c.ID, o.Decision == QASufficient)
		}
	}
	share.finish()
	return share
}

// qaSample is what measure 10's figures of a period are counted from:
// each case's latest rating in the period up to as_of and their count,
// and the draw of the eligible cases of the pool.
type qaSample struct {
	seed       string
	perOfficer int
	end        schema.Date
	latest     map[string]schema.Oversight
	count      map[string]int
	draw       map[string]int
}

func qaSampleOf(in Input, qa QAInput, period Period, asOf schema.Date) qaSample {
	sm := qaSample{seed: QASeed(period), perOfficer: qa.PerOfficer, end: min(period.To, asOf),
		latest: map[string]schema.Oversight{}, count: map[string]int{}}
	if sm.perOfficer < 1 {
		sm.perOfficer = QASamplePerOfficer
	}

	// The latest rating of each case in the period, up to as_of.
	for _, o := range qa.Ratings {
		if !o.IsDARating() || (o.Decision != QASufficient && o.Decision != QAInsufficient) {
			continue
		}
		d := RatingDay(o)
		if d == "" || d < period.From || d > sm.end {
			continue
		}
		id := o.SubjectID
		sm.count[id]++
		if l, ok := sm.latest[id]; !ok || cmp.Or(cmp.Compare(o.At, l.At), cmp.Compare(o.ID, l.ID)) > 0 {
			// RFC 3339 UTC timestamps of the server's clock sort as text.
			sm.latest[id] = o
		}
	}

	// The draw: the eligible cases of each officer of the pool, by rank.
	pool := qa.Pool
	if pool == nil {
		pool = in.cases()
	}
	var eligible []schema.Case
	for _, cr := range pool {
		if qaFlags(cr, period.From, sm.end) != nil {
			eligible = append(eligible, cr.Case)
		}
	}
	sm.draw = qaDraw(sm.seed, eligible)
	return sm
}

// qaDraw is the sample's draw: each eligible case's place (1 first) in its
// officer's order of qaRank, ties by case id.
func qaDraw(seed string, eligible []schema.Case) map[string]int {
	type drawn struct {
		rank uint64
		id   string
	}
	byOfficer := map[string][]drawn{}
	for _, c := range eligible {
		byOfficer[c.OfficerID] = append(byOfficer[c.OfficerID], drawn{rank: qaRank(seed, c.ID), id: c.ID})
	}
	draw := map[string]int{}
	for _, ds := range byOfficer {
		slices.SortFunc(ds, func(a, b drawn) int { return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.id, b.id)) })
		for i, d := range ds {
			draw[d.id] = i + 1
		}
	}
	return draw
}

// qaRow is a case of measure 10's report (eligible, or rated in the
// period) with the case it counts for.
type qaRow struct {
	row QACase
	c   schema.Case
}

// qaAssemble counts rows (in the order of the report's cases) into rep's
// totals, teams and officers, and lists the sampled and rated ones.
func qaAssemble(rep *QAReport, in Input, rows []qaRow) {
	g := newGroups[QAFigures]()
	for _, r := range rows {
		rep.Totals.count(r.row)
		team, officer := g.of(in, r.c)
		team.count(r.row)
		officer.count(r.row)
		if r.row.Sampled || r.row.Rating != "" {
			rep.Cases = append(rep.Cases, r.row)
		}
	}
	rep.Totals.finish()
	finish := func(f *QAFigures) { f.finish() }
	rep.Teams = sortedGroups(g.teams, finish)
	rep.Officers = sortedGroups(g.officers, finish)
	slices.SortFunc(rep.Cases, func(a, b QACase) int {
		return cmp.Or(-cmp.Compare(btoi(a.Sampled), btoi(b.Sampled)), cmp.Compare(a.OfficerName, b.OfficerName),
			cmp.Compare(a.OfficerID, b.OfficerID), cmp.Compare(a.Draw, b.Draw), cmp.Compare(a.CRN, b.CRN), cmp.Compare(a.CaseID, b.CaseID))
	})
}

// qaFlags returns the DA flag types that make a case eligible for the
// sample: open, supervision started by end, a DA flag live on some day
// from the later of the start and from, to end. nil when not eligible.
func qaFlags(cr CaseRecords, from, end schema.Date) []string {
	c := cr.Case
	if c.Closed || c.SupervisionStart == "" || c.SupervisionStart > end {
		return nil
	}
	return daFlags(cr.Flags, max(c.SupervisionStart, from), end)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
