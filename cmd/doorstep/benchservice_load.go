package main

import (
	"context"
	"encoding/json"
	"fmt"

	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/serverdb"
)

// benchAdminName is the service benchmark's admin, who asks for the
// whole service's reports.
const benchAdminName = "bench.admin"

// benchLoadBatch is the records per Seed call: one transaction each.
const benchLoadBatch = 50_000

// benchMaxDevices is how many officers the loader remembers, with a case
// each, for the concurrent devices.
const benchMaxDevices = 1000

// serviceLoader adds synthetic teams to a store through its bulk path,
// serverdb.Seed: each record validated as a new one, numbered in the
// change sequence, its case's scope kept, one audit event a batch. Team i
// is synth's dataset for seed benchTeamSeed+i, its names made unique.
type serviceLoader struct {
	db         *serverdb.DB
	teams      int // loaded so far
	cases      int
	records    int
	supervisor schema.User // team 0's: the 500-case team's dashboard
	officers   []benchOfficer
	buf        []schema.Record
}

// benchOfficer is an officer and one of their cases.
type benchOfficer struct {
	user   schema.User
	caseID string
}

const benchTeamSeed = 1_000_000

// begin creates the admin.
func (l *serviceLoader) begin(ctx context.Context) error {
	admin := schema.User{ID: schema.NewID(), Username: benchAdminName, Name: "Bench Admin", Role: schema.RoleAdmin}
	return l.db.CreateUser(ctx, cliActor, admin, benchPassword)
}

// loadTo adds teams until there are n.
func (l *serviceLoader) loadTo(ctx context.Context, n int) error {
	for ; l.teams < n; l.teams++ {
		ds := synth.Generate(synth.Options{Seed: int64(benchTeamSeed + l.teams), Teams: 1,
			OfficersPerTeam: benchOfficersPerTeam, CasesPerOfficer: benchCasesPerOfficer, HistoryDays: 730})
		renameDataset(ds, fmt.Sprintf("t%04d.", l.teams))
		for _, t := range ds.Teams {
			if err := l.db.CreateTeam(ctx, cliActor, t); err != nil {
				return err
			}
		}
		firstCase := map[string]string{}
		for _, r := range ds.Records {
			if r.Entity != "case" {
				continue
			}
			var officer string
			json.Unmarshal(r.Fields["officer_id"], &officer)
			if firstCase[officer] == "" {
				firstCase[officer] = r.ID
			}
			// CRNs are unique in a dataset; make them unique in the service.
			r.Fields["crn"] = json.RawMessage(fmt.Sprintf(`"%c%06d"`, "XZ"[l.cases/1_000_000], l.cases%1_000_000))
			l.cases++
		}
		for _, u := range ds.Users {
			if u.Role == schema.RoleAdmin {
				continue // the service has one, bench.admin
			}
			if err := l.db.CreateUser(ctx, cliActor, u, benchPassword); err != nil {
				return err
			}
			switch {
			case u.Role == schema.RoleSupervisor && l.supervisor.ID == "":
				l.supervisor = u
			case u.Role == schema.RoleOfficer && len(l.officers) < benchMaxDevices && firstCase[u.ID] != "":
				l.officers = append(l.officers, benchOfficer{user: u, caseID: firstCase[u.ID]})
			}
		}
		l.buf = append(l.buf, ds.Records...)
		if len(l.buf) >= benchLoadBatch || l.teams+1 == n {
			if err := l.flush(ctx); err != nil {
				return err
			}
		}
	}
	return l.flush(ctx)
}

func (l *serviceLoader) flush(ctx context.Context) error {
	for len(l.buf) > 0 {
		n := min(len(l.buf), benchLoadBatch)
		if err := l.db.Seed(ctx, cliActor, l.buf[:n]); err != nil {
			return err
		}
		l.records += n
		l.buf = l.buf[n:]
	}
	l.buf = nil
	return nil
}

// renameDataset makes a synth dataset's usernames and team names unique
// in a service of many datasets, by prefixing them.
func renameDataset(ds *synth.Dataset, prefix string) {
	for i := range ds.Teams {
		ds.Teams[i].Name = prefix + ds.Teams[i].Name
	}
	for i := range ds.Users {
		ds.Users[i].Username = prefix + ds.Users[i].Username
	}
}
