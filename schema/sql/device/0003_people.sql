-- Tablet store, version 3: the names of the people the officer meets
-- (docs/sync-protocol.md §7.1), so the app says "decided by Jo Bloggs
-- (supervisor)" rather than a user id, offline.

-- people: the users of the officer's team, supervisors included, as the
-- server last sent them with a pull.
-- Invariants:
--   * the whole list is replaced at once, in the transaction that applies
--     the pull page carrying it; sync_state 'people_tag' names the list held;
--   * only a user's id, name and role: never a username or anything of a
--     password;
--   * deleted with the records by a wipe (device revoked, or the tablet
--     handed to another user).
CREATE TABLE people (
    id   TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL
) STRICT;
