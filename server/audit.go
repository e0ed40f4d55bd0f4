package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// The investigator's view of the audit trail (docs/api.md, "Audit
// trail"): admins and auditors only, every query itself audited.

// maxAuditExport is the most events one CSV export holds; a larger one is
// refused and the investigator narrows the filters or the period.
const maxAuditExport = 100_000

// auditTrail: GET /v1/audit?user_id=&case_id=&device_id=&from=&to=&after=&limit=&format=.
func (s *Server) auditTrail(c *fiber.Ctx) error {
	actor := actorOf(c)
	if actor.Role != schema.RoleAdmin && actor.Role != schema.RoleAuditor {
		return errorf(schema.ECodeForbidden, "", "only an admin or an auditor may read the audit trail")
	}
	f, params, err := auditFilter(c)
	if err != nil {
		return err
	}
	csvOut := params["format"] == "csv"
	var evs []serverdb.AuditEvent
	if !csvOut {
		if evs, err = s.db.AuditTrail(c.UserContext(), f); err != nil {
			return err
		}
	} else {
		f.Limit = serverdb.MaxAuditPage
		for {
			page, err := s.db.AuditTrail(c.UserContext(), f)
			if err != nil {
				return err
			}
			evs = append(evs, page...)
			if len(evs) > maxAuditExport {
				return errorf(schema.ECodeInvalid, "from", "more than %d events match: narrow the filters or the period", maxAuditExport)
			}
			if len(page) < f.Limit {
				break
			}
			f.AfterID = page[len(page)-1].ID
		}
	}
	params["returned"] = strconv.Itoa(len(evs))
	// The query is in the trail before its answer leaves.
	if err := s.db.Audit(c.UserContext(), actor, "audit_query", "", "", f.CaseID, map[string]any{"params": params}); err != nil {
		return err
	}
	if csvOut {
		return sendAuditCSV(c, evs)
	}
	if evs == nil {
		evs = []serverdb.AuditEvent{}
	}
	next := int64(0)
	if len(evs) == f.Limit {
		next = evs[len(evs)-1].ID
	}
	return c.JSON(fiber.Map{"events": evs, "next_after": next})
}

// auditFilter reads the query's filters, and the params as the audit
// event of the query records them.
func auditFilter(c *fiber.Ctx) (serverdb.AuditFilter, map[string]string, error) {
	var f serverdb.AuditFilter
	params := map[string]string{}
	for _, p := range []struct {
		name string
		to   *string
	}{{"user_id", &f.UserID}, {"case_id", &f.CaseID}, {"device_id", &f.DeviceID}} {
		v := c.Query(p.name)
		if len(v) > 64 || !PrintableASCII(v) {
			return f, nil, errorf(schema.ECodeInvalid, p.name, "%s must be an id of at most 64 printable characters", p.name)
		}
		*p.to, params[p.name] = v, v
	}
	from, err := queryDate(c, "from", "")
	if err != nil {
		return f, nil, err
	}
	to, err := queryDate(c, "to", "")
	if err != nil {
		return f, nil, err
	}
	if from != "" {
		f.From = from.Time()
	}
	if to != "" {
		f.To = to.Time().AddDate(0, 0, 1) // the whole of the last day
		if from != "" && to < from {
			return f, nil, errorf(schema.ECodeInvalid, "to", "to (%s) is before from (%s)", to, from)
		}
	}
	params["from"], params["to"] = string(from), string(to)
	for _, p := range []struct {
		name     string
		min, max int64
		to       *int64
	}{{"after", 0, 1 << 62, &f.AfterID}, {"limit", 1, serverdb.MaxAuditPage, nil}} {
		v := c.Query(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < p.min || n > p.max {
			return f, nil, errorf(schema.ECodeInvalid, p.name, "%s must be a whole number from %d to %d, not %q", p.name, p.min, p.max, v)
		}
		if p.to != nil {
			*p.to = n
		} else {
			f.Limit = int(n)
		}
		params[p.name] = v
	}
	if f.Limit == 0 {
		f.Limit = serverdb.MaxAuditPage
	}
	switch format := c.Query("format"); format {
	case "", "json", "csv":
		params["format"] = format
	default:
		return f, nil, errorf(schema.ECodeInvalid, "format", "format must be json or csv, not %q", format)
	}
	return f, params, nil
}

// sendAuditCSV answers the events as a CSV attachment, one row each, with
// every cell guarded against formula injection.
func sendAuditCSV(c *fiber.Ctx, evs []serverdb.AuditEvent) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"id", "at", "user_id", "device_id", "action", "entity", "record_id", "case_id", "detail", "prev_hash", "hash"})
	for _, e := range evs {
		row := []string{strconv.FormatInt(e.ID, 10), e.At, e.UserID, e.DeviceID, e.Action, e.Entity, e.RecordID, e.CaseID,
			string(e.Detail), e.PrevHash, e.Hash}
		for i := range row {
			row[i] = schema.CSVSafe(row[i])
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="audit-`+time.Now().UTC().Format("20060102")+`.csv"`)
	return c.Send(buf.Bytes())
}

// AuditRefusal records a request an authenticated actor was refused
// (403) or answered as missing (404: out of scope, or not there: the
// store answers both alike, and the trail keeps the attempt), through the
// API or the dashboard. The caller sees nothing of it. A failure to record
// is logged, not answered: the refusal stands either way.
func (s *Server) AuditRefusal(c *fiber.Ctx, actor serverdb.Actor, status int, code string) {
	if actor.UserID == "" || (status != fiber.StatusForbidden && status != fiber.StatusNotFound) {
		return
	}
	path := c.Path()
	if len(path) > 200 {
		path = path[:200]
	}
	detail := map[string]string{"method": c.Method(), "path": strings.ToValidUTF8(path, "?"), "status": strconv.Itoa(status), "code": code}
	if err := s.db.Audit(c.UserContext(), actor, "refused", "", "", "", detail); err != nil {
		rid, _ := c.Locals("rid").(string)
		s.log.Error("audit a refusal", "request_id", rid, "err", err)
	}
}

// AuditSignIn records a sign-in through via ("dashboard"): action
// "sign_in" (a dashboard session opened; the API's is recorded by the
// store as "login"). Passwords tried at the API's login and the
// dashboard's form, and setup codes, are counted and audited by the store
// (serverdb.DB.SignIn, SetUp). The username is recorded as
// typed, the password never. userID is "" when the sign-in failed: the
// event then has no actor, and names as its record the user the username
// names, if any.
func (s *Server) AuditSignIn(ctx context.Context, action, via, userID, deviceID, username, addr string) error {
	record := userID
	if record == "" {
		u, err := s.db.UserByUsername(ctx, username)
		switch {
		case err == nil:
			record = u.ID
		case schema.ErrorCode(err) != schema.ECodeNotFound:
			return err
		}
	}
	if len(username) > 100 {
		username = username[:100]
	}
	return s.db.Audit(ctx, serverdb.Actor{UserID: userID, DeviceID: deviceID}, action, "user", record, "",
		map[string]string{"via": via, "username": strings.ToValidUTF8(username, "?"), "addr": addr})
}
