-- Server store, version 12: what measures 4, 6 and 7 read of the records,
-- added to the compliance read model (issue 13;
-- docs/decisions/0052-enquiries-interventions-reviews-on-the-read-model.md).
-- The invariants of 0010_read_model.sql hold: derived only, text '' when
-- the record has no value, day columns days since 1970-01-01 (NULL when
-- there is no date).
--
-- rm_cases: rosh_date as the record holds it; rosh_due, the day its review
-- is due (policy.MonthsAfter(rosh_date, policy.RoSHReviewMonths), '' without
-- a rosh_date) and rosh_due_day that day as a number; start_day, the
-- supervision start as a number (measure 4's days to an answer).
ALTER TABLE rm_cases ADD COLUMN rosh_date TEXT NOT NULL DEFAULT '';
ALTER TABLE rm_cases ADD COLUMN rosh_due TEXT NOT NULL DEFAULT '';
ALTER TABLE rm_cases ADD COLUMN rosh_due_day INTEGER;
ALTER TABLE rm_cases ADD COLUMN start_day INTEGER;

-- rm_flags: the flag's latest review and the next one's due date (measure 7).
ALTER TABLE rm_flags ADD COLUMN last_reviewed TEXT NOT NULL DEFAULT '';
ALTER TABLE rm_flags ADD COLUMN next_review_date TEXT NOT NULL DEFAULT '';
ALTER TABLE rm_flags ADD COLUMN next_review_day INTEGER;

-- rm_referrals: why the need was (not) referred (measure 6's reasons).
ALTER TABLE rm_referrals ADD COLUMN decision_reason TEXT NOT NULL DEFAULT '';

-- rm_enquiries: why the enquiry was not requested, and the answer's day as
-- a number (measure 4).
ALTER TABLE rm_enquiries ADD COLUMN not_requested_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE rm_enquiries ADD COLUMN answered_day INTEGER;

-- The rows written before this migration lack these columns' values: the
-- read model is built again on the next open (an empty tag never matches
-- the rules', serverdb.DB.buildReadModel).
UPDATE read_model_state SET policy_tag = '' WHERE id = 1;
