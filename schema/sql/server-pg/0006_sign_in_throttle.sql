-- Server store, version 6: failed sign-ins counted in the database, shared
-- by the API's login and the dashboard's sign-in, so a restart forgets
-- nothing and several server instances agree (issue 11, defect 8;
-- docs/decisions/0027-sign-in-waits-not-lockouts.md).

-- sign_in_throttle: one counter of failed sign-ins per account and address
-- (username and address both set), per account from any address (address
-- ''), and per address for any account (username ''). The username is the
-- one typed, known or not, so a counter says nothing of who exists.
-- failures counts since the last success (for an account's counters) or
-- since a day without failures; wait_until is when the next try will be
-- checked. A success deletes its account's counters; rows a day old are
-- deleted as new failures come.
CREATE TABLE sign_in_throttle (
    username       TEXT    NOT NULL,
    address        TEXT    NOT NULL,
    failures       BIGINT NOT NULL CHECK (failures > 0),
    last_failed_at TEXT    NOT NULL,
    wait_until     TEXT    NOT NULL,
    PRIMARY KEY (username, address),
    CHECK (username <> '' OR address <> '')
);

CREATE INDEX sign_in_throttle_last ON sign_in_throttle (last_failed_at);
