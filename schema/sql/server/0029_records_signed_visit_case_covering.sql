-- Server store, version 29: measure 9's signed visits of a period read from
-- an index alone on SQLite (issue 13;
-- docs/decisions/0135-measure-9s-signed-visits-read-from-a-covering-index-on-sqlite.md).
-- An index only: the records are as they were.
--
-- records_signed_visit_case (version 17) found a scope's signed visits of
-- the period by case and day; each was then read from its record: a seek
-- of the records table a visit (its row anywhere in the file) and its
-- fields parsed for signed_at and signed_by. Remade with the columns and
-- the expressions serverdb.Freshness reads of them (written as the query
-- writes them, and entity and signed, which the partial index's condition
-- names), SQLite reads the period's visits from the index entries alone
-- (EXPLAIN QUERY PLAN: USING COVERING INDEX). Same entries, one a signed
-- visit, wider. The PostgreSQL twin changes nothing: PostgreSQL reads no
-- expression's value from an index.
DROP INDEX records_signed_visit_case;
CREATE INDEX records_signed_visit_case ON records (case_id, substr(json_extract(fields, '$.signed_at'), 1, 10),
    json_extract(fields, '$.signed_at'), json_extract(fields, '$.signed_by'), received_at, seq, id, entity, signed)
    WHERE entity = 'visit' AND signed = 1;
