package compliance_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/compliance"
)

// Job: a context that holds a job takes no other (so a load under a
// handler's job does not wait for itself), release gives the slot back
// once however often it is called, a wait ends with its context or, after
// JobWait, with a busy error.
func TestServiceJobs(t *testing.T) {
	t.Parallel()
	svc := compliance.NewService(nil, nil)
	svc.MaxJobs, svc.JobWait = 1, 10*time.Millisecond
	ctx, release, err := svc.Job(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inner, releaseInner, err := svc.Job(ctx)
	if err != nil || inner != ctx {
		t.Fatalf("a job under a held one: %v; want the same context at once", err)
	}
	releaseInner()
	if st := svc.JobStats(); st.Running != 1 {
		t.Fatalf("the inner release gave back the outer job: %+v", st)
	}
	_, _, err = svc.Job(context.Background())
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeBusy || schema.HTTPStatus(e.Code) != 503 {
		t.Fatalf("a second job with the one held: %v; want busy (503)", err)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	svc.JobWait = time.Hour
	if _, _, err := svc.Job(gone); !errors.Is(err, context.Canceled) {
		t.Fatalf("a wait whose context ended: %v; want context.Canceled", err)
	}
	release()
	release()
	if st := svc.JobStats(); st.Running != 0 || st.Waiting != 0 || st.Refused != 1 || st.Max != 1 {
		t.Fatalf("after release (twice): %+v; want none running or waiting, 1 refused, max 1", st)
	}
	_, again, err := svc.Job(context.Background())
	if err != nil {
		t.Fatalf("a job after the release: %v", err)
	}
	again()
}
