package compliance

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
