-- Server store, version 5: the audit trail becomes tamper-evident
-- (issue 11; docs/security.md, "An audit nobody can quietly edit").
--
-- Invariants added to audit's:
--   * each event carries hash, the SHA-256 of its canonical encoding, and
--     prev_hash, the hash of the event before it (serverdb.chainHash says
--     what is encoded); `doorstep admin audit verify` walks the chain and
--     names the first event that breaks it;
--   * ids are handed out by the one writer, one more than the last, so the
--     chain has no gaps: a gap is a deleted event;
--   * events from before this migration keep hash and prev_hash empty; the
--     first event after it carries, as prev_hash, the hash the chain would
--     have had through them (docs/decisions/0024-the-audit-chain.md),
--     so they are covered too;
--   * the triggers below refuse UPDATE and DELETE. Whoever holds the file
--     can drop them: that is what the chain is for.
ALTER TABLE audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';

CREATE FUNCTION audit_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: an event is never updated';
END;
$$;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_no_update();

CREATE FUNCTION audit_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: an event is never deleted';
END;
$$;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_no_delete();

-- The investigator's filters (GET /v1/audit): what a person or a device
-- did, and what was done to the account or the device, each in time order.
-- The case filter uses audit_case (version 1).
CREATE INDEX audit_user ON audit (user_id, id);
CREATE INDEX audit_device ON audit (device_id, id) WHERE device_id <> '';
CREATE INDEX audit_user_subject ON audit (record_id, id) WHERE entity = 'user';
CREATE INDEX audit_device_subject ON audit (record_id, id) WHERE entity = 'device';
