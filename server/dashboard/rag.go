package dashboard

import (
	"fmt"

	"doorstep/schema/policy"
	"doorstep/server/compliance"
)

// A card's headline in words (docs/supervisor.md, "Targets and the
// previous period"): the status is written, never shown by colour alone.

// ragWords is a headline status in words.
func ragWords(status string) string {
	switch status {
	case policy.StatusRed:
		return "Red"
	case policy.StatusAmber:
		return "Amber"
	case policy.StatusGreen:
		return "Green"
	case policy.StatusTooFew:
		return "Too few to judge"
	}
	return "No status"
}

// targetText is a measure's target and thresholds in words.
func targetText(t *policy.Target) string {
	if t == nil {
		return "No target set"
	}
	if t.LowerIsBetter {
		return fmt.Sprintf("Target: at most %s (red above %s, amber above %s)", pctText(t.Target), pctText(t.Red), pctText(t.Amber))
	}
	return fmt.Sprintf("Target: %s (red below %s, amber below %s)", pctText(t.Target), pctText(t.Red), pctText(t.Amber))
}

func pctText(p float64) string { return fmt.Sprintf("%g%%", p) }

// previousText is the previous period's headline and the change, in
// words.
func previousText(h *compliance.Headline) string {
	p, minDen := h.Previous, h.MinDenominator
	if p == nil {
		return ""
	}
	s := fmt.Sprintf("Previous period (%s to %s): ", ukDate(p.Period.From), ukDate(p.Period.To))
	switch {
	case p.Percent == nil:
		s += "nothing to count"
	case p.Denominator < minDen:
		s += fmt.Sprintf("%d of %d, too few to judge", p.Numerator, p.Denominator)
	default:
		s += fmt.Sprintf("%.1f%% (%d of %d)", *p.Percent, p.Numerator, p.Denominator)
	}
	if h.Change != nil && p.Denominator >= minDen && h.Denominator >= minDen {
		switch c := *h.Change; {
		case c > 0:
			s += fmt.Sprintf("; now up %.1f points", c)
		case c < 0:
			s += fmt.Sprintf("; now down %.1f points", -c)
		default:
			s += "; no change"
		}
	}
	return s
}
