package dashboard

import (
	"fmt"

	"doorstep/schema"
	"doorstep/server/compliance"
)

// Measure 7 on the dashboard: flags and RoSH assessments reviewed by
// their due date. The headline is the share in date of those that were
// due (in date, or overdue); the weekly trend is the flags' share as each
// week ended.
func init() {
	registerPanel(&panel{Order: 7, Slug: "reviews", Title: "Flags and risk reviewed on time",
		About:  fmt.Sprintf("Live flags and each case's RoSH assessment (due for review every %d months): in date on the as-of day, of those whose review had come due.", compliance.RoSHReviewMonths),
		Build:  buildReviews,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.ReviewsReport] { return o.Reviews }, reviewsView, func(r *compliance.ReviewsReport) *compliance.Headline { return r.Headline })})
}

func buildReviews(pc *panelCtx) *panelView {
	rep := compliance.Reviews(pc.In, pc.F.period(), pc.F.AsOf)
	v := reviewsView(pc, rep, rep.CaseIDs())
	if pc.noTables {
		return v // the page shows no table
	}
	tb := &table{ID: "reviews", Caption: "Flags and RoSH assessments", Empty: "No flag or RoSH assessment passes the filters.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "what", Label: "Flag or RoSH"},
			{Key: "since", Label: "Since"}, {Key: "last", Label: "Last reviewed"}, {Key: "due", Label: "Review due"},
			{Key: "status", Label: "Status"}, {Key: "days", Label: "Days overdue", Num: true}}}
	for _, it := range rep.Items {
		what := label(it.Kind)
		if it.Kind == "rosh" {
			what = "RoSH"
		}
		if it.Level != "" {
			what += " (" + label(it.Level) + ")"
		}
		st := txt(label(it.Status))
		if it.Status == compliance.ReviewOverdue {
			st.Mark = "bad"
		}
		tb.Rows = append(tb.Rows, []cell{link(it.CRN, pc.caseHref(it.CaseID)), link(it.OfficerName, pc.officerHref(it.OfficerID)),
			txt(what), day(it.StartDate), day(it.LastReviewed), day(it.DueOn), st, num(it.DaysOverdue)})
	}
	v.Table = tb
	return v
}

// reviewsView is the panel but its table: rep's figures, the weekly
// trend, each officer's bar; caseIDs are the cases behind it.
func reviewsView(pc *panelCtx, rep *compliance.ReviewsReport, caseIDs []string) *panelView {
	t := rep.Totals
	fig := func(lbl string, s compliance.RecordShare) figure {
		return figure{Label: lbl, Num: s.Numerator.N, Den: s.Denominator.N, Percent: s.Percent}
	}
	v := &panelView{Percent: true, CaseIDs: caseIDs,
		Figures: []figure{fig("flags in date", t.Flags.OnTime), fig("domestic-abuse flags in date", t.DAFlags.OnTime), fig("RoSH in date", t.RoSH.OnTime)},
		Apart: []apart{{"flags overdue", t.Flags.Overdue.N}, {"RoSH overdue", t.RoSH.Overdue.N},
			{"flags with no review date", t.Flags.NoDate.N}, {"RoSH with no date", t.RoSH.NoDate.N},
			{"not yet due", t.Flags.NotYetDue.N + t.RoSH.NotYetDue.N}, {"changed after the as-of day", t.Flags.AfterAsOf.N + t.RoSH.AfterAsOf.N},
			{"most days overdue", max(t.Flags.MaxDaysOverdue, t.RoSH.MaxDaysOverdue)}},
		TrendTitle: "Percent of flags in date at the end of each week",
		BarsTitle:  "Percent of flags in date, by officer",
		ByOfficer:  map[string]cell{},
	}
	if pts, ok := pc.share("reviews"); ok {
		v.Trend = pts // from the read model (a counted page's panelCounts.shares)
	} else if pc.Weekly {
		// Each week is compliance.Reviews(pc.In, w, w.To)'s flags in date,
		// computed for all the weeks in one pass.
		weeks := pc.F.weeks()
		ends := make([]schema.Date, len(weeks))
		for i, w := range weeks {
			ends[i] = w.To
		}
		for i, s := range compliance.ReviewsFlagsOnTime(pc.In, ends) {
			v.Trend = append(v.Trend, share(weekLabel(weeks[i]), s.Num, s.Den, s.Percent))
		}
	}
	for _, o := range rep.Officers {
		s := o.F.Flags.OnTime
		v.officerShare(o.Name, o.ID, s.Numerator.N, s.Denominator.N, s.Percent)
	}
	return v
}
