-- Server store, version 16: reserved. The brief of the report set's
-- helper (decision 0067) numbered its migration 0017 and left 0016 to
-- another branch; the versions must run 1, 2, 3..., so this file holds the
-- number until that branch's 0016 replaces it (delete this file then).
SELECT 1;
