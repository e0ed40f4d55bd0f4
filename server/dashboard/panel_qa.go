package dashboard

import (
	"cmp"
	"fmt"
	"slices"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// Measure 10 on the dashboard: the QA sample of DA cases and the share of
// those rated whose DA risk analysis a supervisor judged sufficient. The
// case page of a sampled case has the rating form (caseQA); the rating is
// an oversight record written by serverdb.Oversee.
func init() {
	registerPanel(&panel{Order: 10, Slug: "risk-assessment-qa", Title: "DA risk assessment sufficient (QA sample)",
		About: fmt.Sprintf("A sample of up to %d domestic-abuse cases per officer, drawn afresh each quarter: of those a supervisor rated in the period, the share whose DA risk analysis was sufficient. Rate a case on its page.",
			compliance.QASamplePerOfficer),
		Build: buildQA, QA: true,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.QAPanel] { return o.QA },
			qaPanelView, func(p *compliance.QAPanel) *compliance.Headline { return p.Headline })})
}

// qaPanelView is the panel but its table from the read model
// (compliance.QAPanel, decision 0075), its trend with it.
func qaPanelView(pc *panelCtx, p *compliance.QAPanel, caseIDs []string) *panelView {
	v := qaView(p.Report, caseIDs)
	if p.Weeks != nil {
		v.Trend = sharePoints(pc.F.weeks(), p.Weeks)
	}
	return v
}

// qaPanelInput loads what measure 10 needs beyond the case records: the
// ratings of the actor's scope, and the scope (the filters' team's, when
// chosen: dashLoad kept it) as the pool the sample is drawn from (so a
// RoSH or flag filter narrows the sample and does not redraw it; the draw
// is per officer, so a team's pool draws what the whole scope's would).
func (s *site) qaPanelInput(c *fiber.Ctx, actor serverdb.Actor) (*compliance.QAInput, error) {
	ratings, err := s.comp.QARatingsFromReadModel(c.UserContext(), actor)
	if err != nil {
		return nil, err
	}
	pool, ok := c.Locals(poolKey).([]compliance.CaseRecords)
	if !ok {
		all, err := s.comp.Input(c.UserContext(), actor, "")
		if err != nil {
			return nil, err
		}
		pool = all.Cases
	}
	return &compliance.QAInput{Ratings: ratings, Pool: pool}, nil
}

func buildQA(pc *panelCtx) *panelView {
	qa := compliance.QAInput{}
	if pc.QA != nil {
		qa = *pc.QA
	}
	rep := compliance.RiskAssessmentQA(pc.In, qa, pc.F.period(), pc.F.AsOf)
	v := qaView(rep, rep.CaseIDs())
	s := rep.Totals.Sufficient
	// The headline beside the previous period's, as the other measures'
	// (the ratings come from the store, so the panel judges its own).
	prev := compliance.PreviousPeriod(pc.F.period())
	// The previous headline and the trend are each the report's
	// Totals.Sufficient alone (RiskAssessmentQAShare, decision 0103).
	p := compliance.RiskAssessmentQAShare(pc.In, qa, prev, prev.To)
	v.Headline = compliance.JudgeIn(pc.In, "risk-assessment-qa", compliance.FigureOf(s.Numerator.N, s.Denominator.N),
		compliance.PreviousFigure{Figure: compliance.FigureOf(p.Numerator.N, p.Denominator.N), Period: prev})
	if pc.Weekly {
		for _, w := range pc.F.weeks() {
			x := compliance.RiskAssessmentQAShare(pc.In, qa, compliance.Period{From: pc.F.From, To: w.To}, min(w.To, pc.F.AsOf))
			v.Trend = append(v.Trend, share(weekLabel(w), x.Numerator.N, x.Denominator.N, x.Percent))
		}
	}
	if !pc.noTables {
		v.Table = qaTable(pc, rep)
	}
	return v
}

// qaView is the panel but its headline, trend and table: rep's figures,
// each officer's bar; caseIDs are the cases behind it.
func qaView(rep *compliance.QAReport, caseIDs []string) *panelView {
	t := rep.Totals
	s := t.Sufficient
	v := &panelView{Percent: true, CaseIDs: caseIDs,
		Figures: []figure{{Label: "rated sufficient", Num: s.Numerator.N, Den: s.Denominator.N, Percent: s.Percent}},
		Apart: []apart{{"sampled, not yet rated", t.NotRated.N}, {"rated insufficient", t.Insufficient.N},
			{"rated outside the sample", t.RatedNotSampled.N}, {"sampled", t.Sampled.N}, {"DA cases to draw from", t.Eligible.N}},
		Notes:      []string{"Sample " + rep.Seed + ": the same cases all quarter. Only the latest rating of a case in the period counts."},
		TrendTitle: "Percent rated sufficient, from the period's start to the end of each week",
		BarsTitle:  "Percent rated sufficient, by officer",
		ByOfficer:  map[string]cell{},
	}
	for _, o := range rep.Officers {
		x := o.F.Sufficient
		v.officerShare(o.Name, o.ID, x.Numerator.N, x.Denominator.N, x.Percent)
	}
	return v
}

func qaTable(pc *panelCtx, rep *compliance.QAReport) *table {
	tb := &table{ID: "risk-assessment-qa", Caption: "QA sample " + rep.Seed + ", and cases rated outside it",
		Empty: "No domestic-abuse case passes the filters.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "sample", Label: "In the sample"},
			{Key: "draw", Label: "Drawn", Num: true}, {Key: "rating", Label: "Rating"}, {Key: "reason", Label: "Reason"},
			{Key: "at", Label: "Rated"}, {Key: "ratings", Label: "Ratings in the period", Num: true}}}
	for _, r := range rep.Cases {
		in := "yes"
		if !r.Sampled {
			in = "no: counted apart"
		}
		rating := txt(cmp.Or(label(r.Rating), "not yet rated"))
		switch r.Rating {
		case compliance.QAInsufficient:
			rating.Mark = "bad"
		case "":
			rating.Href = pc.caseHref(r.CaseID) + "#qa"
		}
		tb.Rows = append(tb.Rows, []cell{link(r.CRN, pc.caseHref(r.CaseID)+"#qa"), link(r.OfficerName, pc.officerHref(r.OfficerID)),
			txt(in), num(r.Draw), rating, txt(r.Reason), txt(shortTime(string(r.RatedAt))), num(r.Ratings)})
	}
	return tb
}

// The rating form on the case page.

const qaFormLocal = "qaForm" // a refused form, shown again by dashCase

type caseQAView struct {
	About   string
	Earlier []string
	Form    *decisionForm // nil for an auditor
}

var qaOptions = []option{{compliance.QASufficient, "Sufficient: the risk analysis drew on the police and children's services checks, the household, the children and the partner's safety"},
	{compliance.QAInsufficient, "Insufficient: something the analysis needed is missing or not used"}}

func newQAForm(caseID, action, next, csrf string) *decisionForm {
	return &decisionForm{ID: "qa", Action: action, Next: next, CSRF: csrf, Errors: map[string]string{},
		Legend: "Your rating of this case's domestic-abuse risk analysis", Options: qaOptions,
		ReasonHint: "Required when insufficient: what is missing (for example no police check, children not considered, partner's safety not assessed).",
		Submit:     "Record the rating"}
}

// caseQA is the case page's QA section: whether the case is in the
// period's sample, its ratings, and the form (for a reviewer). nil when
// the case is neither a DA case of the period nor ever rated. status is
// 422 when the page shows a refused rating again.
func (s *site) caseQA(c *fiber.Ctx, sess *dashSession, cf *caseFile, f *filters) (*caseQAView, int, error) {
	ctx := c.UserContext()
	actor := sess.actor()
	k := cf.recs.Case
	recs, err := s.db.List(ctx, actor, "oversight", k.ID)
	if err != nil {
		return nil, 0, err
	}
	var ratings []schema.Oversight
	for _, r := range recs {
		var o schema.Oversight
		if err := r.Decode(&o); err != nil {
			return nil, 0, err
		}
		if o.IsDARating() && o.SubjectID == k.ID {
			ratings = append(ratings, o)
		}
	}
	// The draw is per officer: the case's officer's cases are its pool.
	all, err := s.comp.Input(ctx, actor, k.OfficerID)
	if err != nil {
		return nil, 0, err
	}
	in := all
	rep := compliance.RiskAssessmentQA(in, compliance.QAInput{Ratings: ratings, Pool: all.Cases}, f.period(), f.AsOf)
	var row *compliance.QACase
	for i := range rep.Cases {
		if rep.Cases[i].CaseID == k.ID {
			row = &rep.Cases[i]
		}
	}
	eligible := slices.Contains(rep.Totals.Eligible.CaseIDs, k.ID)
	if !eligible && len(ratings) == 0 {
		return nil, fiber.StatusOK, nil
	}
	v := &caseQAView{}
	period := ukDate(f.From) + " to " + ukDate(f.To)
	switch {
	case row != nil && row.Sampled:
		v.About = fmt.Sprintf("In the QA sample %s (period %s): number %d in the draw of the officer's domestic-abuse cases; the sample takes the first %d.",
			rep.Seed, period, row.Draw, rep.PerOfficer)
	case eligible:
		draw := 0
		if row != nil {
			draw = row.Draw
		}
		v.About = fmt.Sprintf("Not in the QA sample %s (period %s)%s. You may still rate it: the rating is kept, and counted apart from the figure.",
			rep.Seed, period, map[bool]string{true: fmt.Sprintf(": number %d in the draw of the officer's domestic-abuse cases; the sample takes the first %d", draw, rep.PerOfficer), false: ""}[draw > 0])
	default:
		v.About = fmt.Sprintf("Not a domestic-abuse case of the period %s, so not in the QA sample. Its earlier ratings are below.", period)
	}
	if row != nil && row.Rating != "" {
		v.About += fmt.Sprintf(" Counted for this period: %s.", label(row.Rating))
	} else if eligible {
		v.About += " Not rated in this period yet."
	}
	slices.SortStableFunc(ratings, func(a, b schema.Oversight) int { return cmp.Compare(a.At, b.At) })
	for _, o := range ratings {
		line := label(o.Decision) + " by " + cf.name(o.By) + ", " + shortTime(string(o.At))
		if o.Reason != "" {
			line += ": " + o.Reason
		}
		v.Earlier = append(v.Earlier, line)
	}
	status := fiber.StatusOK
	if !canDecide(&sess.user) || !eligible {
		return v, status, nil
	}
	if d, ok := c.Locals(qaFormLocal).(*decisionForm); ok {
		v.Form, status = d, fiber.StatusUnprocessableEntity
	} else {
		v.Form = newQAForm(k.ID, f.Link(dashPrefix+"/cases/"+k.ID+"/qa-rating"), dashNext(c.OriginalURL()), sess.csrf)
	}
	return v, status, nil
}

// POST /dashboard/cases/:id/qa-rating: record the rating (CSRF checked by
// dashAuth). A refusal writes nothing and shows the case page again with
// the message next to its field.
func (s *site) dashQARate(c *fiber.Ctx) error {
	sess := dashSessionOf(c)
	actor := sess.actor()
	form, err := dashForm(c)
	if err != nil {
		return err
	}
	id := c.Params("id")
	d := newQAForm(id, c.OriginalURL(), dashNext(cmp.Or(form.Get("next"), dashPrefix+"/cases/"+id)), sess.csrf)
	d.Decision, d.Reason = form.Get("decision"), form.Get("reason")
	if d.Decision == "" {
		d.fail("decision", "Choose a rating.")
	} else if !slices.ContainsFunc(d.Options, func(o option) bool { return o.Value == d.Decision }) {
		d.fail("decision", "Choose one of the ratings listed.")
	}
	if len(d.Errors) == 0 {
		_, err := s.db.Oversee(c.UserContext(), actor, serverdb.OversightInput{SubjectEntity: "case", SubjectID: id,
			Aspect: schema.AspectDARiskAssessment, Decision: d.Decision, Reason: d.Reason})
		if e := schema.AsError(err); e != nil && (e.Field == "reason" || e.Field == "decision") {
			if e.Code == schema.ECodeRequired && e.Field == "reason" {
				d.fail("reason", "Give a reason: say what the risk analysis is missing.")
			} else if e.Field == "reason" {
				d.fail("reason", "The reason is too long: write at most 1900 characters.")
			} else {
				d.fail("decision", sentence(e.Message))
			}
		} else if err != nil {
			return err // not found (another team's case), forbidden: the error page
		}
	}
	if len(d.Errors) > 0 {
		c.Locals(qaFormLocal, d)
		return s.reportJob(s.dashCase)(c)
	}
	return flashTo(c, "Risk analysis rated "+label(d.Decision)+".", d.Next)
}
