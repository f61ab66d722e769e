-- Attempts to change data or escape a read session through airlock.
-- Each case is one header line (two dashes, "case:", a name) and the text
-- sent as one query.
-- Every case must be denied by airlock (42501); a case marked [database wall]
-- reaches the database (airlock cannot see what a cast or a type runs), whose
-- read-only transaction is then the wall: it must fail there without
-- changing anything; TestAdversarialCorpus checks the table afterwards.
-- case: comment hides nothing
/* DELETE FROM victim */ SELECT 1; DELETE FROM victim
-- case: line comment then write
SELECT 1 -- harmless
; DELETE FROM victim WHERE id = 1
-- case: nested comments
/* a /* nested */ still comment */ DELETE FROM victim WHERE id = 1
-- case: dollar quoted body then write
SELECT $$ '; $$; UPDATE victim SET v = 'x' WHERE id = 1
-- case: tagged dollar quote
SELECT $tag$ $$ ' " $tag$; DELETE FROM victim WHERE id = 1
-- case: E string escaped quote
SELECT E'\''; DELETE FROM victim WHERE id = 1
-- case: standard string doubled quote
SELECT 'it''s'; DELETE FROM victim WHERE id = 1
-- case: unicode escape identifier
DELETE FROM U&"\0076ictim" WHERE id = 1
-- case: quoted identifier
DELETE FROM "victim" WHERE id = 1
-- case: schema qualified
DELETE FROM public.victim WHERE id = 1
-- case: data modifying CTE
WITH x AS (DELETE FROM victim WHERE id = 1 RETURNING *) SELECT count(*) FROM x
-- case: CTE in a subquery
SELECT * FROM (WITH x AS (UPDATE victim SET v = 'y' RETURNING 1) SELECT * FROM x) s
-- case: explain analyze executes
EXPLAIN (ANALYZE, COSTS OFF) DELETE FROM victim WHERE id = 1
-- case: prepare a write
PREPARE p1 AS DELETE FROM victim WHERE id = $1
-- case: execute with dangerous argument
PREPARE p2(int) AS SELECT $1; EXECUTE p2(pg_terminate_backend(pg_backend_pid()))
-- case: set_config read write
SELECT set_config('transaction_read_only', 'off', false); DELETE FROM victim WHERE id = 1
-- case: set_config in a where clause
SELECT 1 WHERE set_config('default_transaction_read_only', 'off', true) IS NOT NULL
-- case: set local read write
BEGIN; SET LOCAL transaction_read_only = off; DELETE FROM victim WHERE id = 1; COMMIT
-- case: begin read write
BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE
-- case: start transaction read write
START TRANSACTION READ WRITE
-- case: session characteristics
SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE
-- case: reset read only
RESET default_transaction_read_only
-- case: set role
SET ROLE postgres
-- case: set session authorization
SET SESSION AUTHORIZATION postgres
-- case: set session authorization in the session characteristics form
SET SESSION SESSION AUTHORIZATION postgres
-- case: client encoding
SET client_encoding TO 'GBK'
-- case: set names
SET NAMES 'SJIS'
-- case: standard conforming strings off
SET standard_conforming_strings = off
-- case: backslash quote
SET backslash_quote = on
-- case: copy to program
COPY (SELECT 1) TO PROGRAM 'touch /tmp/airlock-pwned'
-- case: copy from file
COPY victim FROM '/etc/hostname'
-- case: large object import
SELECT lo_import('/etc/hostname')
-- case: read a server file
SELECT pg_read_file('/etc/hostname')
-- case: function with side effects
SELECT nextval('victim_id_seq')
-- case: advisory lock
SELECT pg_advisory_lock(42)
-- case: notify
SELECT pg_notify('c', 'x')
-- case: user function
SELECT public.evil()
-- case: do block
DO $$ BEGIN DELETE FROM victim; END $$
-- case: call procedure
CALL public.evil_proc()
-- case: select for update
SELECT * FROM victim WHERE id = 1 FOR UPDATE
-- case: lock exclusive
LOCK TABLE victim IN ACCESS EXCLUSIVE MODE
-- case: create temp table
CREATE TEMP TABLE t_evil AS SELECT * FROM victim
-- case: select into
SELECT * INTO evil_copy FROM victim
-- case: alter system
ALTER SYSTEM SET log_statement = 'none'
-- case: dblink style extension
CREATE EXTENSION IF NOT EXISTS dblink
-- case: load library
LOAD 'plpgsql'
-- case: vacuum
VACUUM victim
-- case: truncate
TRUNCATE victim
-- case: drop
DROP TABLE victim
-- case: grant
GRANT ALL ON victim TO PUBLIC
-- case: comment on
COMMENT ON TABLE victim IS 'pwned'
-- case: not parseable
DELETE FROM victim WHERE
-- case: NUL smuggling is a protocol violation or a parse error
SELECT 'a'; DELETE FROM victim WHERE id = (1)
-- case: operator that is not builtin
SELECT 1 OPERATOR(public.===) 1
-- case: multi statement with a write last
SELECT 1; SELECT 2; SELECT 3; INSERT INTO victim (id, v) VALUES (99, 'x')
-- case: insert with on conflict
INSERT INTO victim (id, v) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET v = 'x'
-- case: merge
MERGE INTO victim USING (SELECT 1 AS id) s ON victim.id = s.id WHEN MATCHED THEN DELETE
-- case: refresh materialized view
REFRESH MATERIALIZED VIEW victim_mv
-- case: security label
SECURITY LABEL ON TABLE victim IS 'x'
-- case: discard then write
DISCARD ALL; DELETE FROM victim WHERE id = 1
-- case: cursor over a write is not allowed by postgres either
DECLARE c CURSOR FOR DELETE FROM victim RETURNING *
-- case: table function of a user function
SELECT * FROM public.evil()
-- case: [database wall] cast through a user function
SELECT 1::text::public.evil_type
-- case: for no key update
SELECT * FROM victim WHERE id = 1 FOR NO KEY UPDATE
-- case: for key share
SELECT * FROM victim FOR KEY SHARE
-- case: row locks in a scalar subquery
SELECT (SELECT v FROM victim WHERE id = 1 FOR UPDATE)
-- case: lock row exclusive
LOCK TABLE victim IN ROW EXCLUSIVE MODE
-- case: lock default mode
LOCK victim
-- case: setval
SELECT setval('victim_id_seq', 1000)
-- case: set local role
BEGIN; SET LOCAL ROLE postgres; DELETE FROM victim WHERE id = 1; COMMIT
-- case: schema qualified set_config
SELECT pg_catalog.set_config('transaction_read_only', 'off', false)
-- case: quoted set_config
SELECT "set_config"('transaction_read_only', 'off', false)
-- case: set_config with a name from a row
SELECT set_config(name, 'off', false) FROM (VALUES ('transaction_read_only')) v(name)
-- case: set_config in rows from
SELECT * FROM ROWS FROM (set_config('transaction_read_only', 'off', false))
-- case: set_config of role
SELECT set_config('role', 'postgres', false)
-- case: set_config of a pinned setting
SELECT set_config('standard_conforming_strings', 'off', false)
-- case: default read only reset to default
SET SESSION default_transaction_read_only TO DEFAULT
-- case: read only off spelled nO
SET default_transaction_read_only = 'nO'
-- case: read only off spelled 0
SET default_transaction_read_only = 0
-- case: set_config read only off spelled no, local
SELECT set_config('default_transaction_read_only', 'no', true)
-- case: set names latin1
SET NAMES 'LATIN1'
-- case: client_encoding sql_ascii
SET client_encoding TO 'SQL_ASCII'
-- case: pinned setting reset
SET standard_conforming_strings TO DEFAULT
-- case: begin serializable read write
BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE
-- case: start transaction read only then read write
START TRANSACTION READ ONLY, READ WRITE
-- case: checkpoint
CHECKPOINT
-- case: cluster
CLUSTER victim USING victim_pkey
-- case: vacuum
VACUUM victim
-- case: analyze
ANALYZE victim
-- case: lo_export
SELECT lo_export(1, '/tmp/airlock-pwned')
-- case: cancel another backend
SELECT pg_cancel_backend(1)
-- case: reload configuration
SELECT pg_reload_conf()
-- case: switch wal
SELECT pg_switch_wal()
-- case: logical replication slot
SELECT pg_create_logical_replication_slot('airlock_pwned', 'test_decoding')
-- case: query_to_xml runs a delete
SELECT query_to_xml('DELETE FROM victim RETURNING 1', true, true, '')
-- case: query_to_xml_and_xmlschema runs a delete
SELECT * FROM query_to_xml_and_xmlschema('DELETE FROM victim RETURNING 1', true, true, '')
-- case: ts_stat runs a delete
SELECT * FROM ts_stat('DELETE FROM victim RETURNING to_tsvector(v)')
-- case: sleep then write
SELECT pg_sleep(0); DELETE FROM victim WHERE id = 1
-- case: copy to a file
COPY victim TO '/tmp/airlock-pwned'
-- case: temp table as select
CREATE TEMP TABLE t AS SELECT 1
-- case: select into temp
SELECT * INTO TEMP t2 FROM victim
-- case: user function in a where clause
SELECT * FROM victim WHERE id = (SELECT public.evil())
-- case: user function in a recursive CTE
WITH RECURSIVE x AS (SELECT public.evil() AS n) SELECT * FROM x
-- case: holdable cursor for update
DECLARE c CURSOR WITH HOLD FOR SELECT * FROM victim FOR UPDATE
-- case: advisory transaction lock
SELECT pg_advisory_xact_lock(1)
-- case: alter role default read only
ALTER ROLE CURRENT_USER SET default_transaction_read_only = off
-- case: notify
NOTIFY airlock_pwned
-- case: comment at the parser's lookahead then write
DELETE FROM victim WHERE id NOT/**/IN (2)
-- case: line comment at the parser's lookahead in a write
UPDATE victim SET v = 'x' WHERE id NOT -- c
IN (2)
