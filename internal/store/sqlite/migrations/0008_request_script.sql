-- 0008: a reviewed change script on a request: its text, hash, tolerance,
-- dry-run and last run, as one JSON object ('' for a request without one).

ALTER TABLE requests ADD COLUMN script_json TEXT NOT NULL DEFAULT '';
