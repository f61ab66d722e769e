-- 0003: audit events in batches instead of a row each.
--
-- A row per event with six indexes made the server's work per event the
-- limit of the audit rate. A batch row holds the JSON of up to a few
-- hundred consecutive events (encoding/json of airlock.Event, one per
-- line, in ID order), compressed with Snappy by the gateway, so that the
-- server writes a row and a few index entries per batch (the SQLite store
-- does the same, see its migration 0006). keys says which users,
-- databases, sessions and rules, and which rare types, statement kinds and
-- decisions the batch holds ('u:alice', 'd:shop', 's:ID', 'r:rule',
-- 't:token', 'k:delete', 'x:denied'); a listing narrows to batches by keys,
-- ID and time range, then filters their events.
CREATE TABLE event_batches (
	first_id BIGINT PRIMARY KEY,   -- ID of the batch's first event
	last_id  BIGINT NOT NULL,      -- and of its last
	events   INTEGER NOT NULL,     -- how many events it holds
	min_time BIGINT,               -- Unix ns of its earliest event time (NULL: none has a time)
	max_time BIGINT,               -- and of its latest
	keys     TEXT[] NOT NULL,
	enc      SMALLINT NOT NULL,    -- 0: data is the JSON lines; 1: Snappy (block format) of them
	data     BYTEA NOT NULL
);
-- Compressed already: the server need not try again.
ALTER TABLE event_batches ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE INDEX event_batches_keys ON event_batches USING GIN (keys);
CREATE INDEX event_batches_max_time ON event_batches(max_time);

-- Events stored before become batches of one.
INSERT INTO event_batches (first_id, last_id, events, min_time, max_time, keys, enc, data)
	SELECT id, id, 1, time, time,
		array_remove(ARRAY[
			CASE WHEN username IS NOT NULL THEN 'u:' || username END,
			CASE WHEN dbname IS NOT NULL THEN 'd:' || dbname END,
			CASE WHEN session_id IS NOT NULL THEN 's:' || session_id END,
			CASE WHEN rule IS NOT NULL THEN 'r:' || rule END,
			CASE WHEN type <> 'statement' AND type <> '' THEN 't:' || type END,
			CASE WHEN statement_kind <> 'select' THEN 'k:' || statement_kind END,
			CASE WHEN decision <> 'allowed' THEN 'x:' || decision END
		], NULL),
		0, convert_to(data, 'UTF8')
	FROM events;
DROP TABLE events;
