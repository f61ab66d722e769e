-- 0002: access requests and the grants they give.

CREATE TABLE requests (
	id                   TEXT PRIMARY KEY,
	username             TEXT NOT NULL,
	dbname               TEXT NOT NULL,
	level                INTEGER NOT NULL,       -- airlock.Level
	tables_json          TEXT NOT NULL,          -- JSON array of schema-qualified tables
	duration_ns          INTEGER NOT NULL,
	reason               TEXT NOT NULL,
	state                TEXT NOT NULL,
	policy               TEXT NOT NULL,
	approver_groups_json TEXT NOT NULL,
	approvals_needed     INTEGER NOT NULL,
	approvals_json       TEXT NOT NULL,          -- JSON array of {user, at}
	decided_by           TEXT NOT NULL,
	decision_reason      TEXT NOT NULL,
	grant_id             TEXT NOT NULL,
	created_at           INTEGER,
	expires_at           INTEGER,
	decided_at           INTEGER,
	version              INTEGER NOT NULL
);
CREATE INDEX requests_created_at ON requests(created_at);
CREATE INDEX requests_username ON requests(username, created_at);
CREATE INDEX requests_pending ON requests(created_at) WHERE state = 'pending';

CREATE TABLE grants (
	id          TEXT PRIMARY KEY,
	request_id  TEXT NOT NULL,
	username    TEXT NOT NULL,
	dbname      TEXT NOT NULL,
	level       INTEGER NOT NULL,
	tables_json TEXT NOT NULL,
	created_at  INTEGER,
	expires_at  INTEGER,
	revoked_at  INTEGER,                -- NULL: not revoked
	revoked_by  TEXT NOT NULL
);
CREATE INDEX grants_created_at ON grants(created_at);
CREATE INDEX grants_user_db ON grants(username, dbname, expires_at);
