package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// healthCmd asks a server whether it is ready (GET /readyz) and exits 0
// when it answers 200: the container image's HEALTHCHECK, which has no
// curl to run (decision 0036).
type healthCmd struct {
	stdout, stderr io.Writer
	url            string
	timeout        time.Duration
	insecure       bool
}

func (c *healthCmd) ParseFlags(args []string) error {
	fs := newFlagSet("health", c.stderr)
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080/readyz", "the URL to ask: the server's /readyz (or /healthz, for liveness only)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	fs.BoolVar(&c.insecure, "insecure", false, "with https, do not check the certificate (a probe of the server's own loopback address, whose certificate names its public host)")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if !strings.HasPrefix(c.url, "http://") && !strings.HasPrefix(c.url, "https://") {
		return fmt.Errorf("health: --url must be an http:// or https:// URL, not %q", c.url)
	}
	if c.timeout <= 0 {
		return fmt.Errorf("health: --timeout: %s is not a duration above zero (e.g. 5s)", c.timeout)
	}
	return nil
}

func (c *healthCmd) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: c.insecure}}}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %s: %w", c.url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %d: %s", c.url, res.StatusCode, strings.TrimSpace(compactJSON(body)))
	}
	fmt.Fprintf(c.stdout, "%s: %s\n", c.url, strings.TrimSpace(compactJSON(body)))
	return nil
}

// compactJSON returns body on one line when it is JSON, else as it is.
func compactJSON(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return string(body)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (c *healthCmd) Close() error { return nil }
