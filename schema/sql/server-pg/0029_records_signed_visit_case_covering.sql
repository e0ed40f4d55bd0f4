-- Server store (PostgreSQL), version 29: nothing on PostgreSQL (issue 13;
-- docs/decisions/0135-measure-9s-signed-visits-read-from-a-covering-index-on-sqlite.md).
-- The SQLite file makes records_signed_visit_case cover what measure 9
-- reads of a period's signed visits; this file keeps the two stores'
-- version numbers in step. PostgreSQL plans an index-only scan only when
-- every column a statement reads is in the index, and the statement reads
-- the visits' fields (signed_at, signed_by): it would need the fields
-- themselves in the index.
SELECT 1;
