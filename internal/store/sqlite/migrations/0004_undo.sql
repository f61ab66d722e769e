-- 0004: undo records, the rows each write changed (before and after).
CREATE TABLE undo (
	id          TEXT PRIMARY KEY,
	session_id  TEXT NOT NULL,
	username    TEXT NOT NULL,
	dbname      TEXT NOT NULL,
	statement   TEXT NOT NULL,
	state       TEXT NOT NULL,
	created_at  INTEGER,
	images_json TEXT NOT NULL,
	size        INTEGER NOT NULL,
	hash        TEXT NOT NULL,
	applied_by  TEXT NOT NULL
);
CREATE INDEX undo_session ON undo(session_id, created_at);
