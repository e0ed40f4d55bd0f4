package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Small charts drawn on the server as inline SVG: no script, no library,
// nothing fetched. Colour only repeats what the text says: every chart has
// a text alternative (aria-label and a <title> per bar), and the figures
// are in the page's tables too.

// point is one bar of a chart: a label and a value (nil: nothing to show,
// e.g. a percentage of no cases).
type point struct {
	Label string
	Value *float64
	Note  string // said in the bar's title, e.g. "3 of 4"
}

const (
	chartInk  = "#0b0c0c"
	chartBar  = "#1d70b8"
	chartGrid = "#b1b4b6"
)

func fmtValue(v float64, percent bool) string {
	if percent {
		return fmt.Sprintf("%.1f%%", v)
	}
	return fmt.Sprintf("%g", v)
}

func chartMax(pts []point, percent bool) float64 {
	if percent {
		return 100
	}
	m := 0.0
	for _, p := range pts {
		if p.Value != nil {
			m = math.Max(m, *p.Value)
		}
	}
	if m == 0 {
		return 1
	}
	return m
}

// trendChart draws one vertical bar per week, oldest on the left.
func trendChart(title string, pts []point, percent bool) template.HTML {
	const w, h, left, bottom, top = 320.0, 120.0, 36.0, 18.0, 8.0
	var b strings.Builder
	var alt []string
	for _, p := range pts {
		v := "no figure"
		if p.Value != nil {
			v = fmtValue(*p.Value, percent)
		}
		alt = append(alt, p.Label+": "+v)
	}
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="%s">`, w, h, template.HTMLEscapeString(title+". "+strings.Join(alt, "; ")))
	mx := chartMax(pts, percent)
	plotH := h - bottom - top
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s"/>`, left, h-bottom, w, h-bottom, chartInk)
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-dasharray="2 3"/>`, left, top, w, top, chartGrid)
	maxLabel := fmt.Sprintf("%g", mx)
	if percent {
		maxLabel = "100%"
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" text-anchor="end" fill="%s">%s</text>`, left-3, top+4, chartInk, maxLabel)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" text-anchor="end" fill="%s">0</text>`, left-3, h-bottom+3, chartInk)
	if n := len(pts); n > 0 {
		slot := (w - left) / float64(n)
		bw := math.Max(1, slot*0.7)
		for i, p := range pts {
			x := left + float64(i)*slot + (slot-bw)/2
			tip := p.Label + ": no figure"
			if p.Value != nil {
				tip = p.Label + ": " + fmtValue(*p.Value, percent)
			}
			if p.Note != "" {
				tip += " (" + p.Note + ")"
			}
			if p.Value == nil {
				fmt.Fprintf(&b, `<g><title>%s</title><line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s"/></g>`,
					template.HTMLEscapeString(tip), x, h-bottom-2, x+bw, h-bottom-2, chartGrid)
				continue
			}
			bh := math.Max(1, *p.Value/mx*plotH)
			fmt.Fprintf(&b, `<g><title>%s</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/></g>`,
				template.HTMLEscapeString(tip), x, h-bottom-bh, bw, bh, chartBar)
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="%s">%s</text>`, left, h-4, chartInk, template.HTMLEscapeString(pts[0].Label))
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" text-anchor="end" fill="%s">%s</text>`, w, h-4, chartInk, template.HTMLEscapeString(pts[n-1].Label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// barsChart draws one horizontal bar per officer, labelled with the name
// and the value.
func barsChart(title string, pts []point, percent bool) template.HTML {
	const w, row, labelW, valueW = 320.0, 18.0, 110.0, 52.0
	h := math.Max(row, row*float64(len(pts))) + 4
	var b strings.Builder
	var alt []string
	for _, p := range pts {
		v := "no figure"
		if p.Value != nil {
			v = fmtValue(*p.Value, percent)
		}
		alt = append(alt, p.Label+": "+v)
	}
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="%s">`, w, h, template.HTMLEscapeString(title+". "+strings.Join(alt, "; ")))
	mx := chartMax(pts, percent)
	plotW := w - labelW - valueW
	for i, p := range pts {
		y := float64(i)*row + 2
		name := p.Label
		if r := []rune(name); len(r) > 18 {
			name = string(r[:17]) + "…"
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" text-anchor="end" fill="%s">%s</text>`, labelW-4, y+12, chartInk, template.HTMLEscapeString(name))
		v := "–"
		if p.Value != nil {
			v = fmtValue(*p.Value, percent)
			bw := math.Max(1, *p.Value/mx*plotW)
			fmt.Fprintf(&b, `<g><title>%s</title><rect x="%g" y="%g" width="%.1f" height="%g" fill="%s"/></g>`,
				template.HTMLEscapeString(p.Label+": "+v+ifNote(p.Note)), labelW, y+2, bw, row-5, chartBar)
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" text-anchor="end" fill="%s">%s</text>`, w, y+12, chartInk, v)
	}
	if len(pts) == 0 {
		fmt.Fprintf(&b, `<text x="0" y="13" font-size="11" fill="%s">No officers</text>`, chartInk)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func ifNote(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}
