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
	undo      []fieldUndo                // mergeInto's: what each applied field held before
}

// mergeFields merges a mutation's fields (names: their names, sorted),
// stamped stamp, into a record's stored fields and per-field stamps: per
// field, the later stamp wins, and a value that loses (an earlier stamp, a
// different value) is kept as a conflict; equal values never conflict. A signing mutation's fields win
// whatever their stamps, and a newer value they overwrite is kept. A stored
// stamp that sorts after beyond is older than any new one (§3). by is who
// sent the mutation. It reads its arguments and changes none of them: it
// is mergeInto on copies of the stored maps, and FuzzMergeConverges checks
// it against the rule in every order.
func mergeFields(stored map[string]json.RawMessage, storedClocks map[string]string, in map[string]json.RawMessage,
	names []string, stamp, beyond string, signing bool, by Actor) fieldMerge {
	fields := make(map[string]json.RawMessage, len(stored)+len(in))
	clocks := make(map[string]string, len(storedClocks)+len(in))
	for k, v := range stored {
		fields[k] = v
	}
	for k, v := range storedClocks {
		clocks[k] = v
	}
	out := mergeInto(fields, clocks, in, names, stamp, beyond, signing, by)
	out.fields, out.clocks, out.undo = fields, clocks, nil
	return out
}

// fieldUndo is what a field held before mergeInto set it.
type fieldUndo struct {
	field         string
	value         json.RawMessage
	stamp         string
	hadValue, had bool // the field had a value; it had a stamp
}

// mergeInto is the merge of mergeFields done on the record's own maps,
// fields and clocks, which it changes: the apply's merge (applier.change),
// which copied both maps for every change before (decision 0104). Each
// name is merged once, and read before it is set, so what it gives, and
// what the maps hold after, is what mergeFields gives. The result's undo
// (undoMerge) puts the maps back as they were, for a change then refused.
func mergeInto(fields map[string]json.RawMessage, clocks map[string]string, in map[string]json.RawMessage,
	names []string, stamp, beyond string, signing bool, by Actor) fieldMerge {
	var out fieldMerge
	for _, f := range names {
		v := in[f]
		stored, hadValue := fields[f]
		was, had := clocks[f]
		// The text form sorts as the clock does.
		later := stamp > was || was > beyond
		same := schema.SameJSON(stored, v)
		switch {
		case signing:
			if !later && !same {
				out.conflicts = append(out.conflicts, pendingConflict{field: f, reason: "overwritten_by_signature",
					losing: stored, losingClock: was, winning: v, winClock: stamp, winAuthor: by.UserID})
			}
		case later:
		case !same && stamp != was:
			out.lost = append(out.lost, f)
			out.conflicts = append(out.conflicts, pendingConflict{field: f, reason: "lww_lost",
				losing: v, losingClock: stamp, losingAuthor: by.UserID, losingDevice: by.DeviceID,
				winning: stored, winClock: was})
			continue
		default:
			continue // an equal value, or the very same stamp again
		}
		out.undo = append(out.undo, fieldUndo{field: f, value: stored, stamp: was, hadValue: hadValue, had: had})
		if isNullJSON(v) {
			delete(fields, f)
		} else {
			fields[f] = v
		}
		clocks[f] = stamp
		out.applied++
	}
	return out
}

// undoMerge puts back in fields and clocks what mg's mergeInto changed.
func undoMerge(fields map[string]json.RawMessage, clocks map[string]string, mg fieldMerge) {
	for i := len(mg.undo) - 1; i >= 0; i-- {
		u := mg.undo[i]
		if u.hadValue {
			fields[u.field] = u.value
		} else {
			delete(fields, u.field)
		}
		if u.had {
			clocks[u.field] = u.stamp
		} else {
			delete(clocks, u.field)
		}
	}
}
