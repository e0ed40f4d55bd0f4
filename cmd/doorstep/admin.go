package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"doorstep/internal/fsperm"
	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/serverdb"
)

// adminCmd does one administrative action directly on the server's store:
// the data folder's SQLite file, or the PostgreSQL database of --db. It
// works whether or not the server is running (SQLite in WAL mode lets the
// two share the file; PostgreSQL serves both), and every change is audited
// as the CLI.
type adminCmd struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	action         string
	data, secrets  string
	dbURL          string // --db: a PostgreSQL database instead of --data's SQLite file

	name, username, role, team, password string
	passwordStdin                        bool
	file, crn, officer, device           string
	head                                 string // audit verify --head
	visit                                string // verify-visit ID
	out, from                            string // backup --out, restore --from

	db *serverdb.DB
}

const adminUsage = `doorstep admin <action> [flags]

Actions:
  add-team      --name NAME
  add-user      --username U --name "Full Name" --role officer|supervisor|admin|auditor [--team NAME]
                [--password-stdin]     (prints a one-time setup code the user sets their password
                                        with; or the password on standard input, or in
                                        DOORSTEP_PASSWORD; never on the command line)
  reset-password --username U          (the password stops working, the user's tokens are revoked,
                                        a one-time setup code is printed)
  import-cases  --file cases.csv        (columns in docs/import.md; all rows or none)
  reassign      --crn X123456 --officer USERNAME
  revoke-device --device ID
  disable-user  --username U            (no sign-in; tokens revoked; dashboard session ended)
  enable-user   --username U
  unlock-user   --username U            (forgets the user's failed sign-ins from every address, so
                                         they may sign in at once; each address's own count stays)
  list-teams | list-users | list-devices
  audit verify  [--head ID:HASH]        (walk the audit chain; names the first broken event)
  verify-visit  ID [--secrets DIR]      (a signed visit as signed? by which device and officer,
                                         when received, its amendment chain; exits non-zero
                                         naming the break)
  rotate-key    [--secrets DIR]         (a new token signing key; the previous one verifies
                                         the tokens it signed for 24 hours more)
  backup        --out FILE              (a consistent copy of the database, taken beside a running
                                         server; FILE must not exist; made mode 0600)
  restore       --from FILE             (a back-up put in place as --data's database, which must
                                         hold none yet; checked, migrated, its audit chain verified)
  new-epoch                             (a new cursor epoch: every tablet pulls again from the start;
                                         after pg_restore, or a file copied into place, before any
                                         server starts on it)

Common flags: --data ./data (DOORSTEP_DATA), the server's data folder;
--db postgres://USER@HOST:5432/DATABASE (DOORSTEP_DB), the server's PostgreSQL
database instead (backup and restore: pg_dump and pg_restore, docs/operations.md).
`

// cliActor is who the audit log names for changes made from this command.
var cliActor = serverdb.Actor{UserID: "admin-cli", Role: schema.RoleAdmin}

func (c *adminCmd) ParseFlags(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(c.stderr, adminUsage)
		return errors.New("admin: no action given")
	}
	c.action, args = args[0], args[1:]
	if c.action == "audit" {
		if len(args) == 0 || args[0] != "verify" {
			fmt.Fprint(c.stderr, adminUsage)
			return errors.New("admin audit: say what to do: doorstep admin audit verify")
		}
		c.action, args = "audit verify", args[1:]
	}
	if c.action == "verify-visit" {
		// The visit's id goes before the flags or after them, as the
		// other admin examples put --data first.
		switch {
		case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
			c.visit, args = args[0], args[1:]
		case len(args) > 0 && !strings.HasPrefix(args[len(args)-1], "-") && schema.ValidID(args[len(args)-1]):
			c.visit, args = args[len(args)-1], args[:len(args)-1]
		default:
			return errors.New("admin verify-visit: say which visit: doorstep admin verify-visit ID [--data DIR]")
		}
	}
	for _, a := range args {
		if a == "-password" || a == "--password" || strings.HasPrefix(a, "-password=") || strings.HasPrefix(a, "--password=") {
			return errors.New("admin: --password is no longer taken: a password on the command line is seen by every user of the machine (ps). " +
				"Leave it out to print a one-time setup code the user sets their own password with (POST /v1/auth/setup), " +
				"or give it on standard input with --password-stdin, or in DOORSTEP_PASSWORD")
		}
	}
	fs := newFlagSet("admin "+c.action, c.stderr)
	fs.StringVar(&c.data, "data", "./data", "the server's data folder")
	fs.StringVar(&c.dbURL, "db", "", "the server's PostgreSQL database URL (as doorstep server --db); empty means SQLite in --data")
	switch c.action {
	case "add-team":
		fs.StringVar(&c.name, "name", "", "team name")
	case "add-user":
		fs.StringVar(&c.username, "username", "", "sign-in name")
		fs.StringVar(&c.name, "name", "", "full name")
		fs.StringVar(&c.role, "role", "officer", "officer, supervisor, admin or auditor")
		fs.StringVar(&c.team, "team", "", "team name (officers and supervisors)")
		fs.BoolVar(&c.passwordStdin, "password-stdin", false, "read the password from standard input (else DOORSTEP_PASSWORD, else a one-time setup code is printed)")
	case "reset-password":
		fs.StringVar(&c.username, "username", "", "sign-in name")
	case "import-cases":
		fs.StringVar(&c.file, "file", "", "CSV file of cases")
	case "reassign":
		fs.StringVar(&c.crn, "crn", "", "case reference")
		fs.StringVar(&c.officer, "officer", "", "username of the new officer")
	case "revoke-device":
		fs.StringVar(&c.device, "device", "", "device id")
	case "disable-user", "enable-user", "unlock-user":
		fs.StringVar(&c.username, "username", "", "sign-in name")
	case "list-teams", "list-users", "list-devices":
	case "audit verify":
		fs.StringVar(&c.head, "head", "", "a head recorded earlier (ID:HASH, as verify printed it) that must still be in the trail")
	case "new-epoch":
	case "verify-visit":
		fs.StringVar(&c.secrets, "secrets", "", "the server's secrets folder (its visit signing key); empty means the data folder's name + \"-secrets\"")
	case "rotate-key":
		fs.StringVar(&c.secrets, "secrets", "", "the server's secrets folder; empty means the data folder's name + \"-secrets\"")
	case "backup":
		fs.StringVar(&c.out, "out", "", "the back-up file to write (must not exist)")
	case "restore":
		fs.StringVar(&c.from, "from", "", "the back-up file to restore (made by doorstep admin backup)")
	default:
		fmt.Fprint(c.stderr, adminUsage)
		return fmt.Errorf("admin: unknown action %q", c.action)
	}
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if err := checkDBFlag(c.dbURL); err != nil {
		return fmt.Errorf("admin %s: %w", c.action, err)
	}
	return nil
}

// Run does the action. An error of the store that names a field of its
// input is told as the flag that gave it (byFlag), so that the operator
// reads "--team", not "team_id".
func (c *adminCmd) Run(ctx context.Context) error {
	return c.byFlag(c.run(ctx))
}

// adminFlags maps the fields the store's errors name to the admin flags
// that give them. A password comes on standard input or in
// DOORSTEP_PASSWORD, never as a flag.
var adminFlags = map[string]string{
	"username":         "--username",
	"name":             "--name",
	"role":             "--role",
	"team_id":          "--team",
	"password":         "the password (--password-stdin or DOORSTEP_PASSWORD)",
	"device_id":        "--device",
	"officer_username": "--officer",
	"officer_id":       "--officer",
	"crn":              "--crn",
}

// byFlag rewrites a store error naming a field as one naming the flag:
// "admin add-user: --team: officers and supervisors belong to a team; ... (required)".
// Other errors pass unchanged.
func (c *adminCmd) byFlag(err error) error {
	var e *schema.Error
	if !errors.As(err, &e) || e.Field == "" {
		return err
	}
	flag, ok := adminFlags[e.Field]
	if !ok {
		return err
	}
	return fmt.Errorf("admin %s: %s: %s (%s)", c.action, flag, e.Message, e.Code)
}

func (c *adminCmd) run(ctx context.Context) error {
	switch c.action {
	case "rotate-key":
		return c.rotateKey()
	case "restore":
		return c.restore(ctx)
	case "backup":
		if c.dbURL != "" {
			return fmt.Errorf("admin backup: --db is a PostgreSQL database: back it up with pg_dump, with the servers running (one snapshot):\n"+
				"  %s\n(docs/operations.md, Backups)", pgDumpCommand(c.dbURL))
		}
		if c.out == "" {
			return errors.New("admin backup: --out is required: the file to write the back-up to")
		}
		return c.backup(ctx)
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	switch c.action {
	case "add-team":
		return c.addTeam(ctx)
	case "add-user":
		return c.addUser(ctx)
	case "import-cases":
		return c.importCases(ctx)
	case "reassign":
		return c.reassign(ctx)
	case "revoke-device":
		if c.device == "" {
			return errors.New("admin revoke-device: --device is required")
		}
		if err := c.db.RevokeDevice(ctx, cliActor, c.device); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "device %s revoked: it gets no new tokens and wipes its data at its next contact\n", c.device)
		return nil
	case "disable-user", "enable-user":
		return c.setDisabled(ctx, c.action == "disable-user")
	case "unlock-user":
		if c.username == "" {
			return errors.New("admin unlock-user: --username is required")
		}
		n, err := c.db.ClearSignInFailures(ctx, cliActor, c.username)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "user %s unlocked: %d count(s) of failed sign-ins forgotten; they may sign in at once\n", c.username, n)
		return nil
	case "audit verify":
		return c.verifyAudit(ctx)
	case "verify-visit":
		return c.verifyVisit(ctx)
	case "new-epoch":
		return c.newEpoch(ctx)
	case "reset-password":
		if c.username == "" {
			return errors.New("admin reset-password: --username is required")
		}
		return c.printSetupCode(ctx, c.username, "password reset for")
	}
	return c.list(ctx)
}

// readOnlyActions only read the store: they open it read-only
// (serverdb.OpenReadOnly), so they answer at once beside a server that is
// writing, migrate nothing and write nothing (docs/operations.md).
var readOnlyActions = map[string]bool{
	"list-teams": true, "list-users": true, "list-devices": true, "audit verify": true, "verify-visit": true,
}

// open opens the store: --db's PostgreSQL database, or the data folder's
// SQLite file, which only add-team and add-user may create.
func (c *adminCmd) open(ctx context.Context) error {
	target := c.dbURL
	if target == "" {
		target = filepath.Join(c.data, serverDBFile)
		if _, err := os.Stat(target); err != nil && c.action != "add-team" && c.action != "add-user" {
			return fmt.Errorf("admin: no server database at %s (run the server once, or check --data, or give --db): %w", target, err)
		}
		// A read-only action makes nothing: it reads the file that is there.
	}
	if c.dbURL == "" && !readOnlyActions[c.action] {
		if err := fsperm.MakeDir(c.data, "--data folder"); err != nil {
			return fmt.Errorf("admin: %w", err)
		}
		if err := fsperm.CreateFile(target); err != nil {
			return fmt.Errorf("admin: %w", err)
		}
	}
	var opts serverdb.Options
	if c.action == "verify-visit" {
		// A countersignature holds only under the server's own key.
		if c.secrets == "" {
			c.secrets = server.DefaultSecretsDir(c.data)
		}
		key, err := server.ReadVisitKey(c.secrets)
		if err != nil {
			return fmt.Errorf("admin verify-visit: %w", err)
		}
		opts.VisitKey = key
	}
	open := serverdb.Open
	if readOnlyActions[c.action] {
		open = serverdb.OpenReadOnly
	}
	db, err := open(ctx, target, opts)
	if err != nil {
		if c.dbURL != "" {
			return fmt.Errorf("admin %s: --db %s: %w", c.action, redactedDB(c.dbURL), err)
		}
		return err
	}
	c.db = db
	return nil
}

func (c *adminCmd) addTeam(ctx context.Context) error {
	if c.name == "" {
		return errors.New("admin add-team: --name is required")
	}
	t := schema.Team{ID: schema.NewID(), Name: c.name}
	if err := c.db.CreateTeam(ctx, cliActor, t); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "team %q created (id %s)\n", t.Name, t.ID)
	return nil
}

func (c *adminCmd) addUser(ctx context.Context) error {
	u := schema.User{ID: schema.NewID(), Username: c.username, Name: c.name, Role: schema.Role(c.role)}
	if c.team != "" {
		id, err := c.teamID(ctx, c.team)
		if err != nil {
			return err
		}
		u.TeamID = id
	}
	if c.passwordStdin {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("admin add-user: --password-stdin: nothing on standard input")
		}
		c.password = strings.TrimRight(line, "\r\n")
	} else {
		c.password = os.Getenv("DOORSTEP_PASSWORD")
	}
	if err := c.db.CreateUser(ctx, cliActor, u, c.password); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "user %s created (%s, id %s)\n", u.Username, u.Role, u.ID)
	if c.password != "" {
		return nil
	}
	return c.printSetupCode(ctx, u.Username, "first password of")
}

// printSetupCode issues a one-time setup code for username and prints it
// with how to use it.
func (c *adminCmd) printSetupCode(ctx context.Context, username, what string) error {
	code, expires, err := c.db.IssueSetupCode(ctx, cliActor, username)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "one-time setup code for the %s %s: %s\n", what, username, code)
	fmt.Fprintf(c.stdout, "valid until %s; give it to them in person: they choose their password with it (POST /v1/auth/setup, docs/operations.md)\n",
		expires.UTC().Format(time.RFC3339))
	return nil
}

func (c *adminCmd) teamID(ctx context.Context, name string) (string, error) {
	teams, err := c.db.ListTeams(ctx)
	if err != nil {
		return "", err
	}
	for _, t := range teams {
		if t.Name == name || t.ID == name {
			return t.ID, nil
		}
	}
	return "", fmt.Errorf("--team: no team named %q (see: doorstep admin list-teams)", name)
}

func (c *adminCmd) importCases(ctx context.Context) error {
	if c.file == "" {
		return errors.New("admin import-cases: --file is required")
	}
	f, err := os.Open(c.file)
	if err != nil {
		return fmt.Errorf("admin import-cases: %w", err)
	}
	defer f.Close()
	rows, err := schema.ParseCasesCSV(f)
	if err != nil {
		return fmt.Errorf("%s: nothing imported:\n%w", c.file, err)
	}
	n, err := c.db.ImportCases(ctx, cliActor, rows)
	if err != nil {
		return fmt.Errorf("%s: nothing imported:\n%w", c.file, err)
	}
	fmt.Fprintf(c.stdout, "imported %d cases from %s\n", n, c.file)
	return nil
}

func (c *adminCmd) reassign(ctx context.Context) error {
	if c.crn == "" || c.officer == "" {
		return errors.New("admin reassign: --crn and --officer are required")
	}
	cases, err := c.db.List(ctx, cliActor, "case", "")
	if err != nil {
		return err
	}
	for _, r := range cases {
		var crn string
		_ = json.Unmarshal(r.Fields["crn"], &crn)
		if crn == c.crn {
			if err := c.db.ReassignCase(ctx, cliActor, r.ID, c.officer); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "case %s reassigned to %s; it leaves the previous officer's tablet at its next sync\n", c.crn, c.officer)
			return nil
		}
	}
	return fmt.Errorf("--crn: no case %q", c.crn)
}

func (c *adminCmd) list(ctx context.Context) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	switch c.action {
	case "list-teams":
		teams, err := c.db.ListTeams(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tNAME")
		for _, t := range teams {
			fmt.Fprintf(tw, "%s\t%s\n", t.ID, t.Name)
		}
	case "list-users":
		users, err := c.db.ListUsers(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, "USERNAME\tNAME\tROLE\tTEAM\tID\tDISABLED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", u.Username, u.Name, u.Role, orDash(u.TeamID), u.ID, u.Disabled)
		}
	case "list-devices":
		devs, err := c.db.ListDevices(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tUSER\tAPP\tLAST SYNC\tSKEW MS\tREVOKED")
		for _, d := range devs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%v\n", d.ID, d.UserID, orDash(d.AppVersion), orDash(string(d.LastSyncAt)), d.ClockSkewMs, d.Revoked)
		}
	}
	return nil
}

func (c *adminCmd) Close() error {
	if c.db == nil {
		return nil
	}
	return c.db.Close()
}

// newPassword returns a random password people can type: 16 characters
// from an alphabet without look-alikes, about 80 bits.
func newPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:12]) + "-" + string(b[12:])
}

// serverDBFile is the server's SQLite file inside its data folder.
const serverDBFile = "server.db"

// rotateKey makes a new token signing key (rotate-key).
func (c *adminCmd) rotateKey() error {
	if c.secrets == "" {
		c.secrets = server.DefaultSecretsDir(c.data)
	}
	kid, err := server.RotateKey(c.secrets, time.Now())
	if err != nil {
		return fmt.Errorf("admin rotate-key: %w", err)
	}
	fmt.Fprintf(c.stdout, "new token signing key %s: a running server signs with it from its next sign-in; tokens of the previous key stay valid for 24 hours, then are refused\n", kid)
	return nil
}

// setDisabled disables or enables a user (disable-user, enable-user).
func (c *adminCmd) setDisabled(ctx context.Context, disabled bool) error {
	if c.username == "" {
		return fmt.Errorf("admin %s: --username is required", c.action)
	}
	u, err := c.db.SetUserDisabled(ctx, cliActor, c.username, disabled)
	if err != nil {
		return err
	}
	if disabled {
		fmt.Fprintf(c.stdout, "user %s disabled: no sign-in, their tablets get no new tokens, their dashboard session ends\n", u.Username)
	} else {
		fmt.Fprintf(c.stdout, "user %s enabled: they sign in again\n", u.Username)
	}
	return nil
}
