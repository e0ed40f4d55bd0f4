package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/serverdb"
)

// TestBenchSupervisorChangesGoThroughTheServer: the incremental pull's
// 100 changes are a supervisor's, made through the server's API, not
// through the benchmark's own handle on the server's store (with the
// server in a process of its own, that made bench service time the push
// of 100 after a second writer's changes, bench sync after the server's
// own; decision 0076). The
// server here is in this process, the benchmark attached to it with a
// handle of its own, as bench service's is.
func TestBenchSupervisorChangesGoThroughTheServer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := openServer(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "server"), Logger: newQuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	own, err := serverdb.Open(ctx, filepath.Join(dir, "server", server.DBFile), serverdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	env, err := attachBenchEnv(ctx, own, srv.URL(), filepath.Join(dir, "tablet"), "bench.", 1, false,
		func() (int64, error) { return srv.DB().WriteTransactions(), nil })
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	results, err := env.syncScenarios(ctx, filepath.Join(dir, "sync"), 200, 2)
	if err != nil {
		t.Fatal(err)
	}
	if pull := findScenario(results, "incremental pull of 100"); pull == nil || pull.Records != 100 {
		t.Fatalf("scenarios %+v, want the incremental pull of 100", results)
	}
	visits, err := srv.DB().List(ctx, cliActor, "visit", env.caseID)
	if err != nil {
		t.Fatal(err)
	}
	// The incremental pull and push are timed in incrementalRounds
	// rounds: the last round's note and date are what the visits hold.
	noted, lastNote, lastDate := 0, 0, 0
	for _, v := range visits {
		if string(v.Fields["next_visit_on"]) == fmt.Sprintf(`"2031-06-%02d"`, incrementalRounds) {
			lastDate++
		}
		note := string(v.Fields["observation_notes"])
		if !strings.HasPrefix(note, `"supervisor note `) {
			continue
		}
		noted++
		if strings.HasPrefix(note, fmt.Sprintf(`"supervisor note %d-`, incrementalRounds-1)) {
			lastNote++
		}
		if u, err := srv.DB().UserByID(ctx, v.UpdatedBy); err != nil || u.Role != schema.RoleSupervisor || u.TeamID != env.officer.TeamID {
			t.Fatalf("visit %s noted by %q (%+v, %v), want the officer's supervisor, through the server's API", v.ID, v.UpdatedBy, u, err)
		}
	}
	if noted != 100 || lastNote != 100 || lastDate != 100 {
		t.Errorf("%d visits carry the supervisor's note, %d the last round's, %d drafts the last round's next visit; want 100 each (%d rounds)",
			noted, lastNote, lastDate, incrementalRounds)
	}
	for _, name := range []string{"incremental pull of 100", "incremental push of 100"} {
		if r := findScenario(results, name); r == nil || r.Seconds <= 0 || r.Requests == 0 {
			t.Errorf("%s: %+v, want one round's figures (the median's)", name, r)
		}
	}
}
