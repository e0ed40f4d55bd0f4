package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"doorstep/server/serverdb"
)

// verifyVisit shows whether a visit is as its officer's tablet signed it
// (doorstep admin verify-visit ID; docs/operations.md): the device and
// officer, when the server received it, the hashes and signatures, and each
// amendment chained to it. It fails naming every break.
func (c *adminCmd) verifyVisit(ctx context.Context) error {
	chk, err := c.db.VerifyVisit(ctx, c.visit)
	if err != nil {
		return fmt.Errorf("admin verify-visit %s: %w", c.visit, err)
	}
	printSigned(c.stdout, "", chk)
	for _, a := range chk.Amendments {
		printSigned(c.stdout, "  ", a)
	}
	if len(chk.Breaks) > 0 {
		return fmt.Errorf("admin verify-visit %s: NOT as signed: %s", c.visit, strings.Join(chk.Breaks, "; "))
	}
	fmt.Fprintf(c.stdout, "%s %s is as signed\n", chk.Signature.Entity, c.visit)
	return nil
}

func printSigned(w io.Writer, indent string, c serverdb.VisitCheck) {
	s := c.Signature
	fmt.Fprintf(w, "%s%s %s (case %s)\n", indent, s.Entity, s.RecordID, s.CaseID)
	fmt.Fprintf(w, "%s  signed by officer %s on device %s; received by the server %s\n", indent, s.OfficerID, s.DeviceID, s.ReceivedAt)
	fmt.Fprintf(w, "%s  device signature: %s", indent, s.Status)
	if s.Problem != "" {
		fmt.Fprintf(w, " (%s)", s.Problem)
	}
	fmt.Fprintf(w, "; verifies now: %t; server countersignature holds: %t\n", c.DeviceKeyOK, c.CountersignatureOK)
	fmt.Fprintf(w, "%s  signed hash %s\n%s  stored hash %s\n", indent, s.ContentHash, indent, c.StoredHash)
	if s.Amends != "" {
		fmt.Fprintf(w, "%s  amends visit %s, chained to its hash %s\n", indent, s.Amends, s.AmendsHash)
	}
}
