-- PLACEHOLDER, to be dropped at merge: branch rm-contacts-households owns
-- migration 0011. The runner refuses a gap, and this branch's migration is
-- 0013 (rm_qa_ratings); this empty step only lets 0013 run on this branch.
SELECT 1;
