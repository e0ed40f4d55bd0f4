package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed sql/server/*.sql
var serverSQL embed.FS

//go:embed sql/server-pg/*.sql
var serverPostgresSQL embed.FS

//go:embed sql/device/*.sql
var deviceSQL embed.FS

// Application ids stamped into each SQLite file (PRAGMA application_id), so
// a tablet database is never opened as a server one, nor the reverse.
const (
	ServerApplicationID = 0x44535356 // "DSSV"
	DeviceApplicationID = 0x44534456 // "DSDV"
)

// Migration is one numbered SQL file, applied once, in its own transaction.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// ServerMigrations returns the server store's migrations in order.
func ServerMigrations() []Migration { return loadMigrations(serverSQL, "sql/server") }

// ServerPostgresMigrations returns the server store's migrations for
// PostgreSQL in order: the twins of ServerMigrations, one for one, with the
// same numbers and names (a test holds them so), so both engines report the
// same schema version.
func ServerPostgresMigrations() []Migration {
	return loadMigrations(serverPostgresSQL, "sql/server-pg")
}

// DeviceMigrations returns the tablet store's migrations in order.
func DeviceMigrations() []Migration { return loadMigrations(deviceSQL, "sql/device") }

func loadMigrations(fsys embed.FS, dir string) []Migration {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		panic(err)
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic(fmt.Sprintf("schema: migration %s/%s must start with a number and '_'", dir, e.Name()))
		}
		b, err := fsys.ReadFile(dir + "/" + e.Name())
		if err != nil {
			panic(err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			panic(fmt.Sprintf("schema: %s migrations must be numbered 1, 2, 3...; found %s", dir, m.Name))
		}
	}
	return out
}
