-- Server store, version 9: dashboard sign-outs kept in the database rather
-- than in the server's memory, so a restart forgets none and every server
-- instance on the database refuses a signed-out session (issue 13;
-- docs/decisions/0037-several-instances.md).

-- dashboard_signouts: the ids of dashboard sessions (the signed cookie's
-- "jti") signed out before they expired. A session whose id is here is
-- refused. expires_at is the session's own expiry: after it the cookie is
-- refused anyway, so rows past it are deleted as new sign-outs come. A row
-- is never updated.
CREATE TABLE dashboard_signouts (
    session_id    TEXT NOT NULL PRIMARY KEY,
    expires_at    TEXT NOT NULL,
    signed_out_at TEXT NOT NULL
);

CREATE INDEX dashboard_signouts_expiry ON dashboard_signouts (expires_at);
