package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"doorstep/server/serverdb"
)

// verifyAudit walks the audit chain (doorstep admin audit verify): it
// prints the chain's head when the chain holds, and fails naming the first
// broken event when it does not. With --head, the head printed by an
// earlier run must still be in the trail with the same hash, which finds
// events deleted from the end (they leave no gap).
func (c *adminCmd) verifyAudit(ctx context.Context) error {
	var headID int64
	var headHash string
	if c.head != "" {
		id, hash, ok := strings.Cut(c.head, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || n < 1 || len(hash) != 64 {
			return fmt.Errorf("admin audit verify: --head must be ID:HASH as verify printed it (an event id, a colon, 64 hex digits), not %q", c.head)
		}
		headID, headHash = n, strings.ToLower(hash)
	}
	rep, err := c.db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if rep.Broken != nil {
		return fmt.Errorf("admin audit verify: the audit trail is broken at event #%d: %s (%d events read); restore from a backup and investigate who had the file",
			rep.Broken.ID, rep.Broken.Reason, rep.Events)
	}
	if headID > 0 {
		evs, err := c.db.AuditTrail(ctx, serverdb.AuditFilter{AfterID: headID - 1, Limit: 1})
		if err != nil {
			return err
		}
		switch {
		case len(evs) == 0 || evs[0].ID != headID:
			return fmt.Errorf("admin audit verify: the audit trail is broken at event #%d: the head recorded earlier is gone (the trail ends at #%d): events were deleted from its end", headID, rep.LastID)
		case evs[0].Hash != headHash:
			return fmt.Errorf("admin audit verify: the audit trail is broken at event #%d: its hash is not the one recorded earlier: the trail was rewritten from there on", headID)
		}
	}
	fmt.Fprintf(c.stdout, "audit trail intact: %d events (%d from before the chain); head %d:%s\n", rep.Events, rep.Before, rep.LastID, rep.LastHash)
	return nil
}
