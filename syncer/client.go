package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// HTTPError is a non-2xx answer from the server. It unwraps to the
// *schema.Error it carried, so schema.ErrorCode works on it.
type HTTPError struct {
	Status   int
	Response schema.ErrorResponse
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Response.Error.Error())
}

// Unwrap returns the server's error.
func (e *HTTPError) Unwrap() error { return &e.Response.Error }

func asHTTPError(err error) *HTTPError {
	var he *HTTPError
	if errors.As(err, &he) {
		return he
	}
	return nil
}

// exchange is one request's timing, for the skew, and the lease its
// answer carried (lease.go).
type exchange struct {
	sent, received time.Time
	lease          string
}

// maxResponse bounds what the agent reads of one answer (a pull page of
// 10,000 large records fits).
const maxResponse = 256 << 20

// call POSTs body as JSON to path and returns the answer's body. It sets the
// protocol headers, gzips the body when asked, asks for gzip answers and
// decompresses them, and bounds the whole exchange by the timeout.
func (a *Agent) call(ctx context.Context, path string, body any, gzipBody bool, token string) ([]byte, exchange, error) {
	return a.callCounted(ctx, path, body, gzipBody, token, -1)
}

// callCounted is call with the outbox's pending count for a sync
// request's header (pending >= 0; authedCall reads it with the tokens);
// with pending < 0 the header is left out (it is optional: a count that
// could not be read).
func (a *Agent) callCounted(ctx context.Context, path string, body any, gzipBody bool, token string, pending int) ([]byte, exchange, error) {
	base, err := a.serverURL(ctx)
	if err != nil {
		return nil, exchange{}, err
	}
	var payload []byte
	switch pre := body.(type) {
	case gzippedJSON:
		payload, gzipBody = pre, true
	case encodedJSON:
		payload = pre
	default:
		if payload, err = json.Marshal(body); err != nil {
			return nil, exchange{}, fmt.Errorf("encode %s: %w", path, err)
		}
	}
	if gzipBody {
		if _, done := body.(gzippedJSON); !done {
			if payload, err = gzipJSON(payload); err != nil {
				return nil, exchange{}, fmt.Errorf("compress %s: %w", path, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(payload))
	if err != nil {
		return nil, exchange{}, fmt.Errorf("%s: %w", path, err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("Accept-Encoding", "gzip")
	if gzipBody {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set(schema.HeaderProtocol, strconv.Itoa(schema.ProtocolVersion))
	h.Set(schema.HeaderSchema, strconv.Itoa(schema.SchemaVersion))
	h.Set(schema.HeaderAppVersion, a.cfg.AppVersion)
	h.Set(schema.HeaderDeviceID, a.deviceID)
	if a.hasSkew.Load() {
		h.Set(schema.HeaderClockSkew, strconv.FormatInt(a.skewMs.Load(), 10))
	}
	if isSyncPath(path) && pending >= 0 {
		// The supervisors' freshness view shows what waits on each tablet.
		h.Set(schema.HeaderOutboxPending, strconv.Itoa(pending))
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ex := exchange{sent: a.cfg.Now()}
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, ex, fmt.Errorf("%s: %w: %w", path, ErrNetwork, err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gunzipper(resp.Body)
		if err != nil {
			return nil, ex, fmt.Errorf("%s: %w: answer is not gzip: %w", path, ErrNetwork, err)
		}
		defer func() {
			zr.Close()
			gzipReaders.Put(zr)
		}()
		r = zr
	}
	out, err := io.ReadAll(io.LimitReader(r, maxResponse))
	ex.received = a.cfg.Now()
	if err != nil {
		return nil, ex, fmt.Errorf("%s: %w: read answer: %w", path, ErrNetwork, err)
	}
	if resp.Header.Get(schema.HeaderDeviceStanding) == schema.StandingRevoked {
		// Told on any answer, an error of another kind or a success alike:
		// it is acted on as device_revoked is (checkRevoked wipes).
		return nil, ex, fmt.Errorf("%s: %w", path, &HTTPError{Status: resp.StatusCode, Response: schema.ErrorResponse{Wipe: true,
			Error: schema.Error{Code: schema.ECodeDeviceRevoked, Message: "the server says this tablet was revoked"}}})
	}
	if ex.lease = resp.Header.Get(schema.HeaderLease); ex.lease != "" && path != loginPath {
		// A sign-in pins the server's key first, and takes its lease itself.
		if lerr := a.takeLease(ctx, ex.lease, "", false); lerr != nil {
			a.log.Debug("the answer's lease was not taken", "path", path, "err", lerr)
		}
	}
	if resp.StatusCode/100 != 2 {
		he := &HTTPError{Status: resp.StatusCode}
		if json.Unmarshal(out, &he.Response) != nil || he.Response.Error.Code == "" {
			code := schema.ECodeInternal
			if resp.StatusCode >= 500 {
				code = schema.ECodeUnavailable
			}
			he.Response.Error = schema.Error{Code: code, Message: fmt.Sprintf("%s %s", resp.Status, bytes.TrimSpace(truncate(out, 200)))}
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			he.RetryAfter = time.Duration(s) * time.Second
		}
		return nil, ex, fmt.Errorf("%s: %w", path, he)
	}
	return out, ex, nil
}

// isSyncPath reports whether path is a sync request's, whose header
// carries the outbox's pending count.
func isSyncPath(path string) bool { return strings.HasPrefix(path, "/v1/sync/") }

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// authedCall is call with the stored access token. On 401 it refreshes the
// tokens once and retries; a second 401, or a refused refresh, signs the
// tablet out. 403 device_revoked erases the local data.
//
// A sync request's outbox count (its header) is read in the same read
// transaction as the tokens, one read fewer a request (decision 0109).
func (a *Agent) authedCall(ctx context.Context, path string, body any, gzipBody bool) ([]byte, exchange, error) {
	return a.authedCallCounted(ctx, path, body, gzipBody, -1)
}

// authedCallCounted is authedCall whose sync request says pending
// (>= 0) in its outbox header rather than the count read with the
// tokens: the pull that overlaps the store of a push's last answers
// (storingPush).
func (a *Agent) authedCallCounted(ctx context.Context, path string, body any, gzipBody bool, pending int) ([]byte, exchange, error) {
	var access, refresh string
	count := pending < 0 && isSyncPath(path)
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		if access, err = tx.State(ctx, devicedb.KeyAccessToken); err != nil {
			return err
		}
		if refresh, err = tx.State(ctx, devicedb.KeyRefreshToken); err != nil {
			return err
		}
		if count {
			if n, _, err := tx.CountOutbox(ctx); err == nil {
				pending = n
			}
		}
		return nil
	})
	if err != nil {
		return nil, exchange{}, err
	}
	if refresh == "" {
		return nil, exchange{}, ErrSignedOut
	}
	out, ex, err := a.callCounted(ctx, path, body, gzipBody, access, pending)
	if err = a.checkRevoked(ctx, err); err == nil || asHTTPError(err) == nil || asHTTPError(err).Status != http.StatusUnauthorized {
		return out, ex, err
	}
	if schema.ErrorCode(err) == schema.ECodeRefreshReused {
		return nil, ex, a.signOut(ctx, err)
	}
	if access, err = a.refresh(ctx, refresh); err != nil {
		return nil, ex, err
	}
	out, ex, err = a.callCounted(ctx, path, body, gzipBody, access, pending)
	if err = a.checkRevoked(ctx, err); err != nil && asHTTPError(err) != nil && asHTTPError(err).Status == http.StatusUnauthorized {
		return nil, ex, a.signOut(ctx, err)
	}
	return out, ex, err
}

// checkRevoked wipes the tablet when err is the server's device_revoked.
func (a *Agent) checkRevoked(ctx context.Context, err error) error {
	he := asHTTPError(err)
	if he == nil || he.Response.Error.Code != schema.ECodeDeviceRevoked {
		return err
	}
	if !he.Response.Wipe {
		return fmt.Errorf("%w: %w", ErrSignedOut, err)
	}
	if werr := a.wipe(ctx); werr != nil {
		return errors.Join(ErrDeviceRevoked, werr)
	}
	return ErrDeviceRevoked
}
