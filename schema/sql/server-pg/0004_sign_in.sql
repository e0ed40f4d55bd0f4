-- Server store, version 4: sign-in state kept in the database rather than
-- in the server's memory (issue 11, defects 7 and 8).

-- A user's one-time setup code: an admin issues it (`doorstep admin
-- add-user`, `reset-password`) instead of choosing a password; its holder
-- sets their own password with it (POST /v1/auth/setup). Only its SHA-256
-- is stored; '' when none is outstanding. Using it, or issuing another,
-- clears it. A user with password_hash '' cannot sign in until they do.
ALTER TABLE users ADD COLUMN setup_code_hash  TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN setup_expires_at TEXT NOT NULL DEFAULT '';

-- A device's token generation: every access token carries the generation
-- it was signed in; logging out, a reused refresh token, a revocation and
-- a password reset raise it, so the access tokens signed before stop at
-- once rather than when they expire.
ALTER TABLE devices ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;
