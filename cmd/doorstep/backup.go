package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"doorstep/internal/fsperm"
	"doorstep/server/serverdb"
)

// backup writes a consistent copy of the server's database (doorstep
// admin backup --out FILE), with the server running or not. It opens
// no store: opening one writes, and would wait for a busy server's
// writer (serverdb.BackupFile).
func (c *adminCmd) backup(ctx context.Context) error {
	path := filepath.Join(c.data, serverDBFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("admin: no server database at %s (run the server once, or check --data, or give --db): %w", path, err)
	}
	if err := serverdb.BackupFile(ctx, path, c.out); err != nil {
		return fmt.Errorf("admin backup: %w", err)
	}
	fi, err := os.Stat(c.out)
	if err != nil {
		return fmt.Errorf("admin backup: %w", err)
	}
	fmt.Fprintf(c.stdout, "backed up %s to %s (%d bytes, mode 0600)\n", path, c.out, fi.Size())
	fmt.Fprintln(c.stdout, "it holds case data: store it encrypted; the secrets folder is not in it (back that up apart)")
	return nil
}

// restore puts a back-up in place as the data folder's database (doorstep
// admin restore --from FILE --data DIR), into a folder that holds no
// database yet, then opens it (applying the migrations the back-up
// lacks) and verifies its audit chain.
func (c *adminCmd) restore(ctx context.Context) error {
	if c.dbURL != "" {
		return fmt.Errorf("admin restore: --db is a PostgreSQL database: restore it with pg_restore into an empty database, then give it a new cursor epoch before any server starts on it:\n"+
			"  pg_restore --no-owner --dbname=%s FILE.dump\n  doorstep admin new-epoch --db %s\n(docs/operations.md, Backups)", pgRestoreTarget(c.dbURL), shellQuote(redactedDB(c.dbURL)))
	}
	if c.from == "" {
		return errors.New("admin restore: --from is required: the back-up file to restore")
	}
	if _, err := os.Stat(c.from); err != nil {
		return fmt.Errorf("admin restore: --from: %w", err)
	}
	if err := fsperm.MakeDir(c.data, "--data folder"); err != nil {
		return fmt.Errorf("admin restore: %w", err)
	}
	path := filepath.Join(c.data, serverDBFile)
	if err := serverdb.Restore(ctx, c.from, path); err != nil {
		return fmt.Errorf("admin %w", err)
	}
	var err error
	if c.db, err = serverdb.Open(ctx, path, serverdb.Options{}); err != nil {
		return fmt.Errorf("admin restore: the restored database does not open (%w); it is left at %s for a look", err, path)
	}
	rep, err := c.db.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("admin restore: %w", err)
	}
	if rep.Broken != nil {
		return fmt.Errorf("admin restore: restored to %s, but its audit trail is broken at event #%d: %s; investigate before serving it", path, rep.Broken.ID, rep.Broken.Reason)
	}
	fmt.Fprintf(c.stdout, "restored %s to %s; audit trail intact: %d events; head %d:%s\n", c.from, path, rep.Events, rep.LastID, rep.LastHash)
	fmt.Fprintf(c.stdout, "new cursor epoch %s: every tablet pulls again from the start at its next sync\n", c.db.Epoch())
	fmt.Fprintln(c.stdout, "start the server on this --data folder; restore the secrets folder from its own back-up too, or new keys are made (everyone signs in again)")
	return nil
}

// newEpoch gives the store a new cursor epoch (doorstep admin new-epoch):
// the step admin restore takes itself, for a database restored otherwise
// (pg_restore, a file copied into place). Every cursor handed out before
// is refused, and each tablet pulls again from the start, keeping its
// outbox (docs/sync-protocol.md §7, Epochs).
func (c *adminCmd) newEpoch(ctx context.Context) error {
	old := c.db.Epoch()
	epoch, err := c.db.NewEpoch(ctx, cliActor)
	if err != nil {
		return fmt.Errorf("admin new-epoch: %w", err)
	}
	fmt.Fprintf(c.stdout, "new cursor epoch %s (was %s) for %s: every tablet pulls again from the start at its next sync\n", epoch, old, storeName(c.dbURL, c.data))
	fmt.Fprintln(c.stdout, "restart every server on this database now: a server started before keeps the old epoch until it restarts")
	return nil
}
