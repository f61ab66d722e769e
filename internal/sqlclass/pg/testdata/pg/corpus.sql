-- PostgreSQL classifier corpus: one case per "-- name:" header, the SQL text
-- up to the next header. Expected facts are in corpus.golden.json, refreshed
-- with: go test ./internal/sqlclass/pg -run TestCorpus -update
-- Lines before the first header (these) are not a case.

-- name: select-simple
SELECT 1

-- name: select-from-where-limit
SELECT id, name FROM users WHERE id = 42 LIMIT 1

-- name: select-casing
sElEcT Id FrOm UsErS wHeRe Id = 1

-- name: select-quoted-identifier
SELECT * FROM "Users" WHERE "Id" = 1

-- name: select-quoted-identifier-with-quote
SELECT * FROM "a""b" AS x

-- name: select-unicode-identifier
SELECT * FROM U&"d\0061t\+000061" AS t

-- name: select-schema-qualified
SELECT * FROM public.orders o JOIN Sales."Items" i ON i.order_id = o.id

-- name: select-catalog-qualified
SELECT * FROM postgres.public.orders

-- name: select-line-comment
-- DELETE FROM users;
SELECT 1 -- DROP TABLE users

-- name: select-nested-block-comment
/* outer /* DELETE FROM users; */ still a comment; DROP TABLE x */ SELECT count(*) FROM users

-- name: comment-hides-keyword-in-middle
SELECT/**/id/* ; DELETE FROM t */FROM/**/users

-- name: select-dollar-quoted-sql
SELECT $$DELETE FROM users; DROP TABLE users$$ AS text

-- name: select-dollar-tag-quoted
SELECT $body$ it's $$ not ; the end $body$, $x$UPDATE t SET a = 1$x$

-- name: select-e-string-escaped-quote
SELECT E'it\'s; DELETE FROM users', 'it''s'

-- name: select-e-string-backslashes
SELECT E'\\'; -- DROP TABLE x'

-- name: select-standard-string-backslash
SELECT 'a\'; SELECT 2

-- name: select-fetch-first
SELECT * FROM events ORDER BY at DESC FETCH FIRST 10 ROWS ONLY

-- name: select-limit-all
SELECT * FROM events LIMIT ALL

-- name: select-limit-in-subquery-only
SELECT * FROM (SELECT * FROM events LIMIT 5) e

-- name: select-offset-only
SELECT * FROM events OFFSET 10

-- name: select-union
SELECT id FROM a WHERE x = 1 UNION ALL SELECT id FROM b ORDER BY 1 LIMIT 3

-- name: select-intersect-except
(SELECT id FROM a INTERSECT SELECT id FROM b) EXCEPT SELECT id FROM c

-- name: values
VALUES (1, 'a'), (2, 'b')

-- name: table-command
TABLE public.users

-- name: select-nested-subqueries
SELECT * FROM users u WHERE u.id IN (SELECT user_id FROM orders WHERE total > (SELECT avg(total) FROM orders)) AND EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id)

-- name: select-joins
SELECT * FROM a LEFT JOIN b USING (id) FULL OUTER JOIN c ON c.id = b.id CROSS JOIN d NATURAL JOIN e

-- name: select-lateral
SELECT * FROM users u, LATERAL (SELECT * FROM orders o WHERE o.user_id = u.id ORDER BY o.at DESC LIMIT 1) last

-- name: select-repeated-table
SELECT * FROM users a JOIN users b ON a.manager = b.id

-- name: select-scalar-subquery-in-target
SELECT (SELECT max(at) FROM logins l WHERE l.user_id = u.id) FROM users u

-- name: select-window-aggregate
SELECT user_id, sum(total) OVER (PARTITION BY user_id ORDER BY at), count(*) FILTER (WHERE total > 0) FROM orders GROUP BY user_id, total, at HAVING count(*) > 1

-- name: select-tablesample
SELECT * FROM big TABLESAMPLE SYSTEM (1)

-- name: select-function-in-from
SELECT * FROM generate_series(1, 10) g, unnest(ARRAY[1,2]) u

-- name: select-rows-from
SELECT * FROM ROWS FROM (generate_series(1,3), json_array_elements('[1]'))

-- name: select-sql-syntax-functions
SELECT extract(year FROM now()), substring('abc' FROM 2), trim(both ' ' FROM x), position('a' IN x), overlay('abc' placing 'x' from 1), x AT TIME ZONE 'UTC' FROM t

-- name: select-like-similar-between
SELECT * FROM t WHERE a LIKE 'x%' AND b ILIKE 'y' AND c SIMILAR TO 'z' AND d BETWEEN 1 AND 2 AND e IS DISTINCT FROM f AND g NOT IN (1, 2) AND NULLIF(h, 0) IS NULL

-- name: select-json-operators
SELECT data->'a'->>'b', data #> '{a,b}', data @> '{"a":1}' FROM docs WHERE data ? 'a'

-- name: select-case-coalesce-casts
SELECT CASE WHEN a > 0 THEN 'pos' ELSE 'neg' END, coalesce(b, 0), c::text, CAST(d AS int), greatest(1, 2) FROM t

-- name: select-array-and-row
SELECT ARRAY[1,2,3], ROW(1, 'a'), (ARRAY(SELECT id FROM users))[1]

-- name: select-xmltable
SELECT * FROM docs, XMLTABLE('/rows/row' PASSING docs.x COLUMNS id int PATH '@id')

-- name: select-json-table
SELECT * FROM docs, JSON_TABLE(docs.j, '$[*]' COLUMNS (id int PATH '$.id')) jt

-- name: select-current-of-values
SELECT current_user, session_user, current_date, current_timestamp, localtime

-- name: select-into-temp
SELECT * INTO TEMP copy_of_users FROM users

-- name: select-into
SELECT id INTO archive.users_2020 FROM users WHERE created < '2021-01-01'

-- name: select-for-update
SELECT * FROM accounts WHERE id = 1 FOR UPDATE

-- name: select-for-share
SELECT * FROM accounts a JOIN owners o ON o.id = a.owner FOR SHARE

-- name: select-for-no-key-update-of
SELECT * FROM accounts a JOIN owners o ON o.id = a.owner WHERE a.id = 1 FOR NO KEY UPDATE OF a SKIP LOCKED

-- name: select-for-key-share-nowait
SELECT * FROM accounts FOR KEY SHARE NOWAIT

-- name: select-for-update-in-subquery
SELECT * FROM (SELECT * FROM jobs WHERE state = 'ready' LIMIT 1 FOR UPDATE SKIP LOCKED) j

-- name: cte-read
WITH recent AS (SELECT * FROM orders WHERE at > now() - interval '1 day') SELECT count(*) FROM recent

-- name: cte-shadows-table-name
WITH users AS (SELECT 1 AS id) SELECT * FROM users

-- name: cte-scope-does-not-leak
SELECT * FROM (WITH users AS (SELECT 1 AS id) SELECT * FROM users) x JOIN users u ON u.id = x.id

-- name: cte-sibling-reference
WITH a AS (SELECT * FROM t1), b AS (SELECT * FROM a JOIN t2 USING (id)) SELECT * FROM b

-- name: cte-forward-reference-is-a-table
WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a

-- name: cte-recursive
WITH RECURSIVE tree AS (SELECT id, parent FROM nodes WHERE parent IS NULL UNION ALL SELECT n.id, n.parent FROM nodes n JOIN tree t ON n.parent = t.id) SELECT * FROM tree

-- name: cte-delete
WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d

-- name: cte-delete-with-where
WITH d AS (DELETE FROM sessions WHERE expires < now() RETURNING *) INSERT INTO sessions_archive SELECT * FROM d

-- name: cte-update-without-where-under-select-with-where
WITH u AS (UPDATE accounts SET flagged = true RETURNING id) SELECT * FROM u WHERE id > 10

-- name: cte-insert
WITH ins AS (INSERT INTO audit_log (msg) VALUES ('x') RETURNING id) SELECT id FROM ins

-- name: cte-nested-data-modifying
WITH outer_cte AS (WITH inner_cte AS (UPDATE counters SET n = n + 1 WHERE id = 1 RETURNING n) SELECT * FROM inner_cte) SELECT * FROM outer_cte

-- name: cte-name-equals-delete-target
WITH ledger AS (SELECT 1) DELETE FROM ledger WHERE id IN (SELECT * FROM ledger)

-- name: cte-named-like-insert-target
WITH t AS (SELECT 1 AS a) INSERT INTO t SELECT a FROM t

-- name: cte-materialized
WITH x AS MATERIALIZED (SELECT * FROM big) SELECT * FROM x WHERE id = 1

-- name: cte-search-cycle
WITH RECURSIVE g(id, next) AS (SELECT id, next FROM graph UNION ALL SELECT graph.id, graph.next FROM graph JOIN g ON graph.id = g.next) CYCLE id SET is_cycle USING path SELECT * FROM g

-- name: insert-values
INSERT INTO users (name, email) VALUES ('a', 'a@example.com')

-- name: insert-select
INSERT INTO archive.orders SELECT * FROM public.orders WHERE at < now() - interval '1 year'

-- name: insert-on-conflict-update
INSERT INTO counters (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = counters.n + excluded.n

-- name: insert-returning-default-values
INSERT INTO events DEFAULT VALUES RETURNING id

-- name: insert-with-nextval
INSERT INTO t (id) VALUES (nextval('t_id_seq'))

-- name: update-with-where
UPDATE users SET name = 'x' WHERE id = 1

-- name: update-without-where
UPDATE users SET active = false

-- name: update-from
UPDATE orders o SET status = 'paid' FROM payments p WHERE p.order_id = o.id

-- name: update-where-current-of
UPDATE accounts SET balance = 0 WHERE CURRENT OF c1

-- name: update-with-subquery-in-set
UPDATE users SET score = (SELECT count(*) FROM posts WHERE posts.user_id = users.id)

-- name: update-only-alias
UPDATE ONLY public.users AS u SET name = upper(u.name) WHERE u.id < 10 RETURNING *

-- name: delete-with-where
DELETE FROM users WHERE id = 1

-- name: delete-without-where
DELETE FROM users

-- name: delete-using
DELETE FROM orders o USING users u WHERE o.user_id = u.id AND u.deleted

-- name: delete-where-true
DELETE FROM users WHERE true

-- name: delete-returning-quoted-schema
DELETE FROM "Sales"."Orders" WHERE "Id" = 5 RETURNING *

-- name: merge
MERGE INTO stock s USING incoming i ON s.item = i.item WHEN MATCHED AND i.qty = 0 THEN DELETE WHEN MATCHED THEN UPDATE SET qty = s.qty + i.qty WHEN NOT MATCHED THEN INSERT VALUES (i.item, i.qty)

-- name: merge-using-subquery
MERGE INTO t USING (SELECT * FROM staging WHERE ok) s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)

-- name: copy-to-stdout
COPY public.users (id, name) TO stdout;

-- name: copy-query-to-stdout
COPY (SELECT * FROM users WHERE active) TO STDOUT WITH (FORMAT csv, HEADER)

-- name: copy-delete-returning-to-stdout
COPY (DELETE FROM users WHERE id = 1 RETURNING *) TO STDOUT

-- name: copy-from-stdin
COPY users (id, name) FROM STDIN WITH (FORMAT csv)

-- name: copy-from-stdin-where
COPY users FROM STDIN WHERE id > 10

-- name: copy-from-file
COPY users FROM '/etc/passwd'

-- name: copy-to-file
COPY users TO '/tmp/users.csv'

-- name: copy-from-program
COPY users FROM PROGRAM 'curl http://example.com'

-- name: copy-to-program
COPY (SELECT 1) TO PROGRAM 'rm -rf /'

-- name: explain
EXPLAIN SELECT * FROM users WHERE id = 1

-- name: explain-delete
EXPLAIN DELETE FROM users

-- name: explain-analyze-select
EXPLAIN ANALYZE SELECT * FROM users

-- name: explain-analyze-delete
EXPLAIN ANALYZE DELETE FROM users WHERE id = 1

-- name: explain-analyze-option-list
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) UPDATE users SET a = 1

-- name: explain-analyze-off
EXPLAIN (ANALYZE off, COSTS on) DELETE FROM users

-- name: explain-analyze-false-string
EXPLAIN (ANALYZE 'false') INSERT INTO t VALUES (1)

-- name: explain-analyze-cte-delete
EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d

-- name: explain-analyze-function
EXPLAIN ANALYZE SELECT pg_terminate_backend(pid) FROM pg_stat_activity

-- name: explain-function-not-run
EXPLAIN SELECT pg_terminate_backend(pid) FROM pg_stat_activity

-- name: explain-create-table-as
EXPLAIN ANALYZE CREATE TABLE t2 AS SELECT * FROM t

-- name: explain-execute
EXPLAIN EXECUTE q1(1)

-- name: explain-analyze-execute
EXPLAIN ANALYZE EXECUTE q1(1)

-- name: prepare-select
PREPARE q1(int) AS SELECT * FROM users WHERE id = $1

-- name: prepare-delete
PREPARE del(int) AS DELETE FROM users WHERE id = $1

-- name: prepare-update-no-where
PREPARE wipe AS UPDATE users SET name = NULL

-- name: execute
EXECUTE q1(1)

-- name: execute-with-function-argument
EXECUTE q1(pg_terminate_backend(1))

-- name: deallocate
DEALLOCATE q1

-- name: deallocate-prepare
DEALLOCATE PREPARE q1

-- name: deallocate-all
DEALLOCATE ALL

-- name: declare-cursor
DECLARE c1 CURSOR WITH HOLD FOR SELECT * FROM big ORDER BY id

-- name: declare-cursor-for-update
DECLARE c2 CURSOR FOR SELECT * FROM accounts WHERE id > 5 FOR UPDATE

-- name: fetch
FETCH FORWARD 100 FROM c1

-- name: move
MOVE ABSOLUTE 10 IN c1

-- name: close-cursor
CLOSE c1

-- name: close-all
CLOSE ALL

-- name: func-builtin
SELECT lower(name), length(name), now(), md5('x'), to_char(now(), 'YYYY'), pg_catalog.format_type(23, NULL) FROM users

-- name: func-unknown-unqualified
SELECT do_something(1)

-- name: func-unknown-qualified
SELECT app.recalculate_totals()

-- name: func-pg-catalog-qualified-unknown
SELECT pg_catalog.no_such_function()

-- name: func-quoted-uppercase-is-not-builtin
SELECT "LOWER"('X')

-- name: func-in-where
SELECT * FROM users WHERE public.is_admin(id)

-- name: func-in-order-by
SELECT * FROM users ORDER BY audit.touch(id)

-- name: func-nested-in-builtin
SELECT coalesce(lower(app.f(1)), 'x')

-- name: func-pg-terminate-backend
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'

-- name: func-pg-cancel-backend
SELECT pg_cancel_backend(12345)

-- name: func-pg-reload-conf
SELECT pg_reload_conf()

-- name: func-pg-rotate-logfile
SELECT pg_rotate_logfile()

-- name: func-pg-read-file
SELECT pg_read_file('/etc/passwd')

-- name: func-pg-read-binary-file
SELECT pg_read_binary_file('postgresql.conf')

-- name: func-pg-ls-dir
SELECT * FROM pg_ls_dir('.')

-- name: func-pg-ls-waldir
SELECT * FROM pg_ls_waldir()

-- name: func-pg-stat-file
SELECT * FROM pg_stat_file('base')

-- name: func-lo-import
SELECT lo_import('/etc/passwd')

-- name: func-lo-export
SELECT lo_export(16400, '/tmp/x')

-- name: func-lo-writes
SELECT lo_create(0), lo_unlink(16400), lowrite(0, 'x'), lo_put(16400, 0, 'x'), lo_from_bytea(0, 'x')

-- name: func-lo-read
SELECT lo_get(16400), loread(0, 10)

-- name: func-dblink
SELECT * FROM dblink('host=other', 'SELECT 1') AS t(x int)

-- name: func-dblink-exec-qualified
SELECT public.dblink_exec('conn', 'DELETE FROM x')

-- name: func-pg-promote
SELECT pg_promote()

-- name: func-pg-switch-wal
SELECT pg_switch_wal()

-- name: func-pg-create-restore-point
SELECT pg_create_restore_point('before')

-- name: func-pg-backup-start
SELECT pg_backup_start('label')

-- name: func-replication-slot
SELECT pg_create_logical_replication_slot('s', 'pgoutput')

-- name: func-drop-replication-slot
SELECT pg_drop_replication_slot('s')

-- name: func-pg-logical
SELECT * FROM pg_logical_slot_get_changes('s', NULL, NULL)

-- name: func-replication-origin
SELECT pg_replication_origin_create('o')

-- name: func-pg-stat-reset
SELECT pg_stat_reset()

-- name: func-pg-stat-reset-single
SELECT pg_stat_reset_single_table_counters('users'::regclass)

-- name: func-log-backend-memory-contexts
SELECT pg_log_backend_memory_contexts(123)

-- name: func-import-system-collations
SELECT pg_import_system_collations('pg_catalog')

-- name: func-nextval
SELECT nextval('orders_id_seq')

-- name: func-setval
SELECT setval('orders_id_seq', 1000, true)

-- name: func-currval-lastval
SELECT currval('orders_id_seq'), lastval()

-- name: func-advisory-lock
SELECT pg_advisory_lock(42)

-- name: func-try-advisory-xact-lock
SELECT pg_try_advisory_xact_lock(1, 2)

-- name: func-advisory-unlock-all
SELECT pg_advisory_unlock_all()

-- name: func-pg-notify
SELECT pg_notify('jobs', 'new')

-- name: func-brin-summarize
SELECT brin_summarize_new_values('idx')

-- name: func-pg-sleep
SELECT pg_sleep(0.1)

-- name: func-query-to-xml-read
SELECT query_to_xml('SELECT * FROM users', true, false, '')

-- name: func-query-to-xml-hides-admin-call
SELECT query_to_xml('SELECT pg_terminate_backend(pid) FROM pg_stat_activity', true, false, '')

-- name: func-query-to-xml-dynamic
SELECT query_to_xml(q, true, false, '') FROM saved_queries

-- name: func-ts-stat
SELECT * FROM ts_stat('SELECT vector FROM apod')

-- name: operator-user-defined
SELECT 1 === 2

-- name: operator-qualified-custom-schema
SELECT a OPERATOR(app.+) b FROM t

-- name: operator-qualified-pg-catalog
SELECT a OPERATOR(pg_catalog.+) b FROM t

-- name: operator-any-subquery
SELECT * FROM t WHERE a = ANY (SELECT b FROM u)

-- name: operator-order-by-using
SELECT * FROM t ORDER BY a USING >

-- name: set-config-search-path-pg-dump
SELECT pg_catalog.set_config('search_path', '', false);

-- name: set-config-allowed
SELECT set_config('statement_timeout', '5s', true)

-- name: set-config-not-allow-listed
SELECT set_config('session_replication_role', 'replica', false)

-- name: set-config-name-not-literal
SELECT set_config(current_setting('x.name'), 'on', false)

-- name: set-config-read-only-off
SELECT set_config('default_transaction_read_only', 'off', false)

-- name: set-config-read-only-on
SELECT set_config('transaction_read_only', 'on', true)

-- name: set-config-read-only-null
SELECT set_config('default_transaction_read_only', NULL, false)

-- name: set-config-read-only-value-not-literal
SELECT set_config('default_transaction_read_only', v, false) FROM conf

-- name: set-config-role
SELECT set_config('role', 'admin', false)

-- name: set-config-session-authorization-case
SELECT set_config('Session_Authorization', 'postgres', false)

-- name: set-config-client-encoding-latin1
SELECT set_config('client_encoding', 'LATIN1', false)

-- name: set-config-client-encoding-utf8
SELECT set_config('client_encoding', 'utf-8', false)

-- name: set-config-pg-settings-pg-dump
SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'

-- name: set-config-pg-settings-unpinned
SELECT set_config(name, 'off', false) FROM pg_settings

-- name: set-config-in-cte
WITH s AS (SELECT set_config('role', 'x', false)) SELECT * FROM s

-- name: set-search-path
SET search_path = app, public

-- name: set-search-path-quoted
SET search_path TO "$user", "App"

-- name: set-schema
SET SCHEMA 'app'

-- name: set-local-statement-timeout
SET LOCAL statement_timeout = '5s'

-- name: set-lock-timeout
SET lock_timeout = 0

-- name: set-idle-in-transaction
SET idle_in_transaction_session_timeout = 0

-- name: set-application-name
SET application_name = 'psql'

-- name: set-datestyle
SET DATESTYLE = ISO

-- name: set-intervalstyle
SET INTERVALSTYLE = POSTGRES

-- name: set-time-zone
SET TIME ZONE 'Europe/Paris'

-- name: set-time-zone-interval
SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE

-- name: set-time-zone-local
SET TIME ZONE LOCAL

-- name: set-timezone-param
SET timezone = 'UTC'

-- name: set-extra-float-digits
SET extra_float_digits TO 3

-- name: set-client-min-messages
SET client_min_messages = warning

-- name: set-bytea-output
SET bytea_output = 'hex'

-- name: set-row-security
SET row_security = off

-- name: set-check-function-bodies
SET check_function_bodies = false

-- name: set-xmloption
SET xmloption = content

-- name: set-xml-option-syntax
SET XML OPTION DOCUMENT

-- name: set-synchronize-seqscans
SET synchronize_seqscans TO off

-- name: set-restrict-nonsystem-relation-kind
SET restrict_nonsystem_relation_kind = 'view'

-- name: set-work-mem
SET work_mem = '64MB'

-- name: set-default-transaction-isolation
SET default_transaction_isolation = 'serializable'

-- name: set-transaction-isolation
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY

-- name: set-transaction-serializable-deferrable
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE

-- name: set-transaction-read-write
SET TRANSACTION READ WRITE

-- name: set-session-characteristics-read-write
SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE

-- name: set-session-characteristics-isolation
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED

-- name: set-transaction-snapshot
SET TRANSACTION SNAPSHOT '00000003-0000001B-1'

-- name: set-default-transaction-read-only-off
SET default_transaction_read_only = off

-- name: set-default-transaction-read-only-on
SET default_transaction_read_only = on

-- name: set-default-transaction-read-only-true-prefix
SET default_transaction_read_only TO 't'

-- name: set-default-transaction-read-only-zero
SET default_transaction_read_only = 0

-- name: set-transaction-read-only-false
SET transaction_read_only = false

-- name: set-local-read-only-off
SET LOCAL transaction_read_only TO off

-- name: set-read-only-to-default
SET default_transaction_read_only TO DEFAULT

-- name: reset-read-only
RESET default_transaction_read_only

-- name: reset-transaction-read-only
RESET transaction_read_only

-- name: set-role
SET ROLE admin

-- name: set-local-role
SET LOCAL ROLE postgres

-- name: set-role-none
SET ROLE NONE

-- name: reset-role
RESET ROLE

-- name: set-session-authorization
SET SESSION AUTHORIZATION postgres

-- name: set-session-authorization-default
SET SESSION AUTHORIZATION DEFAULT

-- name: reset-session-authorization
RESET SESSION AUTHORIZATION

-- name: set-client-encoding-utf8
SET client_encoding = 'UTF8'

-- name: set-client-encoding-utf-8-dash
SET client_encoding TO 'utf-8'

-- name: set-client-encoding-unicode
SET client_encoding = 'Unicode'

-- name: set-client-encoding-latin1
SET client_encoding = 'LATIN1'

-- name: set-client-encoding-sjis
SET client_encoding = 'SJIS'

-- name: set-names-utf8
SET NAMES 'utf8'

-- name: set-names-gbk
SET NAMES 'GBK'

-- name: set-names-default
SET NAMES DEFAULT

-- name: reset-client-encoding
RESET client_encoding

-- name: set-standard-conforming-strings-on
SET standard_conforming_strings = on

-- name: set-standard-conforming-strings-off
SET standard_conforming_strings = off

-- name: set-standard-conforming-strings-default
SET standard_conforming_strings TO DEFAULT

-- name: set-backslash-quote-safe
SET backslash_quote = safe_encoding

-- name: set-backslash-quote-on
SET backslash_quote = on

-- name: set-session-replication-role
SET session_replication_role = replica

-- name: set-log-statement
SET log_statement = 'none'

-- name: set-enable-seqscan
SET enable_seqscan = off

-- name: set-custom-placeholder
SET app.tenant_id = '42'

-- name: reset-allowed
RESET search_path

-- name: reset-not-allowed
RESET enable_seqscan

-- name: reset-all
RESET ALL

-- name: show
SHOW search_path

-- name: show-all
SHOW ALL

-- name: show-transaction-isolation
SHOW TRANSACTION ISOLATION LEVEL

-- name: begin
BEGIN

-- name: begin-read-only
BEGIN READ ONLY

-- name: begin-read-write
BEGIN READ WRITE

-- name: begin-isolation-read-write
BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE

-- name: start-transaction
START TRANSACTION ISOLATION LEVEL REPEATABLE READ

-- name: start-transaction-read-write
START TRANSACTION READ WRITE

-- name: commit
COMMIT

-- name: commit-and-chain
COMMIT AND CHAIN

-- name: end
END

-- name: rollback
ROLLBACK

-- name: abort
ABORT

-- name: savepoint
SAVEPOINT sp1

-- name: release
RELEASE SAVEPOINT sp1

-- name: release-short
RELEASE sp1

-- name: rollback-to
ROLLBACK TO SAVEPOINT sp1

-- name: prepare-transaction
PREPARE TRANSACTION 'tx1'

-- name: commit-prepared
COMMIT PREPARED 'tx1'

-- name: rollback-prepared
ROLLBACK PREPARED 'tx1'

-- name: set-constraints
SET CONSTRAINTS ALL DEFERRED

-- name: lock-access-share
LOCK TABLE public.users IN ACCESS SHARE MODE

-- name: lock-default-mode
LOCK users

-- name: lock-row-exclusive
LOCK TABLE a, b IN ROW EXCLUSIVE MODE NOWAIT

-- name: lock-share
LOCK TABLE ONLY c IN SHARE MODE

-- name: listen
LISTEN jobs

-- name: unlisten
UNLISTEN jobs

-- name: unlisten-all
UNLISTEN *

-- name: notify
NOTIFY jobs, 'payload'

-- name: discard-all
DISCARD ALL

-- name: discard-plans
DISCARD PLANS

-- name: discard-temp
DISCARD TEMP

-- name: call-procedure
CALL app.reindex_all(true)

-- name: call-unqualified
CALL do_work()

-- name: do-block
DO $$BEGIN EXECUTE 'SET ROLE postgres'; END$$

-- name: do-block-language
DO LANGUAGE plpgsql $body$ BEGIN DELETE FROM users; END $body$

-- name: create-table
CREATE TABLE public.t (id bigserial PRIMARY KEY, name text NOT NULL DEFAULT '')

-- name: create-temp-table
CREATE TEMP TABLE scratch (id int)

-- name: create-table-references-like
CREATE TABLE child (id int REFERENCES parent (id), LIKE template INCLUDING ALL)

-- name: create-table-partition-of
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')

-- name: create-table-as
CREATE TABLE report AS SELECT user_id, count(*) FROM orders GROUP BY user_id

-- name: create-table-as-delete-cte
CREATE TABLE removed AS WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d

-- name: create-materialized-view
CREATE MATERIALIZED VIEW mv AS SELECT * FROM orders WITH NO DATA

-- name: create-view
CREATE OR REPLACE VIEW active_users AS SELECT * FROM users WHERE active

-- name: create-index
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON public.users (lower(email))

-- name: create-unique-index-where
CREATE UNIQUE INDEX ON orders (id) WHERE NOT deleted

-- name: create-sequence
CREATE SEQUENCE s START 1

-- name: alter-sequence-restart
ALTER SEQUENCE s RESTART WITH 1

-- name: alter-table-add-column
ALTER TABLE users ADD COLUMN age int DEFAULT 0

-- name: alter-table-add-column-volatile-default
ALTER TABLE users ADD COLUMN token text DEFAULT app.gen_token()

-- name: alter-table-drop-column
ALTER TABLE IF EXISTS public.users DROP COLUMN age CASCADE

-- name: alter-table-add-foreign-key
ALTER TABLE ONLY orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)

-- name: alter-table-attach-partition
ALTER TABLE events ATTACH PARTITION events_2023 FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')

-- name: alter-table-owner
ALTER TABLE public.users OWNER TO app_owner

-- name: alter-table-rename
ALTER TABLE users RENAME TO customers

-- name: alter-table-rename-column
ALTER TABLE users RENAME COLUMN name TO full_name

-- name: alter-table-set-schema
ALTER TABLE users SET SCHEMA archive

-- name: alter-index-rename
ALTER INDEX users_email_idx RENAME TO users_email_key

-- name: alter-view-owner
ALTER VIEW v OWNER TO bob

-- name: alter-function-owner
ALTER FUNCTION app.f(int) OWNER TO bob

-- name: alter-schema-rename
ALTER SCHEMA app RENAME TO app2

-- name: alter-function-set
ALTER FUNCTION app.f(int) SECURITY DEFINER

-- name: drop-table
DROP TABLE users

-- name: drop-tables-qualified-cascade
DROP TABLE IF EXISTS public.a, "B", s.c CASCADE

-- name: drop-view-index-sequence
DROP VIEW v; DROP INDEX CONCURRENTLY i; DROP SEQUENCE s

-- name: drop-function
DROP FUNCTION app.f(int)

-- name: drop-schema
DROP SCHEMA app CASCADE

-- name: drop-extension
DROP EXTENSION pgcrypto

-- name: drop-publication
DROP PUBLICATION pub

-- name: drop-server
DROP SERVER other CASCADE

-- name: truncate
TRUNCATE users

-- name: truncate-many
TRUNCATE TABLE ONLY a, public.b RESTART IDENTITY CASCADE

-- name: grant-table
GRANT SELECT, INSERT ON public.users, orders TO app

-- name: grant-all-in-schema
GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting

-- name: revoke
REVOKE ALL ON users FROM PUBLIC

-- name: grant-role
GRANT admin TO alice

-- name: revoke-role
REVOKE admin FROM alice

-- name: alter-default-privileges
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reporting

-- name: comment-on-table
COMMENT ON TABLE public.users IS 'people'

-- name: comment-on-column
COMMENT ON COLUMN users.email IS 'unique'

-- name: comment-on-extension
COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language'

-- name: security-label
SECURITY LABEL FOR selinux ON TABLE users IS 'system_u:object_r:sepgsql_table_t:s0'

-- name: vacuum
VACUUM (VERBOSE, ANALYZE) users

-- name: vacuum-full-all
VACUUM FULL

-- name: analyze
ANALYZE users (email)

-- name: cluster
CLUSTER users USING users_pkey

-- name: reindex
REINDEX TABLE CONCURRENTLY users

-- name: refresh-materialized-view
REFRESH MATERIALIZED VIEW CONCURRENTLY mv

-- name: create-function-sql-body
CREATE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + b

-- name: create-function-begin-atomic-delete
CREATE PROCEDURE app.purge() LANGUAGE sql BEGIN ATOMIC DELETE FROM sessions; END

-- name: create-function-plpgsql
CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.at := now(); RETURN NEW; END$$

-- name: create-function-language-c
CREATE FUNCTION evil() RETURNS void AS '/tmp/evil.so', 'evil' LANGUAGE C

-- name: create-trigger
CREATE TRIGGER t_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION app.touch()

-- name: create-rule
CREATE RULE keep AS ON DELETE TO users DO INSTEAD UPDATE users SET deleted = true WHERE id = OLD.id

-- name: create-policy
CREATE POLICY tenant ON orders USING (tenant_id = current_setting('app.tenant')::int)

-- name: create-schema-with-elements
CREATE SCHEMA app CREATE TABLE items (id int) CREATE VIEW v AS SELECT * FROM items

-- name: create-type-enum
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')

-- name: create-type-composite
CREATE TYPE pair AS (a int, b int)

-- name: create-domain
CREATE DOMAIN posint AS int CHECK (VALUE > 0)

-- name: create-aggregate
CREATE AGGREGATE mysum (int) (SFUNC = int4pl, STYPE = int)

-- name: create-cast
CREATE CAST (text AS mood) WITH INOUT

-- name: create-statistics
CREATE STATISTICS s1 (dependencies) ON a, b FROM t

-- name: create-extension
CREATE EXTENSION IF NOT EXISTS pgcrypto

-- name: alter-extension
ALTER EXTENSION pgcrypto UPDATE

-- name: create-database
CREATE DATABASE other

-- name: drop-database
DROP DATABASE other

-- name: alter-database-set
ALTER DATABASE shop SET default_transaction_read_only = off

-- name: create-role
CREATE ROLE bob LOGIN PASSWORD 'x'

-- name: create-user
CREATE USER carol

-- name: create-group
CREATE GROUP devs

-- name: alter-role
ALTER ROLE bob SUPERUSER

-- name: alter-user-set
ALTER USER bob SET search_path = app

-- name: alter-group-add-user
ALTER GROUP devs ADD USER bob

-- name: alter-role-rename
ALTER ROLE bob RENAME TO robert

-- name: drop-role
DROP ROLE IF EXISTS bob

-- name: drop-user
DROP USER carol

-- name: drop-owned
DROP OWNED BY bob

-- name: reassign-owned
REASSIGN OWNED BY bob TO postgres

-- name: alter-system
ALTER SYSTEM SET max_connections = 1000

-- name: checkpoint
CHECKPOINT

-- name: load
LOAD 'auto_explain'

-- name: create-server
CREATE SERVER other FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'other')

-- name: create-user-mapping
CREATE USER MAPPING FOR CURRENT_USER SERVER other OPTIONS (user 'u', password 'p')

-- name: create-fdw
CREATE FOREIGN DATA WRAPPER mywrapper

-- name: import-foreign-schema
IMPORT FOREIGN SCHEMA public FROM SERVER other INTO remote

-- name: create-foreign-table
CREATE FOREIGN TABLE remote_users (id int) SERVER other

-- name: create-subscription
CREATE SUBSCRIPTION sub CONNECTION 'host=other' PUBLICATION pub

-- name: alter-subscription
ALTER SUBSCRIPTION sub DISABLE

-- name: create-publication
CREATE PUBLICATION pub FOR TABLE users

-- name: alter-publication
ALTER PUBLICATION pub ADD TABLE orders

-- name: create-tablespace
CREATE TABLESPACE fast LOCATION '/ssd'

-- name: create-event-trigger
CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION app.log_ddl()

-- name: create-language
CREATE LANGUAGE plperlu

-- name: multi-statement
SELECT 1; UPDATE users SET a = 1 WHERE id = 2; DELETE FROM users

-- name: multi-statement-empty-parts
SELECT 1; ; SELECT 2;  -- trailing comment

-- name: multi-statement-transaction
BEGIN; SET LOCAL statement_timeout = '1s'; SELECT * FROM users FOR UPDATE; COMMIT;

-- name: multi-statement-with-comments
/* first */ SELECT 1; -- second
-- still second
SELECT 2 /* end */

-- name: multi-statement-escape-inside
SET search_path = public; SET ROLE postgres; SELECT 1

-- name: empty

-- name: whitespace-only
   	

-- name: comment-only
-- just a comment

-- name: block-comment-only
/* nothing /* here */ at all */

-- name: semicolons-only
; ;

-- name: parse-error-typo
SELEC * FROM users

-- name: parse-error-unterminated-string
SELECT 'abc

-- name: parse-error-unterminated-comment
SELECT 1 /* never closed

-- name: parse-error-in-second-statement
SELECT 1; DELETE FORM users

-- name: parse-error-mysql-syntax
SELECT * FROM `users`

-- name: parse-error-psql-meta-command
\dt

-- name: parse-error-unterminated-dollar
SELECT $$abc

-- name: psql-d
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','v','m','S','f','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;

-- name: psql-dt
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;

-- name: psql-l
SELECT d.datname as "Name",
       pg_catalog.pg_get_userbyid(d.datdba) as "Owner",
       pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding",
       d.datcollate as "Collate",
       d.datctype as "Ctype",
       d.daticulocale as "ICU Locale",
       CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS "Locale Provider",
       pg_catalog.array_to_string(d.datacl, E'\n') AS "Access privileges"
FROM pg_catalog.pg_database d
ORDER BY 1;

-- name: psql-df
SELECT n.nspname as "Schema",
  p.proname as "Name",
  pg_catalog.pg_get_function_result(p.oid) as "Result data type",
  pg_catalog.pg_get_function_arguments(p.oid) as "Argument data types",
 CASE p.prokind
  WHEN 'a' THEN 'agg'
  WHEN 'w' THEN 'window'
  WHEN 'p' THEN 'proc'
  ELSE 'func'
 END as "Type"
FROM pg_catalog.pg_proc p
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE pg_catalog.pg_function_is_visible(p.oid)
      AND n.nspname <> 'pg_catalog'
      AND n.nspname <> 'information_schema'
ORDER BY 1, 2, 4;

-- name: psql-d-table-1
SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(users)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;

-- name: psql-d-table-2
SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, '', c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '16389';

-- name: psql-d-table-3
SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '16389' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;

-- name: psql-d-table-4
SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
  pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred, i.indisreplident, c2.reltablespace
FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
  LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
WHERE c.oid = '16389' AND c.oid = i.indrelid AND i.indexrelid = c2.oid
ORDER BY i.indisprimary DESC, c2.relname;

-- name: psql-d-table-5
SELECT pol.polname, pol.polpermissive,
  CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),
  CASE pol.polcmd
    WHEN 'r' THEN 'SELECT'
    WHEN 'a' THEN 'INSERT'
    WHEN 'w' THEN 'UPDATE'
    WHEN 'd' THEN 'DELETE'
    END AS cmd
FROM pg_catalog.pg_policy pol
WHERE pol.polrelid = '16389' ORDER BY 1;

-- name: psql-d-table-6
SELECT oid, stxrelid::pg_catalog.regclass, stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,
pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,
  'd' = any(stxkind) AS ndist_enabled,
  'f' = any(stxkind) AS deps_enabled,
  'm' = any(stxkind) AS mcv_enabled,
stxstattarget
FROM pg_catalog.pg_statistic_ext
WHERE stxrelid = '16389'
ORDER BY nsp, stxname;

-- name: psql-d-table-7
SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
     JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid
WHERE pc.oid ='16389' and pg_catalog.pg_relation_is_publishable('16389')
UNION
SELECT pubname
     , pg_get_expr(pr.prqual, c.oid)
     , (CASE WHEN pr.prattrs IS NOT NULL THEN
         (SELECT string_agg(attname, ', ')
           FROM pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s,
                pg_catalog.pg_attribute
          WHERE attrelid = pr.prrelid AND attnum = prattrs[s])
        ELSE NULL END) FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid
     JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
WHERE pr.prrelid = '16389'
UNION
SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('16389')
ORDER BY 1;

-- name: psql-d-table-8
SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhparent AND i.inhrelid = '16389'
  AND c.relkind != 'p' AND c.relkind != 'I'
ORDER BY inhseqno;

-- name: psql-d-table-9
SELECT c.oid::pg_catalog.regclass, c.relkind, inhdetachpending, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhrelid AND i.inhparent = '16389'
ORDER BY pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', c.oid::pg_catalog.regclass::pg_catalog.text;

-- name: psql-dn
SELECT n.nspname AS "Name",
  pg_catalog.pg_get_userbyid(n.nspowner) AS "Owner"
FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY 1;

-- name: psql-du
SELECT r.rolname, r.rolsuper, r.rolinherit,
  r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
  r.rolconnlimit, r.rolvaliduntil,
  ARRAY(SELECT b.rolname
        FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles b ON (m.roleid = b.oid)
        WHERE m.member = r.oid) as memberof
, r.rolreplication
, r.rolbypassrls
FROM pg_catalog.pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY 1;

-- name: psql-dv
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;

-- name: psql-di
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner",
  c2.relname as "Table"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
     LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
     LEFT JOIN pg_catalog.pg_class c2 ON i.indrelid = c2.oid
WHERE c.relkind IN ('i','I','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;

-- name: psql-ds
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('S','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;

-- name: psql-dx
SELECT e.extname AS "Name", e.extversion AS "Version", n.nspname AS "Schema", c.description AS "Description"
FROM pg_catalog.pg_extension e LEFT JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace LEFT JOIN pg_catalog.pg_description c ON c.objoid = e.oid AND c.classoid = 'pg_catalog.pg_extension'::pg_catalog.regclass
ORDER BY 1;

-- name: psql-dT
SELECT n.nspname as "Schema",
  pg_catalog.format_type(t.oid, NULL) AS "Name",
  pg_catalog.obj_description(t.oid, 'pg_type') as "Description"
FROM pg_catalog.pg_type t
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE (t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid))
  AND NOT EXISTS(SELECT 1 FROM pg_catalog.pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid)
      AND n.nspname <> 'pg_catalog'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_type_is_visible(t.oid)
ORDER BY 1, 2;

-- name: psql-d-plus-table-2
SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')
, c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '16389';

-- name: psql-d-plus-table-3
SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated,
  a.attstorage,
  a.attcompression AS attcompression,
  CASE WHEN a.attstattarget=-1 THEN NULL ELSE a.attstattarget END AS attstattarget,
  pg_catalog.col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '16389' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;

-- name: psql-dp
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' END as "Type",
  pg_catalog.array_to_string(c.relacl, E'\n') AS "Access privileges",
  pg_catalog.array_to_string(ARRAY(
    SELECT attname || E':\n  ' || pg_catalog.array_to_string(attacl, E'\n  ')
    FROM pg_catalog.pg_attribute a
    WHERE attrelid = c.oid AND NOT attisdropped AND attacl IS NOT NULL
  ), E'\n') AS "Column privileges",
  pg_catalog.array_to_string(ARRAY(
    SELECT polname
    || CASE WHEN NOT polpermissive THEN
       E' (RESTRICTIVE)'
       ELSE '' END
    || CASE WHEN polcmd != '*' THEN
           E' (' || polcmd::pg_catalog.text || E'):'
       ELSE E':'
       END
    || CASE WHEN polqual IS NOT NULL THEN
           E'\n  (u): ' || pg_catalog.pg_get_expr(polqual, polrelid)
       ELSE E''
       END
    || CASE WHEN polwithcheck IS NOT NULL THEN
           E'\n  (c): ' || pg_catalog.pg_get_expr(polwithcheck, polrelid)
       ELSE E''
       END    || CASE WHEN polroles <> '{0}' THEN
           E'\n  to: ' || pg_catalog.array_to_string(
               ARRAY(
                   SELECT rolname
                   FROM pg_catalog.pg_roles
                   WHERE oid = ANY (polroles)
                   ORDER BY 1
               ), E', ')
       ELSE E''
       END
    FROM pg_catalog.pg_policy pol
    WHERE polrelid = c.oid), E'\n')
    AS "Policies"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r','v','m','S','f','p')
  AND n.nspname !~ '^pg_' AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1, 2;

-- name: pg_dump-is-in-recovery
SELECT pg_catalog.pg_is_in_recovery()

-- name: pg_dump-set-config-restrict-nonsystem
SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'

-- name: pg_dump-roles
SELECT oid, rolname FROM pg_catalog.pg_roles ORDER BY 1

-- name: pg_dump-extensions
SELECT x.tableoid, x.oid, x.extname, n.nspname, x.extrelocatable, x.extversion, x.extconfig, x.extcondition FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace

-- name: pg_dump-tables
SELECT c.tableoid, c.oid, c.relname, c.relnamespace, c.relkind, c.reltype, c.relowner, c.relchecks, c.relhasindex, c.relhasrules, c.relpages, c.relhastriggers, c.relpersistence, c.reloftype, c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner) AS acldefault, CASE WHEN c.relkind = 'f' THEN (SELECT ftserver FROM pg_catalog.pg_foreign_table WHERE ftrelid = c.oid) ELSE 0 END AS foreignserver, c.relfrozenxid, tc.relfrozenxid AS tfrozenxid, tc.oid AS toid, tc.relpages AS toastpages, tc.reloptions AS toast_reloptions, d.refobjid AS owning_tab, d.refobjsubid AS owning_col, tsp.spcname AS reltablespace, false AS relhasoids, c.relispopulated, c.relreplident, c.relrowsecurity, c.relforcerowsecurity, c.relminmxid, tc.relminmxid AS tminmxid, array_remove(array_remove(c.reloptions,'check_option=local'),'check_option=cascaded') AS reloptions, CASE WHEN 'check_option=local' = ANY (c.reloptions) THEN 'LOCAL'::text WHEN 'check_option=cascaded' = ANY (c.reloptions) THEN 'CASCADED'::text ELSE NULL END AS checkoption, am.amname, (d.deptype = 'i') IS TRUE AS is_identity_sequence, c.relispartition AS ispartition 
FROM pg_class c
LEFT JOIN pg_depend d ON (c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.objsubid = 0 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
LEFT JOIN pg_tablespace tsp ON (tsp.oid = c.reltablespace)
LEFT JOIN pg_am am ON (c.relam = am.oid)
LEFT JOIN pg_class tc ON (c.reltoastrelid = tc.oid AND tc.relkind = 't' AND c.relkind <> 'p')
WHERE c.relkind IN ('r', 'S', 'v', 'c', 'm', 'f', 'p')
ORDER BY c.oid

-- name: pg_dump-functions
SELECT p.tableoid, p.oid, p.proname, p.prolang, p.pronargs, p.proargtypes, p.prorettype, p.proacl, acldefault('f', p.proowner) AS acldefault, p.pronamespace, p.proowner FROM pg_proc p LEFT JOIN pg_init_privs pip ON (p.oid = pip.objoid AND pip.classoid = 'pg_proc'::regclass AND pip.objsubid = 0) WHERE p.prokind <> 'a'
  AND NOT EXISTS (SELECT 1 FROM pg_depend WHERE classid = 'pg_proc'::regclass AND objid = p.oid AND deptype = 'i')
  AND (
  pronamespace != (SELECT oid FROM pg_namespace WHERE nspname = 'pg_catalog')
  OR EXISTS (SELECT 1 FROM pg_cast
  WHERE pg_cast.oid > 16383 
  AND p.oid = pg_cast.castfunc)
  OR EXISTS (SELECT 1 FROM pg_transform
  WHERE pg_transform.oid > 16383 AND 
  (p.oid = pg_transform.trffromsql
  OR p.oid = pg_transform.trftosql))
  OR p.proacl IS DISTINCT FROM pip.initprivs)

-- name: pg_dump-casts
SELECT tableoid, oid, castsource, casttarget, castfunc, castcontext, castmethod FROM pg_cast c WHERE NOT EXISTS ( SELECT 1 FROM pg_range r WHERE c.castsource = r.rngtypid AND c.casttarget = r.rngmultitypid ) ORDER BY 3,4

-- name: pg_dump-attributes
SELECT
a.attrelid,
a.attnum,
a.attname,
a.atttypmod,
a.attstattarget,
a.attstorage,
t.typstorage,
a.attnotnull,
a.atthasdef,
a.attisdropped,
a.attlen,
a.attalign,
a.attislocal,
pg_catalog.format_type(t.oid, a.atttypmod) AS atttypname,
array_to_string(ARRAY(
  SELECT o FROM unnest(a.attoptions) o
  WHERE substr(o, 1, 10) <> 'pg_attver='
), ', ') AS attoptions,
(
  SELECT substr(o, 10 + 1)
  FROM unnest(a.attoptions) o
  WHERE substr(o, 1, 10) = 'pg_attver='
) AS attversion,
CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation ELSE 0 END AS attcollation,
pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.quote_ident(option_name) || ' ' || pg_catalog.quote_literal(option_value) FROM pg_catalog.pg_options_to_table(attfdwoptions) ORDER BY option_name), E',
    ') AS attfdwoptions,
a.attcompression AS attcompression,
a.attidentity,
CASE WHEN a.atthasmissing AND NOT a.attisdropped THEN a.attmissingval ELSE null END AS attmissingval,
a.attgenerated
FROM unnest('{16389,16397}'::pg_catalog.oid[]) AS src(tbloid)
JOIN pg_catalog.pg_attribute a ON (src.tbloid = a.attrelid) LEFT JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)
WHERE a.attnum > 0::pg_catalog.int2
ORDER BY a.attrelid, a.attnum

-- name: pg_dump-indexes
SELECT t.tableoid, t.oid, i.indrelid, t.relname AS indexname, pg_catalog.pg_get_indexdef(i.indexrelid) AS indexdef, i.indkey, i.indisclustered, c.contype, c.conname, c.condeferrable, c.condeferred, c.tableoid AS contableoid, c.oid AS conoid, pg_catalog.pg_get_constraintdef(c.oid, false) AS condef, (SELECT spcname FROM pg_catalog.pg_tablespace s WHERE s.oid = t.reltablespace) AS tablespace, t.reloptions AS indreloptions, i.indisreplident, inh.inhparent AS parentidx, i.indnkeyatts AS indnkeyatts, i.indnatts AS indnatts, (SELECT pg_catalog.array_agg(attnum ORDER BY attnum)   FROM pg_catalog.pg_attribute   WHERE attrelid = i.indexrelid AND     attstattarget >= 0) AS indstatcols, (SELECT pg_catalog.array_agg(attstattarget ORDER BY attnum)   FROM pg_catalog.pg_attribute   WHERE attrelid = i.indexrelid AND     attstattarget >= 0) AS indstatvals, i.indnullsnotdistinct FROM unnest('{16389}'::pg_catalog.oid[]) AS src(tbloid)
JOIN pg_catalog.pg_index i ON (src.tbloid = i.indrelid) JOIN pg_catalog.pg_class t ON (t.oid = i.indexrelid) JOIN pg_catalog.pg_class t2 ON (t2.oid = i.indrelid) LEFT JOIN pg_catalog.pg_constraint c ON (i.indrelid = c.conrelid AND i.indexrelid = c.conindid AND c.contype IN ('p','u','x')) LEFT JOIN pg_catalog.pg_inherits inh ON (inh.inhrelid = indexrelid) WHERE (i.indisvalid OR t2.relkind = 'p') AND i.indisready ORDER BY i.indrelid, indexname

-- name: pg_dump-triggers
SELECT t.tgrelid, t.tgname, t.tgfoid::pg_catalog.regproc AS tgfname, pg_catalog.pg_get_triggerdef(t.oid, false) AS tgdef, t.tgenabled, t.tableoid, t.oid, t.tgparentid <> 0 AS tgispartition
FROM unnest('{}'::pg_catalog.oid[]) AS src(tbloid)
JOIN pg_catalog.pg_trigger t ON (src.tbloid = t.tgrelid) LEFT JOIN pg_catalog.pg_trigger u ON (u.oid = t.tgparentid) WHERE ((NOT t.tgisinternal AND t.tgparentid = 0) OR t.tgenabled != u.tgenabled) ORDER BY t.tgrelid, t.tgname

-- name: pg_dump-recursive-depend
WITH RECURSIVE w AS ( SELECT d1.objid, d2.refobjid, c2.relkind AS refrelkind FROM pg_depend d1 JOIN pg_class c1 ON c1.oid = d1.objid AND c1.relkind = 'm' JOIN pg_rewrite r1 ON r1.ev_class = d1.objid JOIN pg_depend d2 ON d2.classid = 'pg_rewrite'::regclass AND d2.objid = r1.oid AND d2.refobjid <> d1.objid JOIN pg_class c2 ON c2.oid = d2.refobjid AND c2.relkind IN ('m','v') WHERE d1.classid = 'pg_class'::regclass UNION SELECT w.objid, d3.refobjid, c3.relkind FROM w JOIN pg_rewrite r3 ON r3.ev_class = w.refobjid JOIN pg_depend d3 ON d3.classid = 'pg_rewrite'::regclass AND d3.objid = r3.oid AND d3.refobjid <> w.refobjid JOIN pg_class c3 ON c3.oid = d3.refobjid AND c3.relkind IN ('m','v') ) SELECT 'pg_class'::regclass::oid AS classid, objid, refobjid FROM w WHERE refrelkind = 'm'

-- name: pg_dump-depend-union
SELECT classid, objid, refclassid, refobjid, deptype FROM pg_depend WHERE deptype != 'p' AND deptype != 'e'
UNION ALL
SELECT 'pg_opfamily'::regclass AS classid, amopfamily AS objid, refclassid, refobjid, deptype FROM pg_depend d, pg_amop o WHERE deptype NOT IN ('p', 'e', 'i') AND classid = 'pg_amop'::regclass AND objid = o.oid AND NOT (refclassid = 'pg_opfamily'::regclass AND amopfamily = refobjid)
UNION ALL
SELECT 'pg_opfamily'::regclass AS classid, amprocfamily AS objid, refclassid, refobjid, deptype FROM pg_depend d, pg_amproc p WHERE deptype NOT IN ('p', 'e', 'i') AND classid = 'pg_amproc'::regclass AND objid = p.oid AND NOT (refclassid = 'pg_opfamily'::regclass AND amprocfamily = refobjid)
ORDER BY 1,2

-- name: pg_dump-current-schemas
SELECT pg_catalog.current_schemas(false)

-- name: pg_dump-prepare-column-acls
PREPARE getColumnACLs(pg_catalog.oid) AS
SELECT at.attname, at.attacl, '{}' AS acldefault, pip.privtype, pip.initprivs FROM pg_catalog.pg_attribute at LEFT JOIN pg_catalog.pg_init_privs pip ON (at.attrelid = pip.objoid AND pip.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND at.attnum = pip.objsubid) WHERE at.attrelid = $1 AND NOT at.attisdropped AND (at.attacl IS NOT NULL OR pip.initprivs IS NOT NULL) ORDER BY at.attnum

-- name: pg_dump-execute-column-acls
EXECUTE getColumnACLs('6100')

-- name: pg_dump-sequence
SELECT format_type(seqtypid, NULL), seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle FROM pg_catalog.pg_sequence WHERE seqrelid = '16401'::oid

-- name: pg_dump-viewdef
SELECT pg_catalog.pg_get_viewdef('16397'::pg_catalog.oid) AS viewdef

-- name: pg_dump-sequence-last-value
SELECT last_value, is_called FROM public.s

-- name: pg_dump-output-preamble
SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

-- name: pg_dump-session-setup
SET DATESTYLE = ISO; SET INTERVALSTYLE = POSTGRES; SET extra_float_digits TO 3; SET synchronize_seqscans TO off; SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0; SET row_security = off

-- name: pg_dump-transaction
BEGIN; SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY

-- name: pg_dump-data-only-output
SET session_replication_role = replica;
COPY public.users (id, name) FROM stdin;

-- name: jdbc-startup-settings
SET extra_float_digits = 3; SET application_name = 'PostgreSQL JDBC Driver'

-- name: jdbc-current-schema
select current_schema()

-- name: jdbc-show-isolation
SHOW TRANSACTION ISOLATION LEVEL

-- name: jdbc-set-read-only
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY

-- name: jdbc-get-tables
SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,  CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema'  WHEN true THEN CASE  WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TABLE'   WHEN 'v' THEN 'SYSTEM VIEW'   WHEN 'i' THEN 'SYSTEM INDEX'   ELSE NULL   END  WHEN n.nspname = 'pg_toast' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TOAST TABLE'   WHEN 'i' THEN 'SYSTEM TOAST INDEX'   ELSE NULL   END  ELSE CASE c.relkind   WHEN 'r' THEN 'TEMPORARY TABLE'   WHEN 'p' THEN 'TEMPORARY TABLE'   WHEN 'i' THEN 'TEMPORARY INDEX'   WHEN 'S' THEN 'TEMPORARY SEQUENCE'   WHEN 'v' THEN 'TEMPORARY VIEW'   ELSE NULL   END  END  WHEN false THEN CASE c.relkind  WHEN 'r' THEN 'TABLE'  WHEN 'p' THEN 'PARTITIONED TABLE'  WHEN 'i' THEN 'INDEX'  WHEN 'S' THEN 'SEQUENCE'  WHEN 'v' THEN 'VIEW'  WHEN 'c' THEN 'TYPE'  WHEN 'f' THEN 'FOREIGN TABLE'  WHEN 'm' THEN 'MATERIALIZED VIEW'  ELSE NULL  END  ELSE NULL  END  AS TABLE_TYPE, d.description AS REMARKS,  '' as TYPE_CAT, '' as TYPE_SCHEM, '' as TYPE_NAME, '' AS SELF_REFERENCING_COL_NAME, '' AS REF_GENERATION  FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c  LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0  and d.classoid = 'pg_class'::regclass)  WHERE c.relnamespace = n.oid  AND n.nspname LIKE 'public' AND c.relname LIKE '%' AND (false  OR ( c.relkind IN ('r','p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ) )  ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME

-- name: jdbc-get-primary-keys
SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM,   ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME,   (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME,   information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM FROM pg_catalog.pg_class ct   JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid)   JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid)   JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid)   JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) WHERE true  AND ct.relname = E'users' AND i.indisprimary

-- name: jdbc-get-columns
SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype  FROM pg_catalog.pg_namespace n  JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)  JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid)  JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)  LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)  LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)  LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')  LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')  WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped  AND n.nspname LIKE 'public' AND c.relname LIKE 'users') c WHERE true  ORDER BY nspname,c.relname,attnum

-- name: jdbc-type-info
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = $1  ORDER BY sp.r, pg_type.oid DESC

-- name: dbeaver-databases
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datallowconn AND NOT datistemplate OR db.datname =$1
ORDER BY db.datname

-- name: dbeaver-settings
select * from pg_catalog.pg_settings where name=$1

-- name: dbeaver-namespaces
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
 ORDER BY nspname

-- name: dbeaver-tables
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=$1 AND c.relkind not in ('i','I','c')

-- name: dbeaver-session-info
SELECT current_schema(),session_user

-- name: dbeaver-keywords
select string_agg(word, ',') from pg_catalog.pg_get_keywords() where word <> ALL ('{a,abs,absolute,action}'::text[])

-- name: dbeaver-read-only-connection
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SHOW search_path

-- name: information-schema-query
SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')

-- name: oltp-select
SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1

-- name: oltp-update
UPDATE accounts SET balance = balance + $1 WHERE id = $2

-- name: pgbench-select
SELECT abalance FROM pgbench_accounts WHERE aid = 4242;

-- name: pgbench-tpcb
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 12;
SELECT abalance FROM pgbench_accounts WHERE aid = 12;
UPDATE pgbench_tellers SET tbalance = tbalance + -1234 WHERE tid = 3;
UPDATE pgbench_branches SET bbalance = bbalance + -1234 WHERE bid = 1;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (3, 1, 12, -1234, CURRENT_TIMESTAMP);
END;
