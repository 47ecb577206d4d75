-- The first approver of a two-step request (spec §3.1 "reviewer"); the
-- second approval must come from someone else.
ALTER TABLE requests ADD COLUMN reviewer_id INTEGER NOT NULL DEFAULT 0;
