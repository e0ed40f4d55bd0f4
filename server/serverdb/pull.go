package serverdb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"doorstep/schema"
)

// Rules is the visit rules document a pull sends to tablets
// (docs/sync-protocol.md §7.2): Doc, one JSON object, compacted, exactly as
// the server loaded it, and its Tag (policy.Tag). The server checks Doc
// with policy.Parse before it opens the store; the store only sends it.
type Rules struct {
	Doc json.RawMessage
	Tag string
}

// pullFlush is how much JSON Pull gathers before handing it to the writer.
const pullFlush = 64 << 10

// Pull writes one page of changes for the actor as a schema.PullResponse
// JSON document (docs/sync-protocol.md §7). Records' stored JSON goes to w
// as it is, never decoded. An error before anything was written is a
// *schema.Error for bad requests; after a partial write the caller must
// discard the output (the server buffers it for that reason).
//
// The page is the records in the actor's current scope with seq > cursor,
// oldest first, up to limit. hi is the seq of the last record sent when
// more remain, else the current sequence value; the cursor returned is
// "c:<epoch>:<hi>". Scope events of the actor in (cursor, hi] then add removals
// (last event revoke, case not in scope) and whole cases (last event grant,
// case in scope). When the request asks for the people list with a tag
// other than the list's, the last page (hasMore false) carries it; the
// same goes for the visit rules (Options.Rules).
func (db *DB) Pull(ctx context.Context, actor Actor, req schema.PullRequest, w io.Writer) error {
	_, err := db.PullPage(ctx, actor, req, w)
	return err
}

// PullPage is Pull, and says how many records the page holds (for the
// server's metrics).
func (db *DB) PullPage(ctx context.Context, actor Actor, req schema.PullRequest, w io.Writer) (records int, err error) {
	cursor, err := db.parseCursor(req.Cursor)
	if err != nil {
		return 0, err
	}
	limit := req.Limit
	switch {
	case limit < 0:
		return 0, schema.Errorf(schema.ECodeInvalid, "limit", "limit must be positive, not %d", limit)
	case limit == 0:
		limit = schema.DefaultPullLimit
	case limit > schema.MaxPullLimit:
		limit = schema.MaxPullLimit
	}
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return 0, err
	}
	now := db.now()
	seqStmt, err := db.readStmt(ctx, `SELECT value FROM sequence WHERE id = 1`)
	if err != nil {
		return 0, fmt.Errorf("pull: read sequence: %w", err)
	}
	err = db.view(ctx, func(tx *sql.Tx) error {
		var maxSeq int64
		if err := tx.StmtContext(ctx, seqStmt).QueryRowContext(ctx).Scan(&maxSeq); err != nil {
			return fmt.Errorf("pull: read sequence: %w", err)
		}
		if cursor > maxSeq {
			return schema.Errorf(schema.ECodeInvalid, "cursor", "cursor %q is ahead of this server (was the server restored?); pull from \"\"", req.Cursor)
		}
		// Choose the page's numbers from the covering index first, then read
		// just those rows in seq order: sorting whole 1 KB rows of a large
		// caseload would cost more than the rest of the pull.
		// A device's own echoes (see PushAt) are left out: it has them. A
		// pull from the beginning is a device that holds nothing synced (a
		// new one, or a full resync): it gets them too.
		echo, echoArgs := "", []any(nil)
		if actor.DeviceID != "" && cursor > 0 {
			echo, echoArgs = " AND echo_device <> ?", []any{actor.DeviceID}
		}
		// A cursor at the sequence's end (a no-op sync) has nothing after
		// it, records or scope events: neither is queried.
		var rows *sql.Rows
		var err error
		if cursor < maxSeq {
			qargs := append(append(append([]any{cursor}, args...), echoArgs...), limit+1)
			rows, err = tx.QueryContext(ctx, `SELECT entity, id, case_id, fields, version, received_at, updated_at, device_time, created_by, updated_by, seq
			FROM records WHERE seq IN (SELECT seq FROM records WHERE seq > ? AND `+cond+echo+` ORDER BY seq LIMIT ?) ORDER BY seq`,
				qargs...)
			if err != nil {
				return fmt.Errorf("pull: %w", err)
			}
			defer rows.Close()
		}

		buf := make([]byte, 0, pullFlush+8<<10)
		buf = append(buf, `{"records":[`...)
		flush := func(force bool) error {
			if len(buf) >= pullFlush || force {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
			return nil
		}
		var sc recordScan
		n := 0
		hi := maxSeq
		hasMore := false
		var sentIDs []string
		for rows != nil && rows.Next() {
			if n == limit {
				hasMore = true
				break
			}
			if err := sc.scan(rows); err != nil {
				return fmt.Errorf("pull: %w", err)
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			buf = sc.appendJSON(buf)
			sentIDs = append(sentIDs, string(sc.id))
			hi = sc.seq
			n++
			if err := flush(false); err != nil {
				return err
			}
		}
		if rows != nil {
			if err := rows.Err(); err != nil {
				return fmt.Errorf("pull: %w", err)
			}
			rows.Close()
		}
		if !hasMore {
			hi = maxSeq
		}

		// Scope changes of this user in (cursor, hi].
		var removed []schema.Removal
		if (actor.Role == schema.RoleOfficer || actor.Role == schema.RoleSupervisor) && cursor < hi {
			type last struct {
				kind    string
				inScope bool
			}
			evs := map[string]*last{}
			var order []string
			erows, err := tx.QueryContext(ctx, `SELECT e.case_id, e.kind, coalesce(s.officer_id, ''), coalesce(s.team_id, '')
				FROM scope_events e LEFT JOIN case_scope s ON s.case_id = e.case_id
				WHERE e.user_id = ? AND e.seq > ? AND e.seq <= ? ORDER BY e.seq`, actor.UserID, cursor, hi)
			if err != nil {
				return fmt.Errorf("pull: scope events: %w", err)
			}
			for erows.Next() {
				var caseID, kind string
				var s caseScope
				if err := erows.Scan(&caseID, &kind, &s.officerID, &s.teamID); err != nil {
					erows.Close()
					return fmt.Errorf("pull: scope events: %w", err)
				}
				l := evs[caseID]
				if l == nil {
					l = &last{}
					evs[caseID] = l
					order = append(order, caseID)
				}
				l.kind, l.inScope = kind, s.allows(actor)
			}
			erows.Close()
			if err := erows.Err(); err != nil {
				return fmt.Errorf("pull: scope events: %w", err)
			}
			var sent map[string]bool
			for _, caseID := range order {
				l := evs[caseID]
				switch {
				case l.kind == "revoke" && !l.inScope:
					removed = append(removed, schema.Removal{CaseID: caseID, Reason: "out_of_scope"})
				case l.kind == "grant" && l.inScope && cursor > 0:
					// From the beginning every in-scope record comes by seq
					// anyway; after a cursor the case's older records are new
					// to this device and come whole.
					if sent == nil {
						sent = make(map[string]bool, len(sentIDs))
						for _, id := range sentIDs {
							sent[id] = true
						}
					}
					grows, err := tx.QueryContext(ctx, `SELECT entity, id, case_id, fields, version, received_at, updated_at, device_time, created_by, updated_by, seq
						FROM records WHERE case_id = ? ORDER BY seq`, caseID)
					if err != nil {
						return fmt.Errorf("pull: granted case: %w", err)
					}
					for grows.Next() {
						if err := sc.scan(grows); err != nil {
							grows.Close()
							return fmt.Errorf("pull: granted case: %w", err)
						}
						if sent[string(sc.id)] {
							continue
						}
						sent[string(sc.id)] = true
						if n > 0 {
							buf = append(buf, ',')
						}
						buf = sc.appendJSON(buf)
						n++
						if err := flush(false); err != nil {
							grows.Close()
							return err
						}
					}
					grows.Close()
					if err := grows.Err(); err != nil {
						return fmt.Errorf("pull: granted case: %w", err)
					}
				}
			}
		}
		buf = append(buf, `],"removed":`...)
		if removed == nil {
			buf = append(buf, "[]"...)
		} else {
			b, _ := json.Marshal(removed)
			buf = append(buf, b...)
		}
		buf = append(buf, `,"cursor":"`...)
		buf = append(buf, db.formatCursor(hi)...)
		buf = append(buf, `","has_more":`...)
		buf = strconv.AppendBool(buf, hasMore)
		buf = append(buf, `,"server_time":`...)
		buf = appendJSONString(buf, now.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		// The people list goes on the last page only: a pull of many pages
		// (whose next page the device asks for before it applied this one)
		// sends it once, and every pull that completes ends with it.
		if req.PeopleTag != nil && !hasMore {
			people, tag, err := peopleOf(ctx, tx, actor.TeamID)
			if err != nil {
				return fmt.Errorf("pull: %w", err)
			}
			if tag != *req.PeopleTag {
				b, _ := json.Marshal(people)
				buf = append(buf, `,"people":`...)
				buf = append(buf, b...)
				buf = append(buf, `,"people_tag":`...)
				buf = appendJSONString(buf, tag)
			}
		}
		// The visit rules likewise (§7.2): they come from the server's
		// configuration, not the store, and are the same for every user.
		if req.RulesTag != nil && !hasMore && db.rules.Tag != "" && db.rules.Tag != *req.RulesTag {
			buf = append(buf, `,"rules":`...)
			buf = append(buf, db.rules.Doc...)
			buf = append(buf, `,"rules_tag":`...)
			buf = appendJSONString(buf, db.rules.Tag)
		}
		buf = append(buf, "}\n"...)
		records = n
		return flush(true)
	})
	if err != nil {
		return 0, err
	}
	return records, nil
}

// PullResponse runs Pull and decodes its answer; for tests and callers that
// want values rather than a stream.
func (db *DB) PullResponse(ctx context.Context, actor Actor, req schema.PullRequest) (schema.PullResponse, error) {
	var b bytes.Buffer
	var resp schema.PullResponse
	if err := db.Pull(ctx, actor, req, &b); err != nil {
		return resp, err
	}
	if err := json.Unmarshal(b.Bytes(), &resp); err != nil {
		return resp, fmt.Errorf("decode pull: %w", err)
	}
	return resp, nil
}

// recordScan holds one record row as raw bytes, reused from row to row, so
// a page of ten thousand records allocates almost nothing.
type recordScan struct {
	entity, id, caseID, fields        sql.RawBytes
	receivedAt, updatedAt, deviceTime sql.RawBytes
	createdBy, updatedBy              sql.RawBytes
	version, seq                      int64
}

func (s *recordScan) scan(rows *sql.Rows) error {
	return rows.Scan(&s.entity, &s.id, &s.caseID, &s.fields, &s.version, &s.receivedAt, &s.updatedAt,
		&s.deviceTime, &s.createdBy, &s.updatedBy, &s.seq)
}

// appendJSON writes the record as schema.Record's JSON. The stored fields
// text is already a compact JSON object and goes in as it is.
func (s *recordScan) appendJSON(b []byte) []byte {
	b = append(b, `{"entity":`...)
	b = appendJSONBytes(b, s.entity)
	b = append(b, `,"id":`...)
	b = appendJSONBytes(b, s.id)
	b = append(b, `,"case_id":`...)
	b = appendJSONBytes(b, s.caseID)
	b = append(b, `,"fields":`...)
	b = append(b, s.fields...)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, s.version, 10)
	b = append(b, `,"received_at":`...)
	b = appendJSONBytes(b, s.receivedAt)
	b = append(b, `,"updated_at":`...)
	b = appendJSONBytes(b, s.updatedAt)
	if len(s.deviceTime) > 0 {
		b = append(b, `,"device_time":`...)
		b = appendJSONBytes(b, s.deviceTime)
	}
	if len(s.createdBy) > 0 {
		b = append(b, `,"created_by":`...)
		b = appendJSONBytes(b, s.createdBy)
	}
	if len(s.updatedBy) > 0 {
		b = append(b, `,"updated_by":`...)
		b = appendJSONBytes(b, s.updatedBy)
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte { return appendJSONBytes(b, []byte(s)) }

// appendJSONBytes quotes s as a JSON string: plain printable ASCII (ids,
// times) is copied, anything else goes through encoding/json.
func appendJSONBytes(b, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(string(s))
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
