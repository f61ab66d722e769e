-- 0006: audit events stored in batches instead of a row each.
--
-- A row per event with its indexes cost the audit writer about 10 µs of CPU
-- per event, a large share of the gateway's work per statement. A batch row
-- holds the JSON of up to a few hundred consecutive events (one per line, in
-- ID order; JSON escapes every newline inside a value), and event_keys says
-- which batches hold an event of a user, database, session or rule, or of a
-- rare type, statement kind or decision (the common values 'statement',
-- 'select' and 'allowed' are not keyed: a listing of them finds its events
-- at once by scanning batches newest first). A listing narrows to batches
-- by keys, ID and time range, then filters their events.
--
-- Keys: 'u:' user, 'd:' database, 's:' session ID, 'r:' rule, 't:' type
-- other than 'statement', 'k:' statement kind other than 'select', 'x:'
-- decision other than 'allowed'.
--
-- A batch's data lives in event_data, apart from its ID and time range, so
-- that a scan of event_batches reads small rows only, and is stored
-- compressed (Snappy): consecutive events repeat most of their JSON, and
-- the audit writer's cost per event was chiefly the pages it wrote.
CREATE TABLE event_batches (
	first_id INTEGER PRIMARY KEY,  -- ID of the batch's first event
	last_id  INTEGER NOT NULL,     -- ID of its last event
	events   INTEGER NOT NULL,     -- how many events it holds
	min_time INTEGER,              -- Unix ns of its earliest event time (NULL: none has a time)
	max_time INTEGER               -- and of its latest
);
CREATE INDEX event_batches_max_time ON event_batches(max_time);

CREATE TABLE event_data (
	first_id INTEGER PRIMARY KEY,  -- event_batches.first_id
	enc      INTEGER NOT NULL,     -- 0: data is the text itself; 1: Snappy (block format) of it
	data     BLOB NOT NULL         -- the events' JSON, one per line, in ID order
);

CREATE TABLE event_keys (
	key      TEXT NOT NULL,
	first_id INTEGER NOT NULL,     -- event_batches.first_id
	PRIMARY KEY (key, first_id)
) WITHOUT ROWID;

-- Events stored before become batches of one.
INSERT INTO event_batches (first_id, last_id, events, min_time, max_time)
	SELECT id, id, 1, time, time FROM events;
INSERT INTO event_data (first_id, enc, data) SELECT id, 0, data FROM events;
INSERT OR IGNORE INTO event_keys (key, first_id)
	SELECT 'u:' || username, id FROM events WHERE username IS NOT NULL
	UNION ALL SELECT 'd:' || dbname, id FROM events WHERE dbname IS NOT NULL
	UNION ALL SELECT 's:' || session_id, id FROM events WHERE session_id IS NOT NULL
	UNION ALL SELECT 'r:' || rule, id FROM events WHERE rule IS NOT NULL
	UNION ALL SELECT 't:' || type, id FROM events WHERE type <> 'statement'
	UNION ALL SELECT 'k:' || statement_kind, id FROM events WHERE statement_kind <> 'select'
	UNION ALL SELECT 'x:' || decision, id FROM events WHERE decision <> 'allowed';
DROP TABLE events;
