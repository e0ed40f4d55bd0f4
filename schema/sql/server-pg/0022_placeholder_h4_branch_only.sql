-- Placeholder on branch h4-sqlitepush only, so that its migration 0023
-- runs (migrations are numbered without gaps). Another helper's branch
-- holds the real migration 0022: drop this file at the merge (revert the
-- commit that added it).
SELECT 1;
