package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// pullPage is schema.PullResponse with the records left raw (see
// devicedb.RawRecord): decoding a page costs one pass over its bytes.
type pullPage struct {
	Records    []devicedb.RawRecord `json:"records"`
	Removed    []schema.Removal     `json:"removed"`
	Cursor     string               `json:"cursor"`
	HasMore    bool                 `json:"has_more"`
	ServerTime time.Time            `json:"server_time"`
	People     []schema.Person      `json:"people"`
	PeopleTag  string               `json:"people_tag"`
	Rules      json.RawMessage      `json:"rules"`
	RulesTag   string               `json:"rules_tag"`
}

// fetched is one pull request's outcome.
type fetched struct {
	cursor string // the cursor it asked from
	page   pullPage
	ex     exchange
	err    error
}

// pullTags are the tags of the people list and of the server's visit
// rules the tablet holds: the server sends either when its own differs (a
// server that does not know the members sends neither).
type pullTags struct{ people, rules string }

// fetch asks for the page after cursor and decodes it; wait > 0 asks the
// server to hold an empty answer up to wait seconds (§7.3).
// pending >= 0 is the outbox header's count (authedCallCounted); < 0,
// the count read with the tokens.
func (a *Agent) fetch(ctx context.Context, cursor string, tags pullTags, wait, pending int) fetched {
	f := fetched{cursor: cursor}
	var body []byte
	req := schema.PullRequest{Cursor: cursor, Limit: a.cfg.PullLimit, PeopleTag: &tags.people, RulesTag: &tags.rules, Wait: wait}
	body, f.ex, f.err = a.authedCallCounted(ctx, "/v1/sync/pull", req, false, pending)
	if f.err == nil {
		if err := decodePage(body, &f.page); err != nil {
			f.err = fmt.Errorf("the answer does not decode: %w", err)
		}
	}
	return f
}

// waited is how a pull that asked the server to wait for a change ended.
type waited int

const (
	// notWaited: no wait was asked (none was wanted, or a SyncOnce was
	// under way), or the request failed.
	notWaited waited = iota
	// waitAnswered: the answer brought something, or came after at least
	// half the wait: the server holds such pulls, and the next may follow
	// at once.
	waitAnswered
	// waitIgnored: an empty answer well before the wait was up: a server
	// that ignores the member (or one stopping); the tablet polls every
	// Interval.
	waitIgnored
	// waitInterrupted: SyncOnce or SyncNow ended the wait; nothing of the
	// answer was applied, and the sync asked for follows.
	waitInterrupted
)

// fetchWaiting is fetch asking the server to wait up to wait (whole
// seconds) for a change. The wait can be ended (Agent.stopWait) by a sync
// asked for; it does not begin while a SyncOnce is under way.
func (a *Agent) fetchWaiting(ctx context.Context, cursor string, tags pullTags, wait time.Duration) (fetched, waited) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.waitMu.Lock()
	if a.foreground > 0 {
		a.waitMu.Unlock()
		return a.fetch(ctx, cursor, tags, 0, -1), notWaited
	}
	a.stopWait = cancel
	a.waitMu.Unlock()
	start := time.Now() // the server holds the answer in real time, whatever the device clock says
	f := a.fetch(wctx, cursor, tags, int(wait/time.Second), -1)
	held := time.Since(start)
	a.waitMu.Lock()
	a.stopWait = nil
	a.waitMu.Unlock()
	p := &f.page
	switch {
	case f.err != nil && wctx.Err() != nil && ctx.Err() == nil:
		return f, waitInterrupted
	case f.err != nil:
		return f, notWaited
	case len(p.Records) > 0 || len(p.Removed) > 0 || p.PeopleTag != "" || p.RulesTag != "" || p.HasMore || held >= wait/2:
		return f, waitAnswered
	}
	return f, waitIgnored
}

// pull asks for changes since the stored cursor, page after page, applying
// each page's removals and records and storing its cursor in one local
// transaction. While a page is applied the next one is already requested
// and decoded, so the network, JSON decoding and SQLite overlap. A cursor
// the server no longer knows starts a full resync from "", which keeps the
// outbox and every record it refers to. With wait > 0 the first request
// asks the server to wait for a change (fetchWaiting); a wait ended by a
// sync asked for returns at once, having applied nothing. With settle (the
// sync's push went well) the last page's transaction also stores the
// sync's outcome as a good sync (writeLastSync), and settled says it did;
// a pull that writes no page leaves that to finishSync.
//
// pushed, when not nil, is the push's last batch whose answers are still
// being stored (wait is then 0): the first request is sent meanwhile,
// saying pushed.pending, and no page is applied before the store is
// done; a store that failed fails the pull, with nothing of it applied,
// as a push that failed is not followed by a pull. The store is waited
// for whatever the pull does.
func (a *Agent) pull(ctx context.Context, rep *SyncReport, wait time.Duration, settle bool, pushed *storingPush) (w waited, settled bool, err error) {
	defer func() {
		if serr := pushed.wait(); serr != nil {
			settled, err = false, errors.Join(serr, err)
		}
	}()
	var cursor, updateRequired string
	var tags pullTags
	err = a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		if cursor, err = tx.State(ctx, devicedb.KeyCursor); err != nil {
			return err
		}
		if updateRequired, err = tx.State(ctx, devicedb.KeyUpdateRequired); err != nil {
			return err
		}
		if tags.people, err = tx.State(ctx, devicedb.KeyPeopleTag); err != nil {
			return err
		}
		r, _, err := tx.Rules(ctx)
		tags.rules = r.Tag
		return err
	})
	if err != nil {
		return notWaited, false, fmt.Errorf("pull: read cursor: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next chan fetched // the prefetch in flight, if any
	defer func() {
		if next != nil {
			cancel()
			<-next
		}
	}()
	resync, resyncTried := false, false
	var cur fetched
	w = notWaited
	if wait > 0 {
		if cur, w = a.fetchWaiting(ctx, cursor, tags, wait); w == waitInterrupted {
			rep.Requests++
			return w, false, nil
		}
	} else {
		pending := -1
		if pushed != nil {
			pending = pushed.pending
		}
		cur = a.fetch(ctx, cursor, tags, 0, pending)
	}
	for {
		rep.Requests++
		if cur.err != nil {
			he := asHTTPError(cur.err)
			switch {
			case he != nil && he.Status == http.StatusBadRequest && he.Response.Error.Code == schema.ECodeInvalid &&
				he.Response.Error.Field == "cursor" && cur.cursor != "" && !resyncTried:
				a.log.Warn("pull: the server does not know our cursor; resyncing from the start", "cursor", cur.cursor)
				resync, resyncTried = true, true
				cur = a.fetch(ctx, "", tags, 0, -1)
				continue
			case he != nil && he.Status == http.StatusUpgradeRequired:
				if serr := a.setState(ctx, devicedb.KeyUpdateRequired, "1"); serr != nil {
					a.log.Warn("pull: store update_required", "err", serr)
				}
				return w, false, fmt.Errorf("pull: %w: %w", ErrUpdateRequired, cur.err)
			}
			return w, false, fmt.Errorf("pull: %w", cur.err)
		}
		if pushed.wait() != nil {
			return w, false, nil // the deferred wait answers its error
		}
		page := &cur.page
		a.observeServer(cur.ex.sent, cur.ex.received, page.ServerTime)
		if page.HasMore && page.Cursor == cur.cursor {
			return w, false, fmt.Errorf("pull: the server said more is waiting but did not move the cursor from %q", cur.cursor)
		}
		if page.HasMore {
			next = make(chan fetched, 1)
			go func(c string, tags pullTags) { next <- a.fetch(ctx, c, tags, 0, -1) }(page.Cursor, tags)
		}
		// The server's rules are checked before the page's transaction: a
		// document that does not parse is left out, never half applied.
		var rules *serverRules
		if page.RulesTag != "" {
			rules = a.checkRules(page.Rules, page.RulesTag)
		}
		var applied, removed int
		if !resync && updateRequired == "" && len(page.Records) == 0 && len(page.Removed) == 0 && page.PeopleTag == "" &&
			rules == nil && page.Cursor == cur.cursor && !page.HasMore {
			// Nothing to apply and the cursor where it was (a no-op
			// sync): the store stays as it is, without a write.
			return w, false, nil
		}
		// The last page of a sync whose push went well ends the sync: its
		// transaction stores the outcome too (writeLastSync), one commit
		// (and one fsync) fewer than a transaction of its own after it.
		final := settle && !page.HasMore
		var now time.Time
		var skew int64
		var hasSkew bool
		if final {
			a.last.mu.Lock() // before the store's lock, as finishSync
			now, skew, hasSkew = a.cfg.Now().UTC(), a.skewMs.Load(), a.hasSkew.Load()
		}
		// Unsynced: a page lost to a power cut is pulled again from the
		// cursor that survives it (devicedb.UpdateUnsynced).
		err = a.db.UpdateUnsynced(ctx, func(tx *devicedb.Tx) error {
			if resync {
				if _, err := tx.DeleteSyncedRecords(ctx); err != nil {
					return err
				}
			}
			var err error
			if removed, err = tx.ApplyRemovals(ctx, page.Removed); err != nil {
				return err
			}
			if applied, err = tx.ApplyPulled(ctx, page.Records); err != nil {
				return err
			}
			// A tag says the page carries the whole list; without one (an
			// older server, or the list unchanged) the tablet keeps its own.
			if page.PeopleTag != "" {
				if err := tx.ReplacePeople(ctx, page.People, page.PeopleTag); err != nil {
					return err
				}
			}
			if rules != nil {
				if err := tx.SetRules(ctx, devicedb.ServerRules{Doc: page.Rules, Tag: rules.tag, Version: rules.policy.Version}); err != nil {
					return err
				}
			}
			if a.cfg.AfterApplyPage != nil {
				if err := a.cfg.AfterApplyPage(); err != nil {
					return err
				}
			}
			if err := tx.SetState(ctx, devicedb.KeyCursor, page.Cursor); err != nil {
				return err
			}
			if final {
				if err := writeLastSync(ctx, tx, "", skew, hasSkew, now, true); err != nil {
					return err
				}
			}
			return tx.SetState(ctx, devicedb.KeyUpdateRequired, "")
		})
		if final {
			if err == nil {
				a.last.at = now
			}
			a.last.stored(err, "", skew, hasSkew, now, true)
			a.last.mu.Unlock()
		}
		if err != nil {
			return w, false, fmt.Errorf("pull: apply page: %w", err)
		}
		resync, updateRequired = false, ""
		if page.PeopleTag != "" {
			tags.people = page.PeopleTag
		}
		if rules != nil {
			// From the next page the app renders on.
			tags.rules = rules.tag
			a.rules.Store(rules)
			a.log.Info("pull: visit rules from the server", "rule_version", rules.policy.Version, "tag", rules.tag)
		}
		rep.Pulled += applied
		rep.Removed += removed
		if next == nil {
			return w, final, nil
		}
		cur = <-next
		next = nil
	}
}

func (a *Agent) setState(ctx context.Context, key, value string) error {
	return a.db.Update(ctx, func(tx *devicedb.Tx) error { return tx.SetState(ctx, key, value) })
}
