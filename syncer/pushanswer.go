package syncer

import (
	"encoding/json"
	"strconv"

	"doorstep/schema"
)

// decodePushAnswer decodes the server's answer to a push as json.Unmarshal
// into schema.PushResponse does. An answer is a result a mutation, most of
// them a status and a receipt; encoding/json's reflection over them was
// about half a millisecond of the tablet's CPU in a push of 100, on the
// sync's path (the store of the answers and the pull wait for it; decision
// 0128). The fast path reads the members it knows with the scanner the
// pulled pages use, gives a result's error, lost fields and current values
// (rare) to encoding/json one member at a time, and sends anything else it
// does not expect (a member in another case, given twice, of another
// type) to encoding/json whole, whose answer and error are then
// authoritative.
func decodePushAnswer(body []byte, resp *schema.PushResponse) error {
	if schema.ValidJSON(body) {
		var fast schema.PushResponse
		if err := fastPushAnswer(body, &fast); err == nil {
			*resp = fast
			return nil
		}
	}
	*resp = schema.PushResponse{}
	return json.Unmarshal(body, resp)
}

var (
	pushAnswerKeys = []string{"results", "server_time"}
	resultKeys     = []string{"mutation_id", "status", "original", "error", "lost", "receipt", "current"}
	receiptKeys    = []string{"entity", "id", "version", "received_at", "updated_at"}
)

// seenOnce marks member i of a message as read, and refuses one read
// before: encoding/json merges a member given twice into the first.
func seenOnce(seen *uint, i int) error {
	if *seen&(1<<i) != 0 {
		return errSlowPath
	}
	*seen |= 1 << i
	return nil
}

func fastPushAnswer(b []byte, resp *schema.PushResponse) error {
	var seen uint
	return schema.EachMember(b, func(key string, v []byte) error {
		switch key {
		case "results":
			if err := seenOnce(&seen, 0); err != nil {
				return err
			}
			return fastResults(v, resp)
		case "server_time":
			if err := seenOnce(&seen, 1); err != nil {
				return err
			}
			return resp.ServerTime.UnmarshalJSON(v)
		}
		if schema.FoldsTo(key, pushAnswerKeys) {
			return errSlowPath
		}
		return nil
	})
}

func fastResults(b []byte, resp *schema.PushResponse) error {
	if string(b) == "null" {
		return nil
	}
	if b[0] != '[' {
		return errSlowPath
	}
	resp.Results = []schema.MutationResult{}
	i := schema.SkipSpace(b, 1)
	if b[i] == ']' {
		return nil
	}
	for {
		end := schema.SkipJSON(b, i)
		if end < 0 {
			return errSlowPath
		}
		// Decoded in its place: a result of its own would escape (its
		// error, lost fields and current values are decoded by address).
		resp.Results = append(resp.Results, schema.MutationResult{})
		if err := fastResult(b[i:end], &resp.Results[len(resp.Results)-1]); err != nil {
			return err
		}
		i = schema.SkipSpace(b, end)
		if i >= len(b) {
			return errSlowPath
		}
		switch b[i] {
		case ',':
			i = schema.SkipSpace(b, i+1)
		case ']':
			return nil
		default:
			return errSlowPath
		}
	}
}

func fastResult(b []byte, r *schema.MutationResult) error {
	if b[0] != '{' {
		return errSlowPath // null, or not an object: encoding/json decides
	}
	var seen uint
	return schema.EachMember(b, func(key string, v []byte) error {
		var err error
		switch key {
		case "mutation_id":
			if err = seenOnce(&seen, 0); err == nil {
				r.MutationID, err = schema.JSONString(v)
			}
		case "status":
			if err = seenOnce(&seen, 1); err == nil {
				r.Status, err = schema.JSONString(v)
			}
		case "original":
			if err = seenOnce(&seen, 2); err == nil {
				r.Original, err = schema.JSONString(v)
			}
		case "error":
			if err = seenOnce(&seen, 3); err == nil {
				err = json.Unmarshal(v, &r.Error)
			}
		case "lost":
			if err = seenOnce(&seen, 4); err == nil {
				err = json.Unmarshal(v, &r.Lost)
			}
		case "current":
			if err = seenOnce(&seen, 5); err == nil {
				err = json.Unmarshal(v, &r.Current)
			}
		case "receipt":
			if err = seenOnce(&seen, 6); err == nil {
				err = fastReceipt(v, r)
			}
		default:
			if schema.FoldsTo(key, resultKeys) {
				err = errSlowPath
			}
		}
		return err
	})
}

func fastReceipt(b []byte, r *schema.MutationResult) error {
	if string(b) == "null" {
		return nil
	}
	if b[0] != '{' {
		return errSlowPath
	}
	rc := &schema.Receipt{}
	var seen uint
	err := schema.EachMember(b, func(key string, v []byte) error {
		var err error
		switch key {
		case "entity":
			if err = seenOnce(&seen, 0); err == nil {
				rc.Entity, err = schema.JSONString(v)
			}
		case "id":
			if err = seenOnce(&seen, 1); err == nil {
				rc.ID, err = schema.JSONString(v)
			}
		case "version":
			if err = seenOnce(&seen, 2); err == nil {
				rc.Version, err = jsonInt(v)
			}
		case "received_at":
			if err = seenOnce(&seen, 3); err == nil {
				err = rc.ReceivedAt.UnmarshalJSON(v)
			}
		case "updated_at":
			if err = seenOnce(&seen, 4); err == nil {
				err = rc.UpdatedAt.UnmarshalJSON(v)
			}
		default:
			if schema.FoldsTo(key, receiptKeys) {
				err = errSlowPath
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	r.Receipt = rc
	return nil
}

// jsonInt is an int64 written as a JSON integer (no fraction, no
// exponent), as encoding/json reads one; anything else is errSlowPath.
func jsonInt(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 20 {
		return 0, errSlowPath
	}
	for i, c := range v {
		if !(c >= '0' && c <= '9' || i == 0 && c == '-') {
			return 0, errSlowPath
		}
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, errSlowPath
	}
	return n, nil
}
