-- 0001: every record of airlock in PostgreSQL.
--
-- Times are UTC Unix nanoseconds (BIGINT; NULL for the zero time or "not
-- set"), as in the SQLite store, so that both keep the same precision and
-- range (years 1678 to 2262). Lists are JSON text.

CREATE TABLE users (
	name        TEXT PRIMARY KEY,
	groups_json TEXT NOT NULL,
	roles_json  TEXT NOT NULL,
	from_config BOOLEAN NOT NULL,
	scram_salt  BYTEA,
	created_at  BIGINT
);

CREATE TABLE tokens (
	id           TEXT PRIMARY KEY,
	username     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	created_by   TEXT NOT NULL,
	created_at   BIGINT,
	expires_at   BIGINT,               -- NULL: no expiry
	revoked_at   BIGINT,               -- NULL: not revoked
	revoked_by   TEXT NOT NULL,
	note         TEXT NOT NULL,
	hash         BYTEA NOT NULL UNIQUE, -- SHA-256 of the secret; the secret is never stored
	stored_key   BYTEA,
	server_key   BYTEA,
	iterations   INTEGER NOT NULL,
	mysql_native BYTEA,
	mysql_sha2   BYTEA,
	seq          BIGSERIAL              -- insertion order, to break ties of created_at
);
CREATE INDEX tokens_username ON tokens(username, created_at);
CREATE INDEX tokens_created_at ON tokens(created_at);

-- gateway is the ID of the gateway process that serves the session ('' for
-- sessions recorded without one), so that a gateway can find, kill or close
-- the sessions of another; kill_by is set by a kill asked through another
-- gateway until the owner ends the session.
CREATE TABLE sessions (
	id          TEXT PRIMARY KEY,
	username    TEXT NOT NULL,
	dbname      TEXT NOT NULL,
	engine      TEXT NOT NULL,
	client_addr TEXT NOT NULL,
	application TEXT NOT NULL,
	level       INTEGER NOT NULL,
	started_at  BIGINT,
	ended_at    BIGINT,                -- NULL: still open
	end_reason  TEXT NOT NULL,
	gateway     TEXT NOT NULL DEFAULT '',
	kill_by     TEXT,                  -- an admin asked to end it (RequestKill)
	seq         BIGSERIAL
);
CREATE INDEX sessions_started_at ON sessions(started_at);
CREATE INDEX sessions_username ON sessions(username, started_at);
CREATE INDEX sessions_open ON sessions(gateway) WHERE ended_at IS NULL;

-- The gateways sharing the store: each renews its lease while it runs
-- (Heartbeat); a session whose gateway's lease expired is ended by another.
CREATE TABLE gateways (
	id          TEXT PRIMARY KEY,
	started_at  BIGINT NOT NULL,
	lease_until BIGINT NOT NULL
);

CREATE TABLE requests (
	id                   TEXT PRIMARY KEY,
	username             TEXT NOT NULL,
	dbname               TEXT NOT NULL,
	level                INTEGER NOT NULL,
	tables_json          TEXT NOT NULL,
	duration_ns          BIGINT NOT NULL,
	reason               TEXT NOT NULL,
	state                TEXT NOT NULL,
	policy               TEXT NOT NULL,
	approver_groups_json TEXT NOT NULL,
	approvals_needed     INTEGER NOT NULL,
	approvals_json       TEXT NOT NULL,
	decided_by           TEXT NOT NULL,
	decision_reason      TEXT NOT NULL,
	grant_id             TEXT NOT NULL,
	created_at           BIGINT,
	expires_at           BIGINT,
	decided_at           BIGINT,
	version              INTEGER NOT NULL,
	seq                  BIGSERIAL
);
CREATE INDEX requests_created_at ON requests(created_at);
CREATE INDEX requests_pending ON requests(created_at) WHERE state = 'pending';

CREATE TABLE grants (
	id          TEXT PRIMARY KEY,
	request_id  TEXT NOT NULL,
	username    TEXT NOT NULL,
	dbname      TEXT NOT NULL,
	level       INTEGER NOT NULL,
	tables_json TEXT NOT NULL,
	created_at  BIGINT,
	expires_at  BIGINT,
	revoked_at  BIGINT,
	revoked_by  TEXT NOT NULL,
	seq         BIGSERIAL
);
CREATE INDEX grants_created_at ON grants(created_at);
CREATE INDEX grants_user_db ON grants(username, dbname, expires_at);

CREATE TABLE seen (
	key     TEXT PRIMARY KEY,
	seen_at BIGINT
);

CREATE TABLE undo (
	id          TEXT PRIMARY KEY,
	session_id  TEXT NOT NULL,
	username    TEXT NOT NULL,
	dbname      TEXT NOT NULL,
	statement   TEXT NOT NULL,
	state       TEXT NOT NULL,
	created_at  BIGINT,
	images_json TEXT NOT NULL,
	size        BIGINT NOT NULL,
	hash        TEXT NOT NULL,
	applied_by  TEXT NOT NULL,
	seq         BIGSERIAL
);
CREATE INDEX undo_session ON undo(session_id, created_at);

-- One row per audit event: id is the chain position, data the event's JSON
-- (encoding/json of airlock.Event), which decodes back to the event that
-- was appended. The other columns are copies to filter on ('' is NULL;
-- strings are made valid UTF-8 without NUL, as the filter values are).
CREATE TABLE events (
	id             BIGINT PRIMARY KEY,
	time           BIGINT,
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
CREATE INDEX events_username ON events(username, id) WHERE username IS NOT NULL;
CREATE INDEX events_dbname ON events(dbname, id) WHERE dbname IS NOT NULL;
CREATE INDEX events_session_id ON events(session_id, id) WHERE session_id IS NOT NULL;
CREATE INDEX events_rare_type ON events(type, id) WHERE type <> 'statement';
CREATE INDEX events_rare_decision ON events(decision, id) WHERE decision <> 'allowed';

-- The head of the audit chain: one row, updated in the transaction that
-- appends after it (under its row lock), so that every gateway appends to
-- one chain in one order.
CREATE TABLE chain_head (
	one     BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
	last_id BIGINT NOT NULL,
	hash    TEXT NOT NULL
);
INSERT INTO chain_head (last_id, hash) VALUES (0, '');
