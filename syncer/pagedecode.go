package syncer

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// decodePage decodes a pull answer. A page is mostly the records' field
// objects, which the tablet stores as they came; encoding/json would scan
// every byte of them twice (validate, then decode) into a RawMessage. The
// fast path walks the page with a small scanner that only finds where each
// value ends, checks each field object once with schema.ValidJSON
// (json.Valid's answer, faster), and decodes only the short scalars.
// Anything it does not expect sends the page to encoding/json, whose
// answer (and error) is then authoritative.
func decodePage(body []byte, page *pullPage) error {
	if err := fastPage(body, page); err == nil {
		return nil
	}
	*page = pullPage{}
	return json.Unmarshal(body, page)
}

// errSlowPath sends a page to encoding/json.
var errSlowPath = schema.ErrSlowJSON

func fastPage(b []byte, page *pullPage) error {
	end, err := schema.EachMemberAt(b, schema.SkipSpace(b, 0), func(key string, b []byte, i int) (int, error) {
		if key == "records" {
			// Read where it stands: finding the array's end first would
			// read every record twice.
			var end int
			var err error
			page.Records, end, err = fastRecords(b, i)
			return end, err
		}
		end := schema.SkipJSON(b, i)
		if end < 0 {
			return -1, errSlowPath
		}
		return end, pageMember(page, key, b[i:end])
	})
	if err != nil {
		return err
	}
	if schema.SkipSpace(b, end) != len(b) {
		return errSlowPath
	}
	return nil
}

// pageMember reads one member of a page other than its records.
func pageMember(page *pullPage, key string, v []byte) error {
	var err error
	switch key {
	case "removed":
		err = json.Unmarshal(v, &page.Removed)
	case "cursor":
		page.Cursor, err = schema.JSONString(v)
	case "has_more":
		switch string(v) {
		case "true":
			page.HasMore = true
		case "false":
		default:
			err = errSlowPath
		}
	case "server_time":
		var s string
		if s, err = schema.JSONString(v); err == nil {
			page.ServerTime, err = time.Parse(time.RFC3339Nano, s)
		}
	case "people":
		err = json.Unmarshal(v, &page.People)
	case "people_tag":
		page.PeopleTag, err = schema.JSONString(v)
	case "rules":
		if !schema.ValidJSON(v) {
			err = errSlowPath
		}
		page.Rules = slices.Clone(v)
	case "rules_tag":
		page.RulesTag, err = schema.JSONString(v)
	default:
		if !schema.ValidJSON(v) || schema.FoldsTo(key, pageKeys) {
			err = errSlowPath
		}
	}
	return err
}

var (
	pageKeys   = []string{"records", "removed", "cursor", "has_more", "server_time", "people", "people_tag", "rules", "rules_tag"}
	recordKeys = []string{"entity", "id", "case_id", "fields", "version", "received_at", "updated_at", "device_time", "created_by", "updated_by"}
)

// fastRecords reads the records array whose bracket is b[i] (or a null
// there), each record once, and returns the index just past it.
func fastRecords(b []byte, i int) ([]devicedb.RawRecord, int, error) {
	if bytes.HasPrefix(b[i:], []byte("null")) {
		return nil, i + 4, nil
	}
	if i >= len(b) || b[i] != '[' {
		return nil, 0, errSlowPath
	}
	out := make([]devicedb.RawRecord, 0, 64)
	i = schema.SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, i + 1, nil
	}
	for i < len(b) {
		var r devicedb.RawRecord
		end, err := schema.EachMemberValueAt(b, i, func(key string, v []byte) error {
			var err error
			switch key {
			case "entity":
				r.Entity, err = schema.JSONString(v)
			case "id":
				r.ID, err = schema.JSONString(v)
			case "case_id":
				r.CaseID, err = schema.JSONString(v)
			case "fields":
				if !schema.ValidJSON(v) {
					return errSlowPath
				}
				r.Fields = v
			case "version":
				if !schema.ValidJSON(v) {
					return errSlowPath
				}
				r.Version, err = strconv.ParseInt(string(v), 10, 64)
			case "received_at":
				r.ReceivedAt, err = schema.JSONString(v)
			case "updated_at":
				r.UpdatedAt, err = schema.JSONString(v)
			case "device_time":
				r.DeviceTime, err = schema.JSONString(v)
			case "created_by":
				r.CreatedBy, err = schema.JSONString(v)
			case "updated_by":
				r.UpdatedBy, err = schema.JSONString(v)
			default:
				if !schema.ValidJSON(v) || schema.FoldsTo(key, recordKeys) {
					err = errSlowPath
				}
			}
			return err
		})
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
		i = schema.SkipSpace(b, end)
		if i >= len(b) {
			return nil, 0, errSlowPath
		}
		switch b[i] {
		case ',':
			i = schema.SkipSpace(b, i+1)
		case ']':
			return out, i + 1, nil
		default:
			return nil, 0, errSlowPath
		}
	}
	return nil, 0, errSlowPath
}
