package compliance

import (
	"context"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// The dashboard overview's counted panels from one snapshot (decision
// 0072): the five *Counts reports the overview builds its panels of
// measures 1, 4, 6, 7 and the exemptions from (decision 0065), and their
// weekly trends, read on one snapshot of the read model with the names
// read once, one after the other, where each report and each trend took a
// snapshot of its own. The figures are the *Counts reports' (with the
// page's team filter too) and WeeklyShare's, statement for statement
// (held by the dashboard's TestCountedPanelsMatchTheGo).

// Counted is a report from the read model and the cases it covers (for
// the audit).
type Counted[R any] struct {
	Report R
	Cases  []string
}

// Overview is what the overview's counted panels show.
type Overview struct {
	FirstVisits   Counted[*FirstVisitReport]
	Enquiries     Counted[*EnquiriesReport]
	Interventions Counted[*InterventionsReport]
	Reviews       Counted[*ReviewsReport]
	Exemptions    Counted[*ExemptionsReport]
	Overdue       Counted[*OverduePanel]    // measure 2 (decision 0075)
	Workload      Counted[*WorkloadPanel]   // measure 8 (decision 0075)
	Contacts      Counted[*ContactsPanel]   // measure 3 (decision 0075)
	Households    Counted[*HouseholdsPanel] // measure 5 (decision 0075)
	QA            Counted[*QAPanel]         // measure 10 (decision 0075)
	// Caseload is the cases of the scope and narrowing by officer (the
	// officers' table's count).
	Caseload map[string]int
	// Cases are the cases of the scope and narrowing, by id, each with its
	// officer: the page's cases (measure 9 filters its visits by them).
	Cases map[string]string
	// Weeks are, by the measure's slug (WeeklyShares), its share for each
	// of the weeks asked for, as WeeklyShare gives it; nil without weeks.
	Weeks map[string][]Figure
}

// OverviewCounts is the overview's counted panels for the cases of
// narrow's officer and team (each when set) in the actor's scope, over
// period as of asOf, with each share's weekly trend over weeks (none when
// weeks is empty) and the cases by officer, all on one snapshot: FirstVisitCounts,
// EnquiriesCounts, InterventionsCounts, ReviewsCounts, ExemptionsCounts
// (with narrow's team too) and WeeklyShare, each what it gives alone.
func (s *Service) OverviewCounts(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date, weeks []Period) (*Overview, error) {
	ov := &Overview{}
	err := s.readFigures(ctx, func(ctx context.Context, fs serverdb.Figures) error {
		var err error
		o, t := narrow.OfficerID, narrow.TeamID
		if ov.FirstVisits, err = counted(s.firstVisitCounts(ctx, fs, actor, o, t, period, asOf)); err != nil {
			return err
		}
		if ov.Enquiries, err = counted(s.enquiriesCounts(ctx, fs, actor, o, t, period, asOf)); err != nil {
			return err
		}
		if ov.Interventions, err = counted(s.interventionsCounts(ctx, fs, actor, o, t, period, asOf)); err != nil {
			return err
		}
		if ov.Reviews, err = counted(s.reviewsCounts(ctx, fs, actor, o, t, period, asOf)); err != nil {
			return err
		}
		if ov.Exemptions, err = counted(s.exemptionsCounts(ctx, fs, actor, o, t, period, asOf)); err != nil {
			return err
		}
		if ov.Overdue, err = counted(s.overduePanel(ctx, fs, actor, o, t, period, asOf, weeks)); err != nil {
			return err
		}
		if ov.Workload, err = counted(s.workloadPanel(ctx, fs, actor, o, t, period, asOf, weeks)); err != nil {
			return err
		}
		if ov.Contacts, err = counted(s.contactsPanel(ctx, fs, actor, o, t, period, asOf, weeks)); err != nil {
			return err
		}
		if ov.Households, err = counted(s.householdsPanel(ctx, fs, actor, o, t, period, asOf, weeks)); err != nil {
			return err
		}
		if ov.QA, err = counted(s.qaPanel(ctx, fs, actor, o, t, period, asOf, weeks)); err != nil {
			return err
		}
		if ov.Cases, err = fs.ScopeCases(ctx, actor, serverdb.FigureQuery{OfficerID: o, TeamID: t}); err != nil {
			return err
		}
		ov.Caseload = map[string]int{}
		for _, officer := range ov.Cases {
			ov.Caseload[officer]++
		}
		if len(weeks) == 0 {
			return nil
		}
		ov.Weeks = map[string][]Figure{}
		for _, slug := range WeeklyShares() {
			if ov.Weeks[slug], err = s.weeklyShare(ctx, fs, actor, slug, o, t, weeks, asOf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ov, nil
}

func counted[R any](rep R, cases []string, err error) (Counted[R], error) {
	return Counted[R]{Report: rep, Cases: cases}, err
}
