package syncer

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// decodePage decodes a pull answer. A page is mostly the records' field
// objects, which the tablet stores as they came; encoding/json would scan
// every byte of them twice (validate, then decode) into a RawMessage. The
// fast path walks the page with a small scanner that only finds where each
// value ends, checks each field object once with json.Valid, and decodes
// only the short scalars. Anything it does not expect sends the page to
// encoding/json, whose answer (and error) is then authoritative.
func decodePage(body []byte, page *pullPage) error {
	if err := fastPage(body, page); err == nil {
		return nil
	}
	*page = pullPage{}
	return json.Unmarshal(body, page)
}

var errSlowPath = errors.New("page needs encoding/json")

func fastPage(b []byte, page *pullPage) error {
	return eachMember(b, func(key string, v []byte) error {
		var err error
		switch key {
		case "records":
			page.Records, err = fastRecords(v)
		case "removed":
			err = json.Unmarshal(v, &page.Removed)
		case "cursor":
			page.Cursor, err = str(v)
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
			if s, err = str(v); err == nil {
				page.ServerTime, err = time.Parse(time.RFC3339Nano, s)
			}
		case "people":
			err = json.Unmarshal(v, &page.People)
		case "people_tag":
			page.PeopleTag, err = str(v)
		case "rules":
			if !json.Valid(v) {
				err = errSlowPath
			}
			page.Rules = slices.Clone(v)
		case "rules_tag":
			page.RulesTag, err = str(v)
		default:
			if !json.Valid(v) || foldsTo(key, pageKeys) {
				err = errSlowPath
			}
		}
		return err
	})
}

var (
	pageKeys   = []string{"records", "removed", "cursor", "has_more", "server_time", "people", "people_tag", "rules", "rules_tag"}
	recordKeys = []string{"entity", "id", "case_id", "fields", "version", "received_at", "updated_at", "device_time", "created_by", "updated_by"}
)

// foldsTo reports whether key matches one of keys ignoring case, as
// encoding/json would match it.
func foldsTo(key string, keys []string) bool {
	for _, k := range keys {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}

func fastRecords(b []byte) ([]devicedb.RawRecord, error) {
	if string(b) == "null" {
		return nil, nil
	}
	if len(b) < 2 || b[0] != '[' {
		return nil, errSlowPath
	}
	out := make([]devicedb.RawRecord, 0, 64)
	i := schema.SkipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return out, nil
	}
	for i < len(b) {
		end := schema.SkipJSON(b, i)
		if end < 0 || b[i] != '{' {
			return nil, errSlowPath
		}
		var r devicedb.RawRecord
		err := eachMember(b[i:end], func(key string, v []byte) error {
			var err error
			switch key {
			case "entity":
				r.Entity, err = str(v)
			case "id":
				r.ID, err = str(v)
			case "case_id":
				r.CaseID, err = str(v)
			case "fields":
				if !json.Valid(v) {
					return errSlowPath
				}
				r.Fields = v
			case "version":
				if !json.Valid(v) {
					return errSlowPath
				}
				r.Version, err = strconv.ParseInt(string(v), 10, 64)
			case "received_at":
				r.ReceivedAt, err = str(v)
			case "updated_at":
				r.UpdatedAt, err = str(v)
			case "device_time":
				r.DeviceTime, err = str(v)
			case "created_by":
				r.CreatedBy, err = str(v)
			case "updated_by":
				r.UpdatedBy, err = str(v)
			default:
				if !json.Valid(v) || foldsTo(key, recordKeys) {
					err = errSlowPath
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		i = schema.SkipSpace(b, end)
		if i >= len(b) {
			return nil, errSlowPath
		}
		switch b[i] {
		case ',':
			i = schema.SkipSpace(b, i+1)
		case ']':
			if schema.SkipSpace(b, i+1) != len(b) {
				return nil, errSlowPath
			}
			return out, nil
		default:
			return nil, errSlowPath
		}
	}
	return nil, errSlowPath
}

// eachMember calls fn with each key and raw value of the JSON object b
// (which must be the whole of b, give or take white space).
func eachMember(b []byte, fn func(key string, v []byte) error) error {
	i := schema.SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errSlowPath
	}
	i = schema.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		if schema.SkipSpace(b, i+1) != len(b) {
			return errSlowPath
		}
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errSlowPath
		}
		kEnd := schema.SkipJSON(b, i)
		if kEnd < 0 {
			return errSlowPath
		}
		key, err := str(b[i:kEnd])
		if err != nil {
			return err
		}
		i = schema.SkipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return errSlowPath
		}
		i = schema.SkipSpace(b, i+1)
		vEnd := schema.SkipJSON(b, i)
		if vEnd < 0 {
			return errSlowPath
		}
		if err := fn(key, b[i:vEnd]); err != nil {
			return err
		}
		i = schema.SkipSpace(b, vEnd)
		if i >= len(b) {
			return errSlowPath
		}
		switch b[i] {
		case ',':
			i = schema.SkipSpace(b, i+1)
		case '}':
			if schema.SkipSpace(b, i+1) != len(b) {
				return errSlowPath
			}
			return nil
		default:
			return errSlowPath
		}
	}
}

// str decodes a JSON string; "null" is "". Strings without escapes are
// copied as they are.
func str(v []byte) (string, error) {
	if string(v) == "null" {
		return "", nil
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errSlowPath
	}
	plain := true
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errSlowPath
	}
	return s, nil
}
