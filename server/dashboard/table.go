package dashboard

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"

	"doorstep/schema"

	"github.com/gofiber/fiber/v2"
)

// table is a sortable table of a dashboard page, and its CSV: the same
// rows with the same filters and order.
type table struct {
	ID      string // unique on its page; the "table" of its CSV link
	Caption string
	Columns []column
	Rows    [][]cell
	Empty   string // said when there are no rows

	// Set by prepare.
	sortCol  int
	sortDesc bool
	Headers  []header
	CSV      string
}

type column struct {
	Key, Label string
	Num        bool // numbers: sorted numerically and right-aligned
}

type cell struct {
	Text string
	Href string  // a link, for drill-down
	Num  float64 // the sort key of a Num column
	Null bool    // a Num column with no value ("–"), sorted last
	Mark string  // an extra class (e.g. "bad")
	// Check, when set, makes the cell a tick box of the page's bulk form
	// (id "bulk") with this value (name "id").
	Check string
	// Key, when set, sorts a text column in its place: a date's stored
	// form, which sorts as the days do where "4 December 2026" would not.
	Key string
}

func txt(s string) cell { return cell{Text: s} }

// day is a date in words ("4 December 2026"), sorted as a date; empty
// for none.
func day(d schema.Date) cell { return cell{Text: ukDate(d), Key: string(d), Mark: dayMark(d)} }

// dayLink is a date in words that links to href.
func dayLink(d schema.Date, href string) cell { c := day(d); c.Href = href; return c }

// dayMark keeps a date on one line.
func dayMark(d schema.Date) string {
	if d == "" {
		return ""
	}
	return "nowrap"
}

// sortKey is what a text column sorts a cell by.
func (c cell) sortKey() string {
	if c.Key != "" {
		return c.Key
	}
	return strings.ToLower(c.Text)
}
func link(s, href string) cell        { return cell{Text: s, Href: href} }
func num(n int) cell                  { return cell{Text: strconv.Itoa(n), Num: float64(n)} }
func numLink(n int, href string) cell { c := num(n); c.Href = href; return c }
func pctCell(p *float64) cell {
	if p == nil {
		return cell{Text: "–", Null: true}
	}
	return cell{Text: strconv.FormatFloat(*p, 'f', 1, 64) + "%", Num: *p}
}

// header is a column's heading with its sort link and aria-sort.
type header struct {
	Label, Href, AriaSort, Arrow string
	Num                          bool
}

// prepare sorts t by the page's sort (when it names one of t's columns)
// and makes its headers' links, which keep the filters.
func (t *table) prepare(f *filters, path string) {
	for _, r := range t.Rows {
		for i := range r {
			if isDay(r[i].Text) && r[i].Mark == "" {
				r[i].Mark = "nowrap" // a date never breaks at its hyphens
			}
		}
	}
	t.sortCol = -1
	if tid, col, ok := strings.Cut(f.Sort, "."); ok && tid == t.ID {
		for i, c := range t.Columns {
			if c.Key == col {
				t.sortCol, t.sortDesc = i, f.Dir == "desc"
			}
		}
	}
	if t.sortCol >= 0 {
		i, num := t.sortCol, t.Columns[t.sortCol].Num
		slices.SortStableFunc(t.Rows, func(a, b []cell) int {
			var r int
			switch {
			case num && a[i].Null != b[i].Null:
				if a[i].Null {
					return 1 // no value last, either way
				}
				return -1
			case num:
				r = cmp.Compare(a[i].Num, b[i].Num)
			default:
				r = cmp.Compare(a[i].sortKey(), b[i].sortKey())
			}
			if t.sortDesc {
				r = -r
			}
			return r
		})
	}
	t.Headers = make([]header, len(t.Columns))
	for i, c := range t.Columns {
		h := header{Label: c.Label, Num: c.Num, AriaSort: "none"}
		dir := "asc"
		if i == t.sortCol {
			h.AriaSort, h.Arrow = "ascending", "▲"
			if t.sortDesc {
				h.AriaSort, h.Arrow = "descending", "▼"
			} else {
				dir = "desc"
			}
		}
		h.Href = f.linkWith(path, "sort", t.ID+"."+c.Key, "dir", dir) + "#" + t.ID
		t.Headers[i] = h
	}
	t.CSV = f.linkWith(path+".csv", "table", t.ID, "sort", f.Sort, "dir", f.Dir)
}

// checkSort refuses a sort that names no column of the page's tables.
func checkSort(f *filters, tables ...*table) error {
	if f.Sort == "" {
		return nil
	}
	tid, col, _ := strings.Cut(f.Sort, ".")
	for _, t := range tables {
		if t.ID == tid {
			for _, c := range t.Columns {
				if c.Key == col {
					return nil
				}
			}
		}
	}
	return schema.Errorf(schema.ECodeInvalid, "sort", "sort must name a column of this page's tables, like %s.%s, not %q", tables[0].ID, tables[0].Columns[0].Key, f.Sort)
}

// csvSafe guards a cell against formula injection (schema.CSVSafe).
func csvSafe(s string) string { return schema.CSVSafe(s) }

// sendCSV answers table id of the page as a CSV attachment named name.
func sendCSV(c *fiber.Ctx, name string, tables ...*table) error {
	id := c.Query("table")
	if id == "" && len(tables) == 1 {
		id = tables[0].ID
	}
	for _, t := range tables {
		if t.ID != id {
			continue
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		row := make([]string, len(t.Columns))
		for i, col := range t.Columns {
			row[i] = csvSafe(col.Label)
		}
		w.Write(row)
		for _, r := range t.Rows {
			for i, x := range r {
				row[i] = csvSafe(x.Text)
				if x.Null {
					row[i] = ""
				}
			}
			w.Write(row)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+"-"+t.ID+`.csv"`)
		return c.Send(buf.Bytes())
	}
	ids := make([]string, len(tables))
	for i, t := range tables {
		ids[i] = t.ID
	}
	return schema.Errorf(schema.ECodeInvalid, "table", "table must be one of %s, not %q", strings.Join(ids, ", "), id)
}

// tables prepares every table of a page, or answers the CSV one when the
// request asked for it (done reports that the answer is sent).
func tablesOrCSV(c *fiber.Ctx, f *filters, path, name string, tables ...*table) (done bool, err error) {
	if err := checkSort(f, tables...); err != nil {
		return true, err
	}
	for _, t := range tables {
		t.prepare(f, path)
	}
	if wantsCSV(c) {
		return true, sendCSV(c, name, tables...)
	}
	return false, nil
}

// isDay reports whether s starts with a YYYY-MM-DD date.
func isDay(s string) bool {
	if len(s) < 10 {
		return false
	}
	for i := 0; i < 10; i++ {
		if (i == 4 || i == 7) != (s[i] == '-') || (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
			return false
		}
	}
	return true
}
