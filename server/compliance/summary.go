package compliance

import "reflect"

// Summarize methods empty a report's per-case, per-visit and per-item
// lists, keeping the totals and the team and officer figures (with their
// case ids). A service-wide view asks for this (detail=summary): the rows
// of 25,000 cases are hundreds of megabytes nobody reads at that level,
// and a drill-down asks for one team or officer.

func (r *FirstVisitReport) Summarize()    { r.Cases = []FirstVisitCase{} }
func (r *OverdueReport) Summarize()       { r.Items = []OverdueItem{} }
func (r *ContactsReport) Summarize()      { r.Cases, r.Visits = []ContactCase{}, []ContactVisit{} }
func (r *EnquiriesReport) Summarize()     { r.Cases = []EnquiryCase{} }
func (r *HouseholdsReport) Summarize()    { r.Cases = []HouseholdCase{} }
func (r *InterventionsReport) Summarize() { r.Items = []InterventionItem{} }
func (r *ReviewsReport) Summarize()       { r.Items = []ReviewItem{} }
func (r *WorkloadReport) Summarize()      { r.Items = []WorkloadItem{} }
func (r *ExemptionsReport) Summarize()    {}

var (
	idsType       = reflect.TypeFor[IDs]()
	visitIDsType  = reflect.TypeFor[VisitIDs]()
	recordIDsType = reflect.TypeFor[RecordIDs]()
)

// DropIDs empties every list of ids behind a count in report (a pointer
// to one of the reports), keeping the counts: "case_ids", "visit_ids" and
// "ids" become null. A service-wide view asks for this (detail=counts),
// with Summarize, and drills down to a team or an officer for the cases.
func DropIDs(report any) { dropIDs(reflect.ValueOf(report)) }

func dropIDs(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			dropIDs(v.Elem())
		}
	case reflect.Struct:
		switch v.Type() {
		case idsType:
			v.FieldByName("CaseIDs").SetZero()
			return
		case visitIDsType:
			v.FieldByName("VisitIDs").SetZero()
			v.FieldByName("CaseIDs").SetZero()
			return
		case recordIDsType:
			v.FieldByName("IDs").SetZero()
			v.FieldByName("CaseIDs").SetZero()
			return
		}
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				dropIDs(f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			dropIDs(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			dropIDs(v.MapIndex(k)) // map values here are pointers
		}
	}
}
