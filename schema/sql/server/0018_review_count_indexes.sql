-- Server store, version 18: the review queue's count kept to the reader's
-- scope (issue 13; docs/decisions/0084-the-review-count-kept-to-the-scope.md).
-- Indexes only.

-- The queue (and the count in every dashboard page's menu) reads the
-- visits whose device signature did not verify: without an index, every
-- visit_signatures row (one a signed visit: some 900,000 at 25,000 cases)
-- was read to find the few. Partial: only the invalid ones.
CREATE INDEX visit_signatures_invalid ON visit_signatures (record_id) WHERE status = 'invalid' AND entity = 'visit';

-- A supervisor's set-aside mutations are those sent by their team's users:
-- found by user, not among every team's rejected mutations
-- (mutations_rejected is by device). Partial: only the rejected ones.
CREATE INDEX mutations_rejected_user ON mutations (user_id) WHERE status = 'rejected';
