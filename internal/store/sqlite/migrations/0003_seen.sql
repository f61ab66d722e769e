-- 0003: what alert rules have seen before (first access to a table, a new
-- client address), so that "first" survives restarts.
CREATE TABLE seen (
	key     TEXT PRIMARY KEY,
	seen_at INTEGER
);
