package serverdb

import (
	"context"
	"fmt"
	"strings"

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
	q.add(` FROM rm_visits v JOIN rm_cases c ON c.case_id = v.case_id
		WHERE v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> '' AND v.started_day >= ? AND v.started_day <= ?
		AND v.started_day <= ?`, string(f.From), string(f.To), string(f.AsOf))
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

// contactRows: measure 3's figure f.Figure, one row per contact.
func contactRows(q *sqlb, actor Actor, f FigureQuery) error {
	if err := periodDates(f); err != nil {
		return err
	}
	q.add(`SELECT v.case_id, c.team_id, c.officer_id, 0 AS x, 0 AS wk`)
	q.contactVisits(f)
	name := f.Figure
	if rest, ok := strings.CutPrefix(name, "domestic_abuse."); ok {
		q.add(` AND EXISTS (SELECT 1 FROM rm_flags g WHERE g.case_id = v.case_id AND g.type IN ('da_perpetrator', 'da_victim')
			AND (g.start_date = '' OR g.start_date <= v.started_day) AND (g.ended_on = '' OR g.ended_on > v.started_day))`)
		name = rest
	}
	completed, attempt := ` AND v.outcome = 'completed'`, ` AND v.outcome <> 'completed'`
	switch {
	case name == "contacts":
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
		q.add(attempt + ` AND v.outcome NOT IN ('` + strings.Join(contactAttemptOutcomes, "', '") + `')`)
	case strings.HasPrefix(name, "attempt_outcomes."):
		q.add(attempt+` AND v.outcome = ?`, strings.TrimPrefix(name, "attempt_outcomes."))
	default:
		return fmt.Errorf("measure %s: figure %q has no query", f.Measure, f.Figure)
	}
	return q.scoped(actor, "c", f)
}

// channel adds the condition that contact v was of channel (one of
// contactChannelFigures).
func (q *sqlb) channel(channel string) {
	switch {
	case channel == "face_to_face":
		q.add(` AND v.channel IN (?, ?, ?)`, schema.ChannelHome, schema.ChannelDoorstep, schema.ChannelElsewhere)
	case strings.HasPrefix(channel, "elsewhere_by_place."):
		q.add(` AND v.channel = ? AND v.place = ?`, schema.ChannelElsewhere, strings.TrimPrefix(channel, "elsewhere_by_place."))
	default:
		q.add(` AND v.channel = ?`, channel)
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
	q := &sqlb{}
	q.add(`SELECT v.visit_id, v.case_id, c.team_id, c.officer_id, v.place, v.elsewhere_reason`)
	q.contactVisits(fq)
	q.add(` AND v.channel = ?`, schema.ChannelElsewhere)
	if err := q.scoped(actor, "c", fq); err != nil {
		return nil, err
	}
	q.add(` ORDER BY v.visit_id`)
	rs, err := f.q.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("contacts elsewhere: %w", err)
	}
	defer rs.Close()
	var out []ElsewhereContact
	for rs.Next() {
		var e ElsewhereContact
		if err := rs.Scan(&e.VisitID, &e.CaseID, &e.TeamID, &e.OfficerID, &e.Place, &e.Reason); err != nil {
			return nil, fmt.Errorf("contacts elsewhere: %w", err)
		}
		out = append(out, e)
	}
	return out, rs.Err()
}
