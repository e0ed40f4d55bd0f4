package server

import (
	"bytes"
	"context"
	"testing"
)

// TestReportAnswersStreamed: on both engines, every compliance answer
// streamed (a server whose head is one byte, so that every report
// streams: no Content-Length) is byte for byte the answer held whole (a
// second server on the same store, whose head holds any answer), at
// every detail, gzipped or not (decision 0074).
func TestReportAnswersStreamed(t *testing.T) {
	engines(t, func(t *testing.T, tweak func(*Config)) {
		e := newEnvWith(t, func(c *Config) {
			if tweak != nil {
				tweak(c)
			}
			c.reportHeadBytes = 1
		})
		seedCompliance(t, e)
		cfg := e.srv.cfg
		cfg.Addr = "127.0.0.1:0"
		cfg.reportHeadBytes = 1 << 30
		whole, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := whole.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { whole.Close() })
		held := *e
		held.srv, held.url = whole, whole.URL()
		toks := complianceTokens(e)
		streamed := 0
		for _, who := range []string{"root", "sue"} {
			for _, m := range []string{"first-home-visits", "overdue", "contacts", "enquiries", "households", "interventions", "reviews", "workload", "exemptions"} {
				for _, detail := range []string{"full", "summary", "counts"} {
					for _, enc := range []string{"gzip", "identity"} {
						path := "/v1/compliance/" + m + "?detail=" + detail
						h := with(bearer(toks[who]), "Accept-Encoding", enc)
						got, want := e.do("GET", path, nil, h), held.do("GET", path, nil, h)
						if got.status != 200 || want.status != 200 || !bytes.Equal(got.body, want.body) {
							t.Errorf("GET %s as %s (%s): streamed %d (%d bytes), held whole %d (%d bytes); want the same 200",
								path, who, enc, got.status, len(got.body), want.status, len(want.body))
							continue
						}
						if want.header.Get("Content-Length") == "" {
							t.Errorf("GET %s as %s (%s): the answer held whole has no Content-Length", path, who, enc)
						}
						if got.header.Get("Content-Length") != "" {
							t.Errorf("GET %s as %s (%s): Content-Length %s; want the answer streamed as it is encoded", path, who, enc, got.header.Get("Content-Length"))
						}
						if ce := got.header.Get("Content-Encoding"); (ce == "gzip") != (enc == "gzip") || ce != want.header.Get("Content-Encoding") && len(want.body) >= 8<<10 {
							t.Errorf("GET %s as %s (%s): Content-Encoding %q, held whole %q", path, who, enc, ce, want.header.Get("Content-Encoding"))
						}
						streamed++
					}
				}
			}
		}
		if streamed != 2*9*3*2 {
			t.Errorf("%d answers compared, want %d", streamed, 2*9*3*2)
		}
	})
}
