package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// What the officer can do about what the server did not take: a change it
// set aside (a rejected outbox row) can be discarded or sent again, and a
// value that lost to a later one (a conflict, reason lww_lost) can be
// written again. Each decision is logged with the change's content, who
// and when (devicedb's outbox_log), so nothing leaves without a trace. See
// docs/decisions/0009-set-aside-changes.md.

// Decision is one logged decision about a set-aside change or a lost value.
type Decision = devicedb.Decision

// Discard drops a set-aside change for good. The tablet's record goes back
// to the server's value of each field the change set (the value the
// rejection answer carried or a pull of the record brought since, both kept
// as the entry's Current; when neither came, the value the change replaced;
// a record the server never had loses those fields, and goes when nothing
// else refers to it). Fields that another change still waiting in
// the outbox sets keep that change's value. The change stays readable in
// the outbox log.
func (a *Agent) Discard(ctx context.Context, mutationID string) error {
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		user, err := a.localUser(ctx, tx)
		if err != nil {
			return err
		}
		e, err := setAside(ctx, tx, mutationID)
		if err != nil {
			return err
		}
		if err := tx.DeleteOutbox(ctx, e.MutationID); err != nil {
			return err
		}
		if err := tx.LogDecision(ctx, decisionOf(e, devicedb.DecisionDiscarded, user.ID)); err != nil {
			return err
		}
		return revert(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("discard change %s: %w", mutationID, err)
	}
	return nil
}

// Retry sends a set-aside change again: its fields (less those a later
// change still in the outbox sets), with edits laid over them (a null edit
// clears the field), become a new change under a new
// mutation id and a new clock stamp (the server remembers the old id as
// rejected, and would answer it so again), checked as any local write is.
// A record the server never had is sent whole, so that it can be created.
// It returns the new change's mutation id.
func (a *Agent) Retry(ctx context.Context, mutationID string, edits map[string]json.RawMessage) (string, error) {
	var newID string
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		user, err := a.localUser(ctx, tx)
		if err != nil {
			return err
		}
		e, err := setAside(ctx, tx, mutationID)
		if err != nil {
			return err
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(e.Fields, &fields); err != nil {
			return fmt.Errorf("read the change's fields: %w", err)
		}
		// A field that a later change still in the outbox sets is left to
		// it: sending the older value again would undo the later one. A
		// record no longer on the tablet (its case went and came back, and
		// the server never had the record) is created whole by this change,
		// so it carries the later changes' values instead, as the record
		// would show them (a creation without its required fields would be
		// refused).
		gone, err := tx.HasRecord(ctx, e.Entity, e.RecordID)
		if err != nil {
			return err
		}
		gone = !gone
		later, err := tx.RecordOutbox(ctx, e.Entity, e.RecordID)
		if err != nil {
			return err
		}
		for _, o := range later {
			if o.Seq <= e.Seq {
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(o.Fields, &m); err != nil {
				return fmt.Errorf("read fields of change %s: %w", o.MutationID, err)
			}
			for k, v := range m {
				if gone {
					fields[k] = v
				} else {
					delete(fields, k)
				}
			}
		}
		for k, v := range edits {
			fields[k] = v
		}
		if len(fields) == 0 {
			return schema.Errorf(schema.ECodeConflict, "mutation_id",
				"later changes waiting on this tablet set every field of this one: discard it instead")
		}
		if err := tx.DeleteOutbox(ctx, e.MutationID); err != nil {
			return err
		}
		if newID, err = a.resend(ctx, tx, user, Write{Entity: e.Entity, ID: e.RecordID, CaseID: e.CaseID, Fields: fields}); err != nil {
			return err
		}
		d := decisionOf(e, devicedb.DecisionRetried, user.ID)
		d.NewMutationID = newID
		return tx.LogDecision(ctx, d)
	})
	if err != nil {
		return "", fmt.Errorf("send change %s again: %w", mutationID, err)
	}
	a.SyncNow()
	return newID, nil
}

// KeepMine resolves an open lww_lost conflict by writing the officer's
// losing value again, as a new change stamped now, and marks the conflict
// resolved (by the tablet's user, now) in the same transaction. It returns
// the new change's mutation id.
func (a *Agent) KeepMine(ctx context.Context, conflictID string) (string, error) {
	var newID string
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		user, err := a.localUser(ctx, tx)
		if err != nil {
			return err
		}
		r, err := tx.GetRecord(ctx, "conflict", conflictID)
		if errors.Is(err, devicedb.ErrNotFound) {
			return schema.Errorf(schema.ECodeNotFound, "id", "no conflict %s on this tablet", conflictID)
		}
		if err != nil {
			return err
		}
		var cf schema.Conflict
		if err := r.Decode(&cf); err != nil {
			return err
		}
		switch {
		case cf.Status == "resolved":
			return schema.Errorf(schema.ECodeConflict, "status", "this conflict is already resolved")
		case cf.Reason != "lww_lost":
			return schema.Errorf(schema.ECodeInvalid, "reason",
				"only a value that lost to a later change can be written again; a signed record is corrected by an amendment")
		}
		value := json.RawMessage(cf.LosingValue)
		if len(value) == 0 {
			value = json.RawMessage("null")
		}
		w := Write{Entity: cf.RecordEntity, ID: cf.RecordID, Fields: map[string]json.RawMessage{cf.Field: value}}
		if ok, err := tx.HasRecord(ctx, w.Entity, w.ID); err != nil {
			return err
		} else if !ok {
			return schema.Errorf(schema.ECodeNotFound, "record_id", "the record is no longer on this tablet")
		}
		if newID, err = a.resend(ctx, tx, user, w); err != nil {
			return err
		}
		now := tx.Now()
		if _, err := a.write(ctx, tx, user, Write{Entity: "conflict", ID: conflictID, Fields: map[string]json.RawMessage{
			"status":      json.RawMessage(`"resolved"`),
			"resolution":  json.RawMessage(`"kept my value: written again"`),
			"resolved_by": mustMarshal(user.ID),
			"resolved_at": mustMarshal(schema.TimestampOf(now)),
		}}); err != nil {
			return err
		}
		fields, _ := json.Marshal(w.Fields)
		return tx.LogDecision(ctx, devicedb.Decision{Decision: devicedb.DecisionKeptMine, NewMutationID: newID, ConflictID: conflictID,
			Entity: w.Entity, RecordID: w.ID, CaseID: r.CaseID, Fields: fields, Clock: cf.LosingClock, DecidedBy: user.ID})
	})
	if err != nil {
		return "", fmt.Errorf("keep my value: %w", err)
	}
	a.SyncNow()
	return newID, nil
}

// OutboxLog returns every decision taken about set-aside changes and lost
// values, oldest first.
func (a *Agent) OutboxLog(ctx context.Context) ([]Decision, error) {
	var out []Decision
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		out, err = tx.OutboxLog(ctx)
		return err
	})
	return out, err
}

// resend writes w as a change sent again and returns its mutation id.
func (a *Agent) resend(ctx context.Context, tx *devicedb.Tx, user schema.User, w Write) (string, error) {
	w.resend = true
	if _, err := a.write(ctx, tx, user, w); err != nil {
		return "", err
	}
	entries, err := tx.RecordOutbox(ctx, w.Entity, w.ID)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return "", errors.New("the change was not queued")
	}
	return entries[len(entries)-1].MutationID, nil
}

// setAside returns the outbox entry mutationID, which must be set aside.
func setAside(ctx context.Context, tx *devicedb.Tx, mutationID string) (devicedb.OutboxEntry, error) {
	e, err := tx.GetOutbox(ctx, mutationID)
	if errors.Is(err, devicedb.ErrNotFound) {
		return e, schema.Errorf(schema.ECodeNotFound, "mutation_id", "no change %s waits on this tablet", mutationID)
	}
	if err != nil {
		return e, err
	}
	if e.Status != devicedb.OutboxRejected {
		return e, schema.Errorf(schema.ECodeConflict, "mutation_id",
			"this change has not been set aside by the server: it is still waiting to be sent")
	}
	return e, nil
}

func decisionOf(e devicedb.OutboxEntry, decision, by string) devicedb.Decision {
	return devicedb.Decision{Decision: decision, MutationID: e.MutationID, Entity: e.Entity, RecordID: e.RecordID,
		CaseID: e.CaseID, Fields: e.Fields, Clock: e.Clock, DeviceTime: e.DeviceTime, Error: e.Error, ChangedAt: e.CreatedAt,
		DecidedBy: by}
}

// revert puts the server's values back in the fields a discarded change set
// (see Discard). Call it after the change left the outbox.
func revert(ctx context.Context, tx *devicedb.Tx, e devicedb.OutboxEntry) error {
	rec, err := tx.GetRecord(ctx, e.Entity, e.RecordID)
	if errors.Is(err, devicedb.ErrNotFound) {
		return nil // removed from the tablet meanwhile: nothing to put back
	}
	if err != nil {
		return err
	}
	others, err := tx.RecordOutbox(ctx, e.Entity, e.RecordID)
	if err != nil {
		return err
	}
	newOnServer := rec.Version == 0 && rec.ReceivedAt.IsZero()
	if newOnServer && len(others) == 0 {
		// The server never had it and nothing else will send it.
		_, err := tx.DeleteRecord(ctx, e.Entity, e.RecordID)
		return err
	}
	if e.Current != nil && !newOnServer {
		// The rejection's answer already put the server's values on the
		// record (and pulls since have kept them fresh).
		return nil
	}
	held := map[string]bool{}
	for _, o := range others {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(o.Fields, &m); err != nil {
			return fmt.Errorf("read fields of change %s: %w", o.MutationID, err)
		}
		for f := range m {
			held[f] = true
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(e.Fields, &fields); err != nil {
		return fmt.Errorf("read the change's fields: %w", err)
	}
	changed := false
	for f, v := range fields {
		if held[f] {
			continue
		}
		have, ok := rec.Fields[f]
		if !ok {
			have = json.RawMessage("null")
		}
		if isNull(have) != isNull(v) || (!isNull(v) && !schema.SameJSON(have, v)) {
			continue // a pull brought a newer value: the server's
		}
		back := json.RawMessage("null")
		if !newOnServer {
			if b, ok := e.Before[f]; ok {
				back = b
			} else {
				continue // no earlier value known: a fresh pull will bring it
			}
		}
		if isNull(back) {
			delete(rec.Fields, f)
		} else {
			rec.Fields[f] = back
		}
		changed = true
	}
	if !changed {
		return nil
	}
	return tx.PutRecord(ctx, rec.Record)
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
