-- 0001: users, tokens, sessions and the audit events.
--
-- Every time column holds UTC Unix nanoseconds (NULL for the zero time or
-- "not set"; events.time, a filter copy, is clamped to the int64 range while
-- events.data keeps the exact time). Optional text columns of events hold NULL rather than '' so
-- that their partial indexes stay small.

CREATE TABLE users (
	name        TEXT PRIMARY KEY,
	groups_json TEXT NOT NULL,          -- JSON array of strings, or null
	roles_json  TEXT NOT NULL,          -- JSON array of strings, or null
	from_config INTEGER NOT NULL,
	scram_salt  BLOB,
	created_at  INTEGER
);

CREATE TABLE tokens (
	id          TEXT PRIMARY KEY,
	username    TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	created_by  TEXT NOT NULL,
	created_at  INTEGER,
	expires_at  INTEGER,                -- NULL: no expiry
	revoked_at  INTEGER,                -- NULL: not revoked
	revoked_by  TEXT NOT NULL,
	note        TEXT NOT NULL,
	hash        BLOB NOT NULL UNIQUE,   -- SHA-256 of the secret; the secret is never stored
	stored_key  BLOB,
	server_key  BLOB,
	iterations  INTEGER NOT NULL
);
CREATE INDEX tokens_username ON tokens(username, created_at);
CREATE INDEX tokens_created_at ON tokens(created_at);

CREATE TABLE sessions (
	id          TEXT PRIMARY KEY,
	username    TEXT NOT NULL,
	dbname      TEXT NOT NULL,
	engine      TEXT NOT NULL,
	client_addr TEXT NOT NULL,
	application TEXT NOT NULL,
	level       INTEGER NOT NULL,       -- airlock.Level
	started_at  INTEGER,
	ended_at    INTEGER,                -- NULL: still open
	end_reason  TEXT NOT NULL
);
CREATE INDEX sessions_started_at ON sessions(started_at);
CREATE INDEX sessions_username ON sessions(username, started_at);
CREATE INDEX sessions_dbname ON sessions(dbname, started_at);
CREATE INDEX sessions_open ON sessions(started_at) WHERE ended_at IS NULL;

-- One row per audit event. id is the chain position assigned by the audit
-- pipeline; data is the whole event as JSON (encoding/json of airlock.Event),
-- which decodes back to exactly the event that was appended. The other
-- columns are copies of data's fields, kept only to filter on; '' is NULL.
--
-- Every index entry costs the append path about a microsecond, so columns
-- whose bulk is one common value (type 'statement', decision 'allowed',
-- statement_kind 'select') index only the other, rare values: a query for a
-- rare value repeats the index's WHERE term so that SQLite uses it (see
-- eventQuery), and a query for the common value finds its rows at once when
-- it scans by id.
CREATE TABLE events (
	id             INTEGER PRIMARY KEY,
	time           INTEGER,
	type           TEXT NOT NULL,
	username       TEXT,
	dbname         TEXT,
	session_id     TEXT,
	statement_kind TEXT,
	decision       TEXT,
	rule           TEXT,
	data           TEXT NOT NULL
);
CREATE INDEX events_time ON events(time);
CREATE INDEX events_username ON events(username) WHERE username IS NOT NULL;
CREATE INDEX events_dbname ON events(dbname) WHERE dbname IS NOT NULL;
CREATE INDEX events_session_id ON events(session_id) WHERE session_id IS NOT NULL;
CREATE INDEX events_rule ON events(rule) WHERE rule IS NOT NULL;
CREATE INDEX events_rare_type ON events(type) WHERE type <> 'statement';
CREATE INDEX events_rare_decision ON events(decision) WHERE decision <> 'allowed';
CREATE INDEX events_rare_statement_kind ON events(statement_kind) WHERE statement_kind <> 'select';
