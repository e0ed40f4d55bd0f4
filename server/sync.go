package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
	"github.com/klauspost/compress/gzip"
)

// checkProtocol reads the Doorstep-Protocol header of a sync request and
// refuses a device too new for this server, or older than min
// (docs/sync-protocol.md §8).
func checkProtocol(c *fiber.Ctx, min int) (int, error) {
	h := c.Get(schema.HeaderProtocol)
	p, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || p < 1 {
		return 0, errorf(schema.ECodeInvalid, schema.HeaderProtocol, "send the %s header: the sync protocol version (a number), not %q", schema.HeaderProtocol, h)
	}
	if p > schema.ProtocolVersion {
		return p, errorf(schema.ECodeUpdateRequired, schema.HeaderProtocol, "this server speaks protocol %d, older than the app's %d; the server must be updated", schema.ProtocolVersion, p)
	}
	if p < min {
		return p, errorf(schema.ECodeUpdateRequired, schema.HeaderProtocol, "protocol %d is too old; update the app (your data and outbox are kept)", p)
	}
	return p, nil
}

// deviceInfo reads what the device says about itself from the headers.
func deviceInfo(c *fiber.Ctx, protocol int) serverdb.DeviceInfo {
	info := serverdb.DeviceInfo{Protocol: protocol, AppVersion: c.Get(schema.HeaderAppVersion)}
	if len(info.AppVersion) > 64 {
		info.AppVersion = info.AppVersion[:64]
	}
	info.Schema, _ = strconv.Atoi(c.Get(schema.HeaderSchema))
	if v, err := strconv.ParseInt(c.Get(schema.HeaderClockSkew), 10, 64); err == nil {
		info.ClockSkewMs, info.HasSkew = v, true
	}
	if v, err := strconv.Atoi(c.Get(schema.HeaderOutboxPending)); err == nil && v >= 0 {
		info.OutboxPending, info.HasOutbox = v, true
	}
	return info
}

func (s *Server) touch(c *fiber.Ctx, protocol int) {
	a := actorOf(c)
	if a.DeviceID == "" {
		return
	}
	if err := s.db.TouchDevice(c.UserContext(), a.DeviceID, deviceInfo(c, protocol), true); err != nil {
		s.log.Warn("record device sync", "device", a.DeviceID, "err", err)
	}
}

// pushBody is the push request with each mutation left raw, so that one
// mutation that does not decode is refused alone rather than failing the
// batch (one bad record never blocks the queue).
type pushBody struct {
	Mutations []json.RawMessage `json:"mutations"`
	Cursor    string            `json:"cursor"`
}

// decodedPush is a push body read: the mutations that decode, and for a
// batch where one did not, each one's place in the request (at) and the
// rejections of those that did not (results, filled in at those places).
type decodedPush struct {
	muts    []schema.Mutation
	cursor  string
	at      []int                   // nil when every mutation decoded
	results []schema.MutationResult // len = the request's mutations, when at != nil
}

// decodePush reads a push body. The common case decodes in one pass
// (fastPush, or encoding/json for what it does not expect); only
// a batch with a mutation that does not decode is taken apart mutation by
// mutation, so that one bad mutation is rejected and the rest applied.
func decodePush(body []byte) (decodedPush, error) {
	whole, err := fastPush(body)
	if err != nil {
		whole = schema.PushRequest{}
		err = json.Unmarshal(body, &whole)
	}
	if err == nil {
		if len(whole.Mutations) > schema.MaxPushMutations {
			return decodedPush{}, errorf(schema.ECodeTooLarge, "mutations", "a push holds at most %d mutations, not %d", schema.MaxPushMutations, len(whole.Mutations))
		}
		return decodedPush{muts: whole.Mutations, cursor: whole.Cursor}, nil
	}
	var req pushBody
	if err := decodeTolerant(body, &req); err != nil {
		return decodedPush{}, err
	}
	if len(req.Mutations) > schema.MaxPushMutations {
		return decodedPush{}, errorf(schema.ECodeTooLarge, "mutations", "a push holds at most %d mutations, not %d", schema.MaxPushMutations, len(req.Mutations))
	}
	d := decodedPush{cursor: req.Cursor, results: make([]schema.MutationResult, len(req.Mutations)),
		muts: make([]schema.Mutation, 0, len(req.Mutations)), at: make([]int, 0, len(req.Mutations))}
	for i, raw := range req.Mutations {
		var m schema.Mutation
		if err := json.Unmarshal(raw, &m); err != nil {
			var id struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(raw, &id)
			e := schema.AsError(jsonError(err))
			if e.Field != "" && e.Field != "body" {
				e.Field = strings.TrimPrefix(e.Field, "mutations.")
			}
			d.results[i] = schema.MutationResult{MutationID: id.ID, Status: schema.StatusRejected, Error: e}
			continue
		}
		d.muts = append(d.muts, m)
		d.at = append(d.at, i)
	}
	return d, nil
}

// push: POST /v1/sync/push.
func (s *Server) push(c *fiber.Ctx) error {
	protocol, err := checkProtocol(c, schema.MinPushProtocol)
	if err != nil {
		return err
	}
	body, err := readBody(c, schema.MaxPushBody)
	if err != nil {
		return err
	}
	d, err := decodePush(body)
	if err != nil {
		return err
	}
	s.openSealed(&d)
	res, err := s.db.PushAt(c.UserContext(), actorOf(c), d.muts, d.cursor)
	if err != nil {
		return err
	}
	results := res
	if d.at != nil {
		results = d.results
		for i, r := range res {
			results[d.at[i]] = r
		}
	}
	s.metrics.observePush(len(body), results)
	s.touch(c, protocol)
	return s.sendJSON(c, schema.PushResponse{Results: results, ServerTime: s.cfg.Now().UTC()})
}

// pull: POST /v1/sync/pull.
func (s *Server) pull(c *fiber.Ctx) error {
	protocol, err := checkProtocol(c, schema.MinPullProtocol)
	if err != nil {
		return err
	}
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	var req schema.PullRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeTolerant(body, &req); err != nil {
			return err
		}
	}
	if req.Wait < 0 {
		return errorf(schema.ECodeInvalid, "wait", "wait is the seconds to wait for a change, 0 to %d, not %d", schema.MaxPullWait, req.Wait)
	}
	if req.Wait > 0 && s.takeWaitingPull() {
		defer s.waitingPulls.Add(-1)
		return s.pullWaiting(c, req, protocol)
	}
	// A pull over --max-waiting-pulls is answered at once, as if it had
	// not asked to wait: the tablet pulls again on its interval.
	// The page is built in memory before a byte is sent, so a failure half
	// way answers a clean error rather than a truncated document.
	var buf bytes.Buffer
	gz := acceptsGzip(c)
	page := &countingWriter{w: &buf}
	var records int
	if gz {
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&buf)
		page.w = zw
		records, err = s.db.PullPage(c.UserContext(), actorOf(c), req, page)
		if err == nil {
			err = zw.Close()
		}
		gzipWriters.Put(zw)
	} else {
		records, err = s.db.PullPage(c.UserContext(), actorOf(c), req, page)
	}
	if err != nil {
		return err
	}
	if err := s.pulled(c, req, protocol, records, page.n); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	if gz {
		c.Set(fiber.HeaderContentEncoding, "gzip")
	}
	return c.Send(buf.Bytes())
}

// pulled records a page about to be sent: a supervisor's (or admin's,
// auditor's) pull reads case data, so the page asked for is audited
// before it is sent; the metrics count it, and the device's report is
// kept.
func (s *Server) pulled(c *fiber.Ctx, req schema.PullRequest, protocol, records int, bytes int64) error {
	if err := s.db.AuditRead(c.UserContext(), actorOf(c), "sync/pull", "", "", "",
		map[string]string{"cursor": req.Cursor, "limit": strconv.Itoa(req.Limit)}); err != nil {
		return err
	}
	s.metrics.observePull(records, bytes)
	s.touch(c, protocol)
	return nil
}

// pullWaiting is a pull that asked to wait (docs/sync-protocol.md §7.3):
// while the page would be empty (no record, no removal, no people or
// rules to send), it waits for the store to number a change after the
// page's cursor, on any instance, and pulls again from that cursor, until
// req.Wait seconds have passed or the server stops; then it answers the
// last page, empty or not.
func (s *Server) pullWaiting(c *fiber.Ctx, req schema.PullRequest, protocol int) error {
	wait := time.Duration(min(req.Wait, schema.MaxPullWait)) * time.Second
	ctx, cancel := context.WithTimeout(c.UserContext(), wait)
	defer cancel()
	stop := context.AfterFunc(s.stopCtx, cancel)
	defer stop()
	var buf bytes.Buffer
	var records int
	var waited time.Duration // in the store's WaitForChange, all told
	defer func() {
		if waited > 0 {
			s.metrics.pullWait.Observe(waited.Seconds())
		}
	}()
	for {
		buf.Reset()
		var err error
		records, err = s.db.PullPage(c.UserContext(), actorOf(c), req, &buf)
		if err != nil {
			return err
		}
		var page struct {
			Removed []json.RawMessage `json:"removed"`
			Cursor  string            `json:"cursor"`
			People  json.RawMessage   `json:"people"`
			Rules   json.RawMessage   `json:"rules"`
		}
		if records > 0 {
			break
		}
		if err := json.Unmarshal(buf.Bytes(), &page); err != nil {
			return fmt.Errorf("pull: read the page back: %w", err)
		}
		if len(page.Removed) > 0 || present(page.People) || present(page.Rules) {
			break
		}
		// Nothing for this device yet: its next pull would start at the
		// page's cursor, and so does this wait.
		req.Cursor = page.Cursor
		began := time.Now()
		changed, err := s.db.WaitForChange(ctx, req.Cursor)
		waited += time.Since(began)
		c.Locals(pullWaitedKey, waited)
		if err != nil {
			return err
		}
		if !changed {
			break
		}
	}
	if err := s.pulled(c, req, protocol, records, int64(buf.Len())); err != nil {
		return err
	}
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	return sendJSONBytes(c, buf.Bytes())
}

// pullWaitedKey holds, in a waiting pull's locals, the time it spent
// waiting for a change: observe leaves it out of the request's duration.
const pullWaitedKey = "sync.pull.waited"

// DefaultMaxWaitingPulls is Config.MaxWaitingPulls unless set: a pull
// waiting holds a connection (a file descriptor) and a goroutine, far
// under fiber's 262,144 concurrent connections.
const DefaultMaxWaitingPulls = 10000

// takeWaitingPull takes one of the Config.MaxWaitingPulls places of a
// pull that waits, or says there is none left (and counts the refusal);
// the caller gives a place back with s.waitingPulls.Add(-1).
func (s *Server) takeWaitingPull() bool {
	if s.waitingPulls.Add(1) > int64(s.cfg.MaxWaitingPulls) {
		s.waitingPulls.Add(-1)
		s.metrics.pullWaitRefused.Inc()
		return false
	}
	return true
}

// present says whether an answer member was sent with a value.
func present(v json.RawMessage) bool { return len(v) > 0 && string(v) != "null" }

// gzipWriters are reused: a gzip writer's tables cost more to make than a
// small page costs to compress. BestSpeed: a page of 10,000 records
// compresses about 8x either way, several times faster than the default.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

func acceptsGzip(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip")
}

// sendJSON answers v as JSON, gzipped when the client accepts it and the
// body is worth compressing.
func (s *Server) sendJSON(c *fiber.Ctx, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sendJSONBytes(c, b)
}

// sendJSONBytes answers b, already JSON, gzipped when the client accepts
// it and the body is worth compressing.
func sendJSONBytes(c *fiber.Ctx, b []byte) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	if len(b) < 8<<10 || !acceptsGzip(c) {
		return c.Send(b)
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, err := zw.Write(b)
	if err == nil {
		err = zw.Close()
	}
	gzipWriters.Put(zw)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentEncoding, "gzip")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	return c.Send(buf.Bytes())
}
