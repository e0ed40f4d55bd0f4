-- Server store, version 3: indexes for measure 9 (serverdb.Freshness) on
-- the supervisors' dashboard (docs/supervisor.md, "Speed").

-- The signed visits of a period: the UTC-or-local day written in signed_at
-- (its first ten characters). A signed_at with an offset may fall on the
-- next or previous UTC day, so Freshness asks for one day more each side
-- and keeps the period's by the parsed instant. Partial: only signed
-- visits are in it, so other writes never touch it. The expression must be
-- written exactly so in the query for PostgreSQL to use it.
CREATE INDEX records_signed_visit_day ON records (substr(fields::jsonb ->> 'signed_at', 1, 10))
    WHERE entity = 'visit' AND signed = 1;

-- The sign events of given visits (the first arrival of the signed state),
-- found by visit id rather than by reading every sign event in scope.
-- Partial, as the query writes its terms, so other audit rows never touch it.
CREATE INDEX audit_visit_sign ON audit (record_id, id)
    WHERE entity = 'visit' AND action IN ('sign', 'create_signed');
