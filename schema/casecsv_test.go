package schema_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"doorstep/schema"
)

const csvHeader = "crn,given_name,family_name,date_of_birth,address,no_fixed_abode,sentence_type,supervision_start,rosh,rosh_date,mappa_category,mappa_level,officer_username,team,flags\n"

// goodRow is a valid row; tests edit one column of it.
var goodRow = map[string]string{
	"crn": "Z100001", "given_name": "Rowan", "family_name": "Quillfeather", "date_of_birth": "1990-04-12",
	"address": "14 Larkspur Row, Quillbury, ZZ1 4QA", "no_fixed_abode": "false",
	"sentence_type": "community_order", "supervision_start": "2026-03-02", "rosh": "high",
	"rosh_date": "2026-02-20", "mappa_category": "", "mappa_level": "",
	"officer_username": "asha.officer", "team": "Quillbury North", "flags": "da_perpetrator;child_concerns",
}

func csvRow(edits map[string]string) string {
	var cells []string
	for _, c := range schema.CaseCSVColumns {
		v := goodRow[c]
		if e, ok := edits[c]; ok {
			v = e
		}
		if strings.ContainsAny(v, ",\"") {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		cells = append(cells, v)
	}
	return strings.Join(cells, ",") + "\n"
}

func TestParseCasesCSVGood(t *testing.T) {
	t.Parallel()
	in := csvHeader + csvRow(nil) +
		",,,,,,,,,,,,,,\n" + // blank rows are skipped
		csvRow(map[string]string{"crn": "z100002", "address": "", "no_fixed_abode": "TRUE", "rosh": "Very High",
			"sentence_type": "Licence", "flags": " ", "mappa_category": "2", "mappa_level": "1"})
	rows, err := schema.ParseCasesCSV(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParseCasesCSV: expected no error, got %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("expected 2 rows, got %d: %+v", len(rows), rows)
	}
	want0 := schema.CaseRow{Line: 2, OfficerUsername: "asha.officer", TeamName: "Quillbury North",
		Flags: []string{"da_perpetrator", "child_concerns"},
		Case: schema.Case{CRN: "Z100001", GivenName: "Rowan", FamilyName: "Quillfeather", DateOfBirth: "1990-04-12",
			Address: "14 Larkspur Row, Quillbury, ZZ1 4QA", SentenceType: "community_order", SupervisionStart: "2026-03-02",
			RoSH: "high", RoSHDate: "2026-02-20"}}
	if !reflect.DeepEqual(rows[0], want0) {
		t.Errorf("row 0:\nexpected %+v\n     got %+v", want0, rows[0])
	}
	r1 := rows[1]
	if r1.Line != 4 || r1.Case.CRN != "Z100002" || !r1.Case.NoFixedAbode || r1.Case.RoSH != "very_high" ||
		r1.Case.SentenceType != "licence" || len(r1.Flags) != 0 || r1.Case.MAPPACategory != "2" {
		t.Errorf("row 1: expected line 4, CRN Z100002, NFA, very_high, licence, no flags, MAPPA 2; got %+v", r1)
	}
	if r1.Case.ID != "" || r1.Case.CaseID != "" || r1.Case.OfficerID != "" || r1.Case.TeamID != "" {
		t.Errorf("expected ids left for the store, got %+v", r1.Case)
	}
	flags := rows[0].NewFlags()
	if len(flags) != 2 || flags[0].Type != "da_perpetrator" || flags[0].StartDate != "2026-03-02" {
		t.Errorf("NewFlags: expected da_perpetrator from 2026-03-02 and child_concerns, got %+v", flags)
	}
}

func TestParseCasesCSVExampleFile(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../docs/examples/cases.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := schema.ParseCasesCSV(f)
	if err != nil {
		t.Fatalf("docs/examples/cases.csv: expected it to import, got:\n%v", err)
	}
	if len(rows) < 5 {
		t.Errorf("docs/examples/cases.csv: expected at least 5 rows, got %d", len(rows))
	}
}

func TestParseCasesCSVBadRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edits map[string]string
		field string // expected field of the one problem, on line 2
		want  string // expected in the message
	}{
		{"missing crn", map[string]string{"crn": ""}, "crn", "crn is required"},
		{"bad crn", map[string]string{"crn": "12345"}, "crn", "letter and six digits"},
		{"crn too long", map[string]string{"crn": "Z1000011"}, "crn", "the most is 7"},
		{"missing given name", map[string]string{"given_name": ""}, "given_name", "given_name is required"},
		{"family name too long", map[string]string{"family_name": strings.Repeat("x", 101)}, "family_name", "the most is 100"},
		{"bad date of birth", map[string]string{"date_of_birth": "12/04/1990"}, "date_of_birth", "must be a date"},
		{"impossible date", map[string]string{"supervision_start": "2026-02-30"}, "supervision_start", "must be a date"},
		{"missing date of birth", map[string]string{"date_of_birth": ""}, "date_of_birth", "required"},
		{"no address", map[string]string{"address": ""}, "address", "no_fixed_abode"},
		{"bad no_fixed_abode", map[string]string{"no_fixed_abode": "yes"}, "no_fixed_abode", "true, false or empty"},
		{"bad sentence type", map[string]string{"sentence_type": "prison"}, "sentence_type", "sentence_type must be one of"},
		{"bad rosh", map[string]string{"rosh": "severe"}, "rosh", `not "severe"`},
		{"missing rosh", map[string]string{"rosh": ""}, "rosh", "rosh is required"},
		{"bad rosh date", map[string]string{"rosh_date": "yesterday"}, "rosh_date", "must be a date"},
		{"bad mappa category", map[string]string{"mappa_category": "5"}, "mappa_category", "mappa_category must be one of"},
		{"bad mappa level", map[string]string{"mappa_level": "4"}, "mappa_level", "mappa_level must be one of"},
		{"missing officer", map[string]string{"officer_username": ""}, "officer_username", "required"},
		{"bad officer", map[string]string{"officer_username": "Asha Officer"}, "officer_username", "not a username"},
		{"missing team", map[string]string{"team": ""}, "team", "team is required"},
		{"unknown flag", map[string]string{"flags": "da_perpetrator;arson"}, "flags", `flag "arson" is not a flag type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := schema.ParseCasesCSV(strings.NewReader(csvHeader + csvRow(tt.edits)))
			if rows != nil {
				t.Errorf("expected no rows with an error, got %d", len(rows))
			}
			var ie *schema.ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("expected *ImportError, got %T %v", err, err)
			}
			if len(ie.Problems) != 1 {
				t.Fatalf("expected 1 problem, got %d:\n%v", len(ie.Problems), err)
			}
			p := ie.Problems[0]
			if p.Line != 2 || p.Field != tt.field || !strings.Contains(p.Message, tt.want) {
				t.Errorf("expected line 2, field %s, message containing %q; got line %d, field %s: %s",
					tt.field, tt.want, p.Line, p.Field, p.Message)
			}
			if wantPrefix := "line 2, field " + tt.field + ": "; !strings.HasPrefix(err.Error(), wantPrefix) {
				t.Errorf("Error(): expected prefix %q, got %q", wantPrefix, err.Error())
			}
			if code := schema.ErrorCode(err); code != schema.ECodeInvalid {
				t.Errorf("ErrorCode: expected %s, got %s", schema.ECodeInvalid, code)
			}
		})
	}
}

func TestParseCasesCSVAllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	in := csvHeader +
		csvRow(nil) + // line 2, good
		csvRow(map[string]string{"crn": "Z100002", "rosh": "severe", "date_of_birth": "1990-13-01", "team": ""}) + // line 3: three problems
		csvRow(map[string]string{"crn": "Z100003"}) + // line 4, good
		csvRow(map[string]string{"crn": "z100001"}) + // line 5: duplicate of line 2 (case-folded)
		"Z100009,Short,Row\n" + // line 6: too few columns
		csvRow(map[string]string{"crn": "Z100004", "flags": "marac;nope"}) // line 7
	rows, err := schema.ParseCasesCSV(strings.NewReader(in))
	if rows != nil {
		t.Errorf("expected no rows, got %d", len(rows))
	}
	var ie *schema.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("expected *ImportError, got %T %v", err, err)
	}
	type lf struct {
		line  int
		field string
	}
	var got []lf
	for _, p := range ie.Problems {
		got = append(got, lf{p.Line, p.Field})
	}
	want := []lf{{3, "date_of_birth"}, {3, "rosh"}, {3, "team"}, {5, "crn"}, {6, ""}, {7, "flags"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\nexpected %v\n     got %v\nerror:\n%v", want, got, err)
	}
	if !strings.Contains(err.Error(), "line 5, field crn: crn Z100001 is also on line 2") {
		t.Errorf("expected the duplicate to name the first line, got:\n%v", err)
	}
	if !strings.Contains(err.Error(), "line 6: the row has 3 columns; the header has 15") {
		t.Errorf("expected the short row reported, got:\n%v", err)
	}
}

func TestParseCasesCSVHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		want   []string // each expected in the error
	}{
		{"empty file", "", []string{"line 1: the file is empty"}},
		{"unknown column", strings.TrimSuffix(csvHeader, "\n") + ",shoe_size\n", []string{`unknown column(s) "shoe_size"`}},
		{"missing columns", strings.Replace(csvHeader, "rosh,rosh_date,", "", 1), []string{"missing column(s) rosh, rosh_date"}},
		{"repeated column", strings.TrimSuffix(csvHeader, "\n") + ",crn\n", []string{"crn appear more than once"}},
		{"unknown and missing", strings.Replace(csvHeader, "team,", "tema,", 1), []string{`unknown column(s) "tema"`, "missing column(s) team"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := schema.ParseCasesCSV(strings.NewReader(tt.header))
			var ie *schema.ImportError
			if !errors.As(err, &ie) || rows != nil {
				t.Fatalf("expected *ImportError and no rows, got %d rows, %T %v", len(rows), err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("expected %q in the error, got:\n%v", w, err)
				}
			}
		})
	}

	// Columns in another order, with spaces, capitals and a byte-order mark.
	cols := append([]string(nil), schema.CaseCSVColumns...)
	cols[0], cols[14] = cols[14], cols[0]
	head := "\ufeff" + strings.ToUpper(cols[0]) + ", " + strings.Join(cols[1:], ",") + "\n"
	var vals []string
	for _, c := range cols {
		vals = append(vals, `"`+goodRow[c]+`"`)
	}
	rows, err := schema.ParseCasesCSV(strings.NewReader(head + strings.Join(vals, ",") + "\n"))
	if err != nil || len(rows) != 1 || rows[0].Case.CRN != "Z100001" || len(rows[0].Flags) != 2 {
		t.Fatalf("reordered header: expected one row Z100001 with 2 flags, got %+v, %v", rows, err)
	}
}

func TestParseCasesCSVMalformed(t *testing.T) {
	t.Parallel()
	in := csvHeader + csvRow(nil) + `Z100002,"unterminated,Quill` + "\n"
	rows, err := schema.ParseCasesCSV(strings.NewReader(in))
	var ie *schema.ImportError
	if !errors.As(err, &ie) || rows != nil {
		t.Fatalf("expected *ImportError and no rows, got %d rows, %T %v", len(rows), err, err)
	}
	if len(ie.Problems) != 1 || ie.Problems[0].Line != 3 || !strings.Contains(ie.Problems[0].Message, "malformed") {
		t.Errorf("expected one 'malformed' problem on line 3, got %+v", ie.Problems)
	}
}

func TestImportErrorTruncates(t *testing.T) {
	t.Parallel()
	ie := &schema.ImportError{}
	for i := 0; i < 150; i++ {
		ie.Problems = append(ie.Problems, schema.ImportProblem{Line: i + 2, Field: "rosh", Message: "bad"})
	}
	msg := ie.Error()
	if n := strings.Count(msg, "\n"); n != 100 {
		t.Errorf("expected 100 shown problems then a summary (100 newlines), got %d", n)
	}
	if !strings.HasSuffix(msg, "... and 50 more problems") {
		t.Errorf("expected a '... and 50 more problems' summary, got %q", msg[len(msg)-40:])
	}
}

// FuzzParseCasesCSV: any file answers rows or an *ImportError listing at
// least one problem, never both, never a panic; every row it accepts is a
// valid case with a unique CRN, on a line after the header.
func FuzzParseCasesCSV(f *testing.F) {
	f.Add(csvHeader + csvRow(nil))
	f.Add(csvHeader + csvRow(map[string]string{"crn": "bad", "rosh": "enormous", "flags": "da_perpetrator;da_perpetrator"}))
	f.Add(csvHeader + csvRow(nil) + csvRow(nil))
	f.Add(csvHeader + `"unterminated,quote` + "\n")
	f.Add(csvHeader + csvRow(map[string]string{"given_name": "=HYPERLINK(\"x\")", "address": "'; DROP TABLE records; --"}))
	f.Add("crn\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := schema.ParseCasesCSV(strings.NewReader(in))
		if err != nil {
			var ie *schema.ImportError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 || rows != nil {
				t.Fatalf("ParseCasesCSV(%q) = %d rows, %v; want no rows and an *ImportError with problems", in, len(rows), err)
			}
			for _, p := range ie.Problems {
				if p.Line < 1 || p.Message == "" {
					t.Fatalf("problem without a line or a message: %+v", p)
				}
			}
			return
		}
		crns := map[string]bool{}
		for _, r := range rows {
			if r.Line < 2 {
				t.Fatalf("row on line %d, at or before the header", r.Line)
			}
			if err := r.Case.Validate(); err != nil {
				t.Fatalf("accepted row %d does not validate: %v", r.Line, err)
			}
			if crns[r.Case.CRN] {
				t.Fatalf("CRN %s accepted twice", r.Case.CRN)
			}
			crns[r.Case.CRN] = true
		}
	})
}
