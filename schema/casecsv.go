package schema

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// CaseCSVColumns are the columns of a cases file (docs/import.md), in the
// order the example file uses. A file may order them as it likes, but must
// have every one and no other.
var CaseCSVColumns = []string{
	"crn", "given_name", "family_name", "date_of_birth", "address", "no_fixed_abode",
	"sentence_type", "supervision_start", "rosh", "rosh_date", "mappa_category", "mappa_level",
	"officer_username", "team", "flags",
}

// CaseRow is one valid row of a cases file. Case.ID, CaseID, OfficerID and
// TeamID are left empty: the server store makes the ids and resolves
// OfficerUsername and TeamName, which it alone can check.
type CaseRow struct {
	Line            int // line of the file the row starts on (the header is line 1)
	Case            Case
	OfficerUsername string
	TeamName        string
	Flags           []string // flag types, each unique, in file order
}

// NewFlags returns the flags the row asks for, each starting when the
// supervision starts. Their ids and case ids are left for the store to set.
func (r CaseRow) NewFlags() []Flag {
	out := make([]Flag, 0, len(r.Flags))
	for _, t := range r.Flags {
		out = append(out, Flag{Type: t, StartDate: r.Case.SupervisionStart})
	}
	return out
}

// ImportProblem is one thing wrong with an import file. Field is the column
// at fault, or empty when the whole line is.
type ImportProblem struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ImportError lists every problem found in an import file, so that a person
// can fix them all in one pass. An import with problems imports nothing.
type ImportError struct {
	Problems []ImportProblem `json:"problems"`
}

// importErrorShown bounds Error's text; Problems keeps every one.
const importErrorShown = 100

func (e *ImportError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i == importErrorShown {
			fmt.Fprintf(&b, "... and %d more problems", len(e.Problems)-i)
			break
		}
		if p.Field != "" {
			fmt.Fprintf(&b, "line %d, field %s: %s", p.Line, p.Field, p.Message)
		} else {
			fmt.Fprintf(&b, "line %d: %s", p.Line, p.Message)
		}
	}
	return b.String()
}

// Unwrap lets ErrorCode and AsError see an import error as bad input
// (ECodeInvalid), so an HTTP edge answers 400 without knowing this type.
func (e *ImportError) Unwrap() error {
	return Errorf(ECodeInvalid, "", "the file has %d problem(s); nothing was imported", len(e.Problems))
}

func (e *ImportError) add(line int, field, format string, args ...any) {
	e.Problems = append(e.Problems, ImportProblem{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// ParseCasesCSV reads a cases file: a header row naming the columns of
// CaseCSVColumns, then one case per row (docs/import.md). Every row is
// checked against the schema; if any is bad the answer is an *ImportError
// listing every problem in the file, and no rows. Blank rows are skipped.
func ParseCasesCSV(r io.Reader) ([]CaseRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // row lengths are checked here, so one short row does not hide the rest
	cr.ReuseRecord = false
	ie := &ImportError{}

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		ie.add(1, "", "the file is empty; the first line must be the header: %s", strings.Join(CaseCSVColumns, ","))
		return nil, ie
	}
	if err != nil {
		return nil, csvReadError(err)
	}
	col, ok := caseCSVHeader(header, ie)
	if !ok {
		return nil, ie
	}

	var rows []CaseRow
	firstLine := map[string]int{} // CRN -> line it first appears on
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A quoting error leaves the reader unable to find the next row
			// reliably: report it with what came before.
			pe := csvReadError(err)
			ie.Problems = append(ie.Problems, pe.Problems...)
			break
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue
		}
		if len(rec) != len(header) {
			ie.add(line, "", "the row has %d columns; the header has %d", len(rec), len(header))
			continue
		}
		row, ok := parseCaseRow(line, rec, col, ie)
		if !ok {
			continue
		}
		if first, dup := firstLine[row.Case.CRN]; dup {
			ie.add(line, "crn", "crn %s is also on line %d; each case must appear once", row.Case.CRN, first)
			continue
		}
		firstLine[row.Case.CRN] = line
		rows = append(rows, row)
	}
	if len(ie.Problems) > 0 {
		sort.SliceStable(ie.Problems, func(i, j int) bool { return ie.Problems[i].Line < ie.Problems[j].Line })
		return nil, ie
	}
	return rows, nil
}

func csvReadError(err error) *ImportError {
	ie := &ImportError{}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		ie.add(pe.Line, "", "the CSV is malformed: %v", pe.Err)
	} else {
		ie.add(0, "", "reading the file: %v", err)
	}
	return ie
}

// caseCSVHeader maps each column name to its index, reporting unknown,
// repeated and missing columns.
func caseCSVHeader(header []string, ie *ImportError) (map[string]int, bool) {
	known := map[string]bool{}
	for _, c := range CaseCSVColumns {
		known[c] = true
	}
	col := map[string]int{}
	var unknown, repeated, missing []string
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case !known[name]:
			unknown = append(unknown, fmt.Sprintf("%q", h))
		case hasKey(col, name):
			repeated = append(repeated, name)
		default:
			col[name] = i
		}
	}
	for _, c := range CaseCSVColumns {
		if !hasKey(col, c) {
			missing = append(missing, c)
		}
	}
	if len(unknown) > 0 {
		ie.add(1, "", "unknown column(s) %s; the columns are %s", strings.Join(unknown, ", "), strings.Join(CaseCSVColumns, ","))
	}
	if len(repeated) > 0 {
		ie.add(1, "", "column(s) %s appear more than once", strings.Join(repeated, ", "))
	}
	if len(missing) > 0 {
		ie.add(1, "", "missing column(s) %s", strings.Join(missing, ", "))
	}
	return col, len(ie.Problems) == 0
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

func blankRecord(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// enumLike turns spreadsheet spellings ("Very High", "community-order") into
// the schema's ("very_high", "community_order").
func enumLike(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(s)
}

// parseCaseRow builds and checks one row; it reports every problem of the
// row, not just the first.
func parseCaseRow(line int, rec []string, col map[string]int, ie *ImportError) (CaseRow, bool) {
	get := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
	before := len(ie.Problems)

	c := Case{
		CRN:              strings.ToUpper(get("crn")),
		GivenName:        get("given_name"),
		FamilyName:       get("family_name"),
		DateOfBirth:      Date(get("date_of_birth")),
		Address:          get("address"),
		SentenceType:     enumLike(get("sentence_type")),
		SupervisionStart: Date(get("supervision_start")),
		RoSH:             enumLike(get("rosh")),
		RoSHDate:         Date(get("rosh_date")),
		MAPPACategory:    get("mappa_category"),
		MAPPALevel:       get("mappa_level"),
	}
	switch strings.ToLower(get("no_fixed_abode")) {
	case "", "false":
	case "true":
		c.NoFixedAbode = true
	default:
		ie.add(line, "no_fixed_abode", "no_fixed_abode must be true, false or empty, not %q", get("no_fixed_abode"))
	}

	// The schema checks each field on its own, so every bad field is named.
	spec, _ := Entity("case")
	fields := FieldsOf(c)
	delete(fields, "officer_id") // resolved by the store from officer_username
	delete(fields, "team_id")    // resolved by the store from team
	bad := map[string]bool{}
	for _, name := range spec.Order {
		raw, ok := fields[name]
		if !ok {
			continue
		}
		if spec.Fields[name].Required && isEmpty(raw) {
			ie.add(line, name, "%s is required", name)
			bad[name] = true
			continue
		}
		if err := spec.ValidateFields(map[string]json.RawMessage{name: raw}); err != nil {
			ie.add(line, name, "%s", problemMessage(err))
			bad[name] = true
		}
	}
	if err := c.Validate(); err != nil {
		if e := AsError(err); e == nil || !bad[e.Field] {
			ie.add(line, errField(err), "%s", problemMessage(err))
		}
	}

	row := CaseRow{Line: line, Case: c, OfficerUsername: get("officer_username"), TeamName: get("team")}
	switch {
	case row.OfficerUsername == "":
		ie.add(line, "officer_username", "officer_username is required: the username of the officer the case is allocated to")
	case !usernameRE.MatchString(row.OfficerUsername):
		ie.add(line, "officer_username", "officer_username %q is not a username (lower-case letters, digits, '.', '_' or '-')", row.OfficerUsername)
	}
	if row.TeamName == "" {
		ie.add(line, "team", "team is required: the name of the case's team")
	}

	flagSpec, _ := Entity("flag")
	seen := map[string]bool{}
	for _, part := range strings.Split(get("flags"), ";") {
		t := enumLike(part)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		raw, _ := json.Marshal(t)
		if err := flagSpec.ValidateFields(map[string]json.RawMessage{"type": raw}); err != nil {
			ie.add(line, "flags", "flag %q is not a flag type; use %s", strings.TrimSpace(part), strings.Join(flagSpec.Fields["type"].Enum, ", "))
			continue
		}
		row.Flags = append(row.Flags, t)
	}
	return row, len(ie.Problems) == before
}

func problemMessage(err error) string {
	if e := AsError(err); e != nil {
		return e.Message
	}
	return err.Error()
}

func errField(err error) string {
	if e := AsError(err); e != nil {
		return e.Field
	}
	return ""
}

// CSVSafe guards a cell against formula injection: a spreadsheet runs a
// cell that starts with = + - @ (or a tab or carriage return) as a
// formula, so such a cell gets a leading quote. Plain numbers ("-3",
// "12.5") are left as they are.
func CSVSafe(s string) string {
	if s == "" || !strings.ContainsAny(s[:1], "=+-@\t\r") {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}
