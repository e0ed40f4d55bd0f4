package serverdb

import (
	"encoding/json"

	"doorstep/schema"
)

// fieldMerge is what merging one mutation into a stored, unsigned record
// gives (docs/sync-protocol.md §6 steps 6 and 7).
type fieldMerge struct {
	fields    map[string]json.RawMessage // the record's fields after it
	clocks    map[string]string          // and the stamp of each
	conflicts []pendingConflict          // the values that lost or were overwritten
	lost      []string                   // the mutation's fields that lost
	applied   int                        // how many of its fields were applied
}

// mergeFields merges a mutation's fields (names: their names, sorted),
// stamped stamp, into a record's stored fields and per-field stamps: per
// field, the later stamp wins, and a value that loses (an earlier stamp, a
// different value) is kept as a conflict; equal values never conflict. A signing mutation's fields win
// whatever their stamps, and a newer value they overwrite is kept. A stored
// stamp that sorts after beyond is older than any new one (§3). by is who
// sent the mutation. It reads its arguments and changes none of them: the
// store applies what it returns (applier.change), and FuzzMergeConverges
// checks it against the rule in every order.
func mergeFields(stored map[string]json.RawMessage, storedClocks map[string]string, in map[string]json.RawMessage,
	names []string, stamp, beyond string, signing bool, by Actor) fieldMerge {
	out := fieldMerge{fields: make(map[string]json.RawMessage, len(stored)+len(in)),
		clocks: make(map[string]string, len(storedClocks)+len(in))}
	for k, v := range stored {
		out.fields[k] = v
	}
	for k, v := range storedClocks {
		out.clocks[k] = v
	}
	for _, f := range names {
		v := in[f]
		was := storedClocks[f]
		// The text form sorts as the clock does.
		later := stamp > was || was > beyond
		same := schema.SameJSON(stored[f], v)
		switch {
		case signing:
			if !later && !same {
				out.conflicts = append(out.conflicts, pendingConflict{field: f, reason: "overwritten_by_signature",
					losing: stored[f], losingClock: was, winning: v, winClock: stamp, winAuthor: by.UserID})
			}
		case later:
		case !same && stamp != was:
			out.lost = append(out.lost, f)
			out.conflicts = append(out.conflicts, pendingConflict{field: f, reason: "lww_lost",
				losing: v, losingClock: stamp, losingAuthor: by.UserID, losingDevice: by.DeviceID,
				winning: stored[f], winClock: was})
			continue
		default:
			continue // an equal value, or the very same stamp again
		}
		if isNullJSON(v) {
			delete(out.fields, f)
		} else {
			out.fields[f] = v
		}
		out.clocks[f] = stamp
		out.applied++
	}
	return out
}
