-- airlock's statements around one guarded write (the defaults, a database
-- prepared for undo), run directly against PostgreSQL to see what each
-- costs the database: with -M simple every statement is parsed and planned,
-- with -M prepared only executed (see docs/benchmarks.md):
--   pgbench -n -r -M prepared -T 8 -c 1 -h 127.0.0.1 -U postgres -f bench/guard-statements.sql airlock_bench_undo
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
SAVEPOINT airlock_guard;
SELECT (SELECT coalesce(sum(pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) + pg_catalog.pg_stat_get_xact_tuples_updated(c.oid) + pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid)), 0) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 't', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'airlock') AND n.nspname !~ '^pg_toast'), (SELECT pg_catalog.to_regclass('airlock.capture') IS NOT NULL), (SELECT pg_catalog.set_config('airlock.stmt', 'u_x1', true));
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT coalesce(sum(pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) + pg_catalog.pg_stat_get_xact_tuples_updated(c.oid) + pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid)), 0) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 't', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'airlock') AND n.nspname !~ '^pg_toast';
SELECT c.id, c.rel, c.op, c.old_row, c.new_row, (SELECT string_agg(quote_ident(a.attname), ',' ORDER BY array_position(i.indkey::int2[], a.attnum)) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = c.rel::regclass AND i.indisprimary) FROM airlock.capture c WHERE c.stmt = 'u_x1' ORDER BY c.id;
DELETE FROM airlock.capture WHERE stmt = 'u_x1';
SELECT pg_catalog.set_config('airlock.stmt', '', true);
RELEASE SAVEPOINT airlock_guard;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
END;
