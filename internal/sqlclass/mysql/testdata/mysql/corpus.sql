-- MySQL/MariaDB classifier corpus: one case per "-- name:" header, the SQL
-- text up to the next header. Expected facts are in corpus.golden.json,
-- refreshed with: go test ./internal/sqlclass/mysql -run TestMySQLCorpus -update
-- Lines before the first header (these) are not a case. Inside a case,
-- "-- " lines are SQL comments (part of the text).

-- name: select-simple
SELECT 1

-- name: select-from-where-limit
SELECT id, name FROM users WHERE id = 42 LIMIT 1

-- name: select-casing
sElEcT Id FrOm UsErS wHeRe Id = 1

-- name: select-backquoted
SELECT `id`, `select` FROM `Users` WHERE `from` = 1

-- name: select-backquote-doubled
SELECT `a``b` FROM `we``ird` AS x

-- name: select-qualified-backquoted-spaces
SELECT * FROM `My DB`.`My Table` t JOIN Shop.Orders o ON o.id = t.id

-- name: select-dot-in-backquoted-name
SELECT * FROM `my.db`.t

-- name: select-information-schema
SELECT table_name FROM INFORMATION_SCHEMA.TABLES WHERE table_schema = 'shop' ORDER BY table_name

-- name: select-join-subquery
SELECT o.id, c.name FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.total > (SELECT AVG(total) FROM orders)

-- name: select-exists-any
SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a) AND b = ANY (SELECT c FROM v)

-- name: select-derived-table
SELECT d.n FROM (SELECT COUNT(*) AS n FROM events GROUP BY kind) AS d

-- name: select-union
SELECT a FROM t1 UNION ALL SELECT b FROM t2 ORDER BY 1 LIMIT 5

-- name: select-union-parenthesized
(SELECT a FROM t1 WHERE x = 1) UNION (SELECT a FROM t2) LIMIT 3

-- name: select-cte
WITH recent AS (SELECT * FROM orders WHERE created_at > NOW() - INTERVAL 1 DAY) SELECT COUNT(*) FROM recent

-- name: select-cte-shadows-table
WITH users AS (SELECT 1 AS id) SELECT * FROM users JOIN shop.users su ON su.id = users.id

-- name: select-cte-recursive
WITH RECURSIVE seq (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 10) SELECT n FROM seq

-- name: select-cte-nonrecursive-reads-real-table
WITH t AS (SELECT * FROM t WHERE a > 1) SELECT * FROM t

-- name: select-lateral
SELECT * FROM t1, LATERAL (SELECT * FROM t2 WHERE t2.a = t1.a) AS d

-- name: select-window-functions
SELECT id, ROW_NUMBER() OVER w, LAG(total) OVER w, SUM(total) OVER (PARTITION BY c) FROM orders WINDOW w AS (ORDER BY id)

-- name: select-aggregates
SELECT COUNT(*), COUNT(DISTINCT a), STD(a), VARIANCE(a), GROUP_CONCAT(b ORDER BY b SEPARATOR ','), JSON_ARRAYAGG(a) FROM t GROUP BY c WITH ROLLUP

-- name: select-keyword-functions
SELECT CAST(a AS CHAR), CONVERT(a USING utf8mb4), CHAR(65 USING utf8mb4), SUBSTRING(a FROM 1 FOR 2), TRIM(LEADING 'x' FROM a), POSITION('a' IN b), EXTRACT(YEAR FROM d), DATE_ADD(d, INTERVAL 1 DAY), TIMESTAMPDIFF(DAY, d, e), GET_FORMAT(DATE, 'USA'), INTERVAL(1, 2, 3) FROM t

-- name: select-time-functions
SELECT NOW(), CURRENT_TIMESTAMP, LOCALTIME, CURDATE(), UTC_TIMESTAMP(), SYSDATE(), UNIX_TIMESTAMP()

-- name: select-info-functions
SELECT DATABASE(), USER(), CURRENT_USER, VERSION(), CONNECTION_ID(), LAST_INSERT_ID(), FOUND_ROWS(), ROW_COUNT(), UUID()

-- name: select-json-operators
SELECT doc->'$.a', doc->>'$.b', JSON_EXTRACT(doc, '$.c'), JSON_DETAILED(doc) FROM docs

-- name: select-mariadb-functions
SELECT COLUMN_CREATE('a', 1), SFORMAT('{}', 1), NATURAL_SORT_KEY(name), NVL(a, 0) FROM t

-- name: select-stored-function
SELECT compute_discount(o.total) FROM orders o

-- name: select-qualified-stored-function
SELECT billing.invoice_total(42)

-- name: select-builtin-name-qualified-is-stored
SELECT shop.now()

-- name: select-sleep-benchmark
SELECT SLEEP(1), BENCHMARK(1000, MD5('x'))

-- name: select-get-lock
SELECT GET_LOCK('deploy', 10)

-- name: select-release-lock
SELECT RELEASE_LOCK('deploy'), RELEASE_ALL_LOCKS()

-- name: select-is-free-lock
SELECT IS_FREE_LOCK('deploy'), IS_USED_LOCK('deploy')

-- name: select-load-file
SELECT LOAD_FILE('/etc/passwd')

-- name: select-load-file-in-subquery
SELECT id FROM t WHERE name = (SELECT LOAD_FILE('/etc/hostname'))

-- name: select-sequence-nextval
SELECT NEXTVAL(order_seq)

-- name: select-sequence-next-value-for
SELECT NEXT VALUE FOR shop.order_seq

-- name: select-sequence-lastval
SELECT LASTVAL(order_seq)

-- name: select-sequence-setval
SELECT SETVAL(order_seq, 1000)

-- name: select-user-variable-assign
SELECT @n := COUNT(*) FROM t

-- name: select-variables
SELECT @a, @@session.sql_mode, @@global.max_connections, @@version, @`quoted var`

-- name: select-for-update
SELECT * FROM accounts WHERE id = 1 FOR UPDATE

-- name: select-lock-in-share-mode
SELECT * FROM accounts WHERE id = 1 LOCK IN SHARE MODE

-- name: select-for-share-skip-locked
SELECT * FROM jobs WHERE state = 'ready' LIMIT 1 FOR SHARE SKIP LOCKED

-- name: select-for-update-nowait-join
SELECT * FROM a JOIN b ON b.id = a.b_id WHERE a.id = 1 FOR UPDATE NOWAIT

-- name: select-for-update-in-subquery
SELECT * FROM (SELECT * FROM jobs WHERE state = 'ready' LIMIT 1 FOR UPDATE) AS j

-- name: select-into-outfile
SELECT * FROM users INTO OUTFILE '/tmp/users.csv' FIELDS TERMINATED BY ','

-- name: select-into-dumpfile
SELECT data FROM blobs WHERE id = 1 INTO DUMPFILE '/tmp/blob.bin'

-- name: select-into-var-end
SELECT COUNT(*) FROM users INTO @n

-- name: select-into-vars-middle
SELECT id, name INTO @id, @name FROM users WHERE id = 1

-- name: select-into-var-with-function
SELECT GET_LOCK('x', 1) INTO @got

-- name: select-limit-offset
SELECT a FROM t ORDER BY a LIMIT 10 OFFSET 20

-- name: select-limit-comma
SELECT a FROM t LIMIT 20, 10

-- name: select-table-statement
TABLE users

-- name: select-dual
SELECT 1 + 1 FROM DUAL

-- name: select-hints-and-modifiers
SELECT SQL_NO_CACHE SQL_CALC_FOUND_ROWS STRAIGHT_JOIN a FROM t USE INDEX (i) LIMIT 1

-- name: select-partition
SELECT * FROM t PARTITION (p0, p1)

-- name: select-match-against
SELECT id FROM articles WHERE MATCH (title, body) AGAINST ('database' IN BOOLEAN MODE)

-- name: select-placeholder
SELECT * FROM users WHERE id = ? AND state = ?

-- name: comment-hash
# DELETE FROM users;
SELECT 1 # DROP TABLE users

-- name: comment-dash-dash
-- DELETE FROM users;
SELECT 1 -- DROP TABLE users

-- name: comment-dash-dash-tab
SELECT 1 --	DROP TABLE users

-- name: dash-dash-without-space-is-minus
SELECT 1--1

-- name: comment-block
/* DELETE FROM users; */ SELECT /* ; DROP TABLE x */ id FROM/**/users

-- name: comment-block-not-nested
/* outer /* inner */ SELECT 1

-- name: comment-block-with-quote
/* it's */ SELECT 'a' /* " ` */

-- name: comment-unterminated
SELECT 1 /* never closed

-- name: comment-optimizer-hint
SELECT /*+ MAX_EXECUTION_TIME(1000) */ id FROM t

-- name: comment-optimizer-hint-set-var
SELECT /*+ SET_VAR(foreign_key_checks=OFF) */ id FROM t

-- name: comment-tidb-marker-is-plain
SELECT 1 /*T![clustered_index] , LOAD_FILE('/etc/passwd') */

-- name: comment-after-dash-dash
SELECT 1--/**/1

-- name: exec-comment-plain
/*! SELECT 1 */

-- name: exec-comment-version
/*!40100 SET @@SQL_MODE='' */

-- name: exec-comment-inside
SELECT 1 /*!, LOAD_FILE('/etc/passwd') */

-- name: exec-comment-version-hides-delete
SELECT 1; /*!40000 DELETE FROM users */

-- name: exec-comment-no-space
SELECT/*!50000 id*/FROM/*!50000 users*/

-- name: exec-comment-short-version-is-content
SELECT /*!123 + 1 */

-- name: exec-comment-mysql57-version-adds-call
SELECT 1 /*!50700 , SLEEP(1) */

-- name: exec-comment-mysql8-version-adds-where
DELETE FROM users /*!80000 WHERE id = 1 */

-- name: exec-comment-mariadb
/*M! SELECT 1 */

-- name: exec-comment-mariadb-version-statement
/*M!100100 SET @@MAX_STATEMENT_TIME=0.000000 */

-- name: exec-comment-mariadb-hides-write
/*M!100100 DELETE FROM users WHERE id = 1 */

-- name: exec-comment-mariadb-adds-limit
DELETE FROM logs WHERE at < '2020-01-01' /*M! LIMIT 100 */

-- name: exec-comment-mariadb-adds-function
SELECT 1 /*M!, GET_LOCK('x', 1) */

-- name: exec-comment-six-digit-mysql
SELECT 1 /*!100100 , 2 */

-- name: exec-comment-semicolon
/*!40101 SELECT 1; DELETE FROM users */

-- name: exec-comment-nested-comment
/*!40101 SELECT 1 /* x */ */

-- name: exec-comment-string-with-marker
/*!40101 SELECT '*/' */

-- name: exec-comment-hash-inside
/*!40101 SELECT 1 # x */

-- name: exec-comment-unterminated
SELECT 1 /*!40101 , 2

-- name: exec-comment-in-string-is-text
SELECT '/*!40101 DELETE FROM t */'

-- name: string-backslash-quote
SELECT 'it\'s; DELETE FROM users' AS s

-- name: string-doubled-quote
SELECT 'it''s; DELETE FROM users', "say ""hi""; DROP TABLE t"

-- name: string-double-quoted-backslash
SELECT "a\"; DELETE FROM users; -- " AS s

-- name: string-backslash-at-end
SELECT 'a\\'; DELETE FROM users

-- name: string-hash-and-comment-markers
SELECT '# not a comment', '-- nor this', '/* nor this */' FROM t

-- name: string-introducers
SELECT N'abc', _utf8mb4'abc' COLLATE utf8mb4_bin, X'41', 0x41, B'01', _binary 'x'

-- name: string-adjacent-concatenation
SELECT 'a' 'b' "c"

-- name: string-unterminated
SELECT 'abc

-- name: string-unterminated-escaped-quote
SELECT 'abc\'

-- name: identifier-unterminated
SELECT `abc FROM t

-- name: multi-statements
SELECT 1; SELECT 2;

-- name: multi-read-then-write
SELECT * FROM users WHERE id = 1; DELETE FROM users WHERE id = 1

-- name: multi-transaction
BEGIN; UPDATE accounts SET balance = balance - 10 WHERE id = 1; UPDATE accounts SET balance = balance + 10 WHERE id = 2; COMMIT;

-- name: multi-set-then-select
SET @a = 1; SELECT @a

-- name: multi-trailing-comment
SELECT 1; -- the end

-- name: multi-empty-statements
;; SELECT 1 ;;

-- name: empty
;

-- name: empty-comment-only
/* nothing */ # nothing
-- nothing

-- name: insert-values
INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b')

-- name: insert-value-keyword
INSERT INTO users (id) VALUE (1)

-- name: insert-set
INSERT INTO users SET id = 1, name = UPPER('x')

-- name: insert-select
INSERT INTO archive.orders SELECT * FROM orders WHERE created_at < NOW() - INTERVAL 1 YEAR

-- name: insert-ignore-low-priority
INSERT LOW_PRIORITY IGNORE INTO t VALUES (1)

-- name: insert-on-duplicate-key-update
INSERT INTO counters (k, n) VALUES ('a', 1) ON DUPLICATE KEY UPDATE n = n + VALUES(n)

-- name: insert-unknown-function
INSERT INTO t (a) VALUES (make_code())

-- name: insert-returning
INSERT INTO users (name) VALUES ('a') RETURNING id, UPPER(name)

-- name: replace-values
REPLACE INTO settings (k, v) VALUES ('a', 'b')

-- name: replace-set
REPLACE settings SET k = 'a', v = 'b'

-- name: replace-select
REPLACE INTO t2 SELECT * FROM t1

-- name: update-where
UPDATE accounts SET balance = balance + 10, updated_at = NOW() WHERE id = 42

-- name: update-no-where
UPDATE accounts SET balance = 0

-- name: update-order-limit
UPDATE jobs SET state = 'taken' WHERE state = 'ready' ORDER BY id LIMIT 1

-- name: update-qualified
UPDATE shop.accounts SET balance = 0 WHERE id = 1

-- name: update-multi-table-qualified-column
UPDATE orders o JOIN customers c ON c.id = o.customer_id SET o.discount = c.discount WHERE c.vip = 1

-- name: update-multi-table-both
UPDATE a, b SET a.x = 1, b.y = 2 WHERE a.id = b.id

-- name: update-multi-table-unqualified-column
UPDATE a JOIN b ON a.id = b.id SET x = 1 WHERE b.y = 2

-- name: update-subquery
UPDATE t SET a = (SELECT MAX(b) FROM u WHERE u.id = t.id) WHERE id IN (SELECT id FROM v)

-- name: update-ignore-low-priority
UPDATE LOW_PRIORITY IGNORE t SET a = 1 WHERE b = 2

-- name: delete-where
DELETE FROM users WHERE id = 1

-- name: delete-no-where
DELETE FROM users

-- name: delete-limit
DELETE FROM logs WHERE at < '2020-01-01' ORDER BY at LIMIT 1000

-- name: delete-quick-ignore
DELETE QUICK IGNORE FROM t WHERE id = 1

-- name: delete-multi-table-aliases
DELETE o, i FROM orders o JOIN items i ON i.order_id = o.id WHERE o.id = 1

-- name: delete-multi-table-one-target
DELETE t1 FROM t1 LEFT JOIN t2 ON t1.id = t2.id WHERE t2.id IS NULL

-- name: delete-using
DELETE FROM t1 USING t1 JOIN t2 ON t1.a = t2.a WHERE t2.b = 1

-- name: delete-subquery
DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE disabled = 1)

-- name: delete-returning
DELETE FROM users WHERE id = 1 RETURNING id, name

-- name: load-data-infile
LOAD DATA INFILE '/var/lib/mysql-files/users.csv' INTO TABLE users FIELDS TERMINATED BY ','

-- name: load-data-local-infile
LOAD DATA LOCAL INFILE 'users.csv' REPLACE INTO TABLE shop.users (id, @name) SET name = UPPER(@name)

-- name: load-xml
LOAD XML LOCAL INFILE 'x.xml' INTO TABLE t

-- name: call-procedure
CALL refresh_totals()

-- name: call-qualified-with-args
CALL billing.close_month(2024, 1)

-- name: do-expression
DO 1 + 1

-- name: do-sleep
DO SLEEP(0.1)

-- name: do-get-lock
DO GET_LOCK('migrations', 10), RELEASE_LOCK('migrations')

-- name: do-stored-function
DO audit_ping()

-- name: create-table
CREATE TABLE IF NOT EXISTS shop.items (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4

-- name: create-table-like
CREATE TABLE users_copy LIKE users

-- name: create-table-as-select
CREATE TABLE report AS SELECT customer_id, SUM(total) AS t FROM orders GROUP BY customer_id

-- name: create-temporary-table
CREATE TEMPORARY TABLE tmp_ids (id INT)

-- name: create-table-foreign-key
CREATE TABLE order_lines (id INT, order_id INT, FOREIGN KEY (order_id) REFERENCES shop.orders (id))

-- name: create-or-replace-table
CREATE OR REPLACE TABLE cache (k INT PRIMARY KEY, v TEXT)

-- name: create-view
CREATE VIEW active_users AS SELECT * FROM users WHERE GET_LOCK('x', 0) AND disabled = 0

-- name: create-or-replace-view
CREATE OR REPLACE VIEW v AS SELECT id FROM t

-- name: alter-table-add-column
ALTER TABLE users ADD COLUMN email VARCHAR(255) NOT NULL DEFAULT ''

-- name: alter-table-rename
ALTER TABLE users RENAME TO people

-- name: alter-table-add-foreign-key
ALTER TABLE order_lines ADD CONSTRAINT fk FOREIGN KEY (order_id) REFERENCES orders (id)

-- name: drop-table
DROP TABLE users

-- name: drop-table-if-exists-many
DROP TABLE IF EXISTS a, shop.b

-- name: drop-temporary-table
DROP TEMPORARY TABLE IF EXISTS tmp_ids

-- name: drop-view
DROP VIEW IF EXISTS active_users

-- name: truncate-table
TRUNCATE TABLE sessions

-- name: truncate-short
TRUNCATE logs

-- name: rename-table
RENAME TABLE users TO users_old, users_new TO users

-- name: create-index
CREATE INDEX idx_email ON users (email)

-- name: drop-index
DROP INDEX idx_email ON users

-- name: create-sequence
CREATE SEQUENCE order_seq START WITH 1000

-- name: alter-sequence
ALTER SEQUENCE order_seq RESTART 5000

-- name: drop-sequence
DROP SEQUENCE order_seq

-- name: create-procedure-single-statement
CREATE PROCEDURE purge_logs() DELETE FROM logs

-- name: create-procedure-compound
CREATE PROCEDURE p() BEGIN DELETE FROM t; END

-- name: drop-procedure
DROP PROCEDURE IF EXISTS purge_logs

-- name: create-function
CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x + 1

-- name: drop-function
DROP FUNCTION IF EXISTS f

-- name: create-trigger
CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1

-- name: drop-trigger
DROP TRIGGER shop.tr

-- name: create-event
CREATE EVENT purge ON SCHEDULE EVERY 1 DAY DO DELETE FROM logs

-- name: drop-event
DROP EVENT IF EXISTS purge

-- name: grant-table
GRANT SELECT, INSERT ON shop.orders TO 'app'@'%'

-- name: grant-schema
GRANT SELECT ON shop.* TO app

-- name: grant-global
GRANT ALL PRIVILEGES ON *.* TO 'root2'@'%' WITH GRANT OPTION

-- name: revoke-table
REVOKE INSERT ON orders FROM app

-- name: grant-role
GRANT analyst TO alice

-- name: grant-proxy
GRANT PROXY ON root TO alice

-- name: optimize-table
OPTIMIZE TABLE orders, items

-- name: analyze-table
ANALYZE TABLE orders

-- name: analyze-table-persistent
ANALYZE TABLE orders PERSISTENT FOR ALL

-- name: repair-table
REPAIR TABLE logs QUICK

-- name: check-table
CHECK TABLE orders FOR UPGRADE

-- name: checksum-table
CHECKSUM TABLE orders, items EXTENDED

-- name: create-database
CREATE DATABASE IF NOT EXISTS shop2 CHARACTER SET utf8mb4

-- name: drop-database
DROP DATABASE shop

-- name: drop-schema
DROP SCHEMA IF EXISTS shop

-- name: alter-database
ALTER DATABASE shop CHARACTER SET utf8mb4

-- name: create-user
CREATE USER 'bob'@'%' IDENTIFIED BY 'secret'

-- name: alter-user
ALTER USER 'bob'@'%' IDENTIFIED BY 'other'

-- name: drop-user
DROP USER bob

-- name: rename-user
RENAME USER bob TO robert

-- name: create-role
CREATE ROLE analyst

-- name: create-or-replace-user
CREATE OR REPLACE USER bob IDENTIFIED BY 'x'

-- name: install-plugin
INSTALL PLUGIN server_audit SONAME 'server_audit'

-- name: uninstall-soname
UNINSTALL SONAME 'server_audit'

-- name: shutdown
SHUTDOWN

-- name: change-master
CHANGE MASTER TO MASTER_HOST = '10.0.0.1', MASTER_USER = 'repl'

-- name: start-slave
START SLAVE

-- name: stop-replica
STOP REPLICA

-- name: reset-master
RESET MASTER

-- name: reset-query-cache
RESET QUERY CACHE

-- name: purge-binary-logs
PURGE BINARY LOGS BEFORE '2024-01-01 00:00:00'

-- name: binlog
BINLOG 'base64data'

-- name: flush-tables
FLUSH TABLES

-- name: flush-privileges
FLUSH PRIVILEGES

-- name: flush-tables-read-lock
FLUSH TABLES WITH READ LOCK

-- name: flush-local-logs
FLUSH LOCAL LOGS

-- name: kill-connection
KILL 42

-- name: kill-connection-keyword
KILL CONNECTION 42

-- name: kill-query
KILL QUERY 42

-- name: kill-hard-query
KILL HARD QUERY 42

-- name: kill-query-id
KILL QUERY ID 42

-- name: kill-user
KILL USER bob

-- name: set-global
SET GLOBAL max_connections = 500

-- name: set-global-at-at
SET @@global.sql_mode = 'ANSI_QUOTES'

-- name: set-global-allow-listed-name
SET GLOBAL time_zone = '+00:00'

-- name: set-persist
SET PERSIST max_connections = 500

-- name: xa-start
XA START 'trx1'

-- name: xa-end
XA END 'trx1'

-- name: xa-prepare
XA PREPARE 'trx1'

-- name: xa-commit-one-phase
XA COMMIT 'trx1', 'b', 1 ONE PHASE

-- name: xa-rollback
XA ROLLBACK 'trx1'

-- name: xa-recover
XA RECOVER FORMAT = 'SQL'

-- name: xa-bad
XA FROB 'trx1'

-- name: backup-stage
BACKUP STAGE START

-- name: load-index-into-cache
LOAD INDEX INTO CACHE t1

-- name: help
HELP 'SELECT'

-- name: use-db
USE shop

-- name: use-backquoted-mixed-case
USE `Shop_Prod`

-- name: lock-tables
LOCK TABLES orders WRITE, customers READ

-- name: lock-table-read-local
LOCK TABLE orders READ LOCAL

-- name: unlock-tables
UNLOCK TABLES

-- name: handler-open
HANDLER shop.orders OPEN AS o

-- name: handler-read-first
HANDLER o READ FIRST

-- name: handler-read-index-next-where-limit
HANDLER o READ `PRIMARY` NEXT WHERE total > 10 LIMIT 5

-- name: handler-read-index-value
HANDLER o READ idx_customer = (42) WHERE GET_LOCK('x', 1)

-- name: handler-close
HANDLER o CLOSE

-- name: handler-bad
HANDLER o DELETE

-- name: table-value-constructor
VALUES (1, 2), (3, 4)

-- name: json-table
SELECT * FROM JSON_TABLE('[1,2]', '$[*]' COLUMNS (a INT PATH '$')) AS j

-- name: sounds-like
SELECT name FROM users WHERE name SOUNDS LIKE 'robert'

-- name: system-versioned-table
SELECT * FROM prices FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01 00:00:00'

-- name: previous-value-for
SELECT PREVIOUS VALUE FOR order_seq

-- name: compound-statement
BEGIN NOT ATOMIC DELETE FROM users; END

-- name: compound-if
IF (SELECT COUNT(*) FROM users) > 0 THEN DELETE FROM users; END IF

-- name: signal
SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'x'

-- name: garbage
SELEC 1 FROM

-- name: tidb-only-statement
ADMIN SHOW DDL JOBS

-- name: tidb-only-begin-pessimistic
BEGIN PESSIMISTIC

-- name: set-names-utf8mb4
SET NAMES utf8mb4

-- name: set-names-utf8mb4-collate
SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'

-- name: set-names-uppercase
SET NAMES UTF8MB4 COLLATE UTF8MB4_GENERAL_CI

-- name: set-names-latin1
SET NAMES latin1

-- name: set-names-utf8
SET NAMES utf8

-- name: set-names-gbk
SET NAMES gbk

-- name: set-names-utf8mb4-latin1-collation
SET NAMES utf8mb4 COLLATE latin1_swedish_ci

-- name: set-names-default
SET NAMES DEFAULT

-- name: set-character-set-utf8mb4
SET CHARACTER SET utf8mb4

-- name: set-charset-latin1
SET CHARSET latin1

-- name: set-character-set-client-latin1
SET character_set_client = latin1

-- name: set-character-set-client-utf8mb4
SET @@session.character_set_client = 'utf8mb4'

-- name: set-character-set-client-variable
SET character_set_client = @saved_cs_client

-- name: set-character-set-connection-binary
SET character_set_connection = binary

-- name: set-collation-connection-utf8mb4
SET collation_connection = utf8mb4_bin

-- name: set-collation-connection-latin1
SET collation_connection = 'latin1_swedish_ci'

-- name: set-character-set-results-null
SET character_set_results = NULL

-- name: set-character-set-results-binary
SET SESSION character_set_results = 'binary'

-- name: set-character-set-results-utf8mb4
SET SESSION character_set_results = 'utf8mb4'

-- name: set-character-set-results-latin1
SET character_set_results = latin1

-- name: set-sql-mode-empty
SET sql_mode = ''

-- name: set-sql-mode-strict
SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO'

-- name: set-sql-mode-traditional
SET sql_mode = 'TRADITIONAL'

-- name: set-sql-mode-ansi-quotes
SET sql_mode = 'STRICT_TRANS_TABLES,ANSI_QUOTES'

-- name: set-sql-mode-ansi-quotes-identifier
SET sql_mode = ANSI_QUOTES

-- name: set-sql-mode-lowercase-spaces
SET @@sql_mode = 'strict_trans_tables, ansi_quotes'

-- name: set-sql-mode-no-backslash-escapes
SET @@SESSION.sql_mode = 'NO_BACKSLASH_ESCAPES'

-- name: set-sql-mode-ansi
SET sql_mode = 'ANSI'

-- name: set-sql-mode-oracle
SET sql_mode = ORACLE

-- name: set-sql-mode-mssql
SET sql_mode = 'MSSQL'

-- name: set-sql-mode-number
SET sql_mode = 4

-- name: set-sql-mode-zero
SET sql_mode = 0

-- name: set-sql-mode-default
SET sql_mode = DEFAULT

-- name: set-sql-mode-variable
SET SQL_MODE = @OLD_SQL_MODE

-- name: set-sql-mode-concat
SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')

-- name: set-sql-mode-concat-ansi-quotes
SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')

-- name: set-sql-mode-concat-split-flag
SET sql_mode = CONCAT(@@sql_mode, ',ANSI', '_QUOTES')

-- name: set-sql-mode-concat-global
SET sql_mode = CONCAT(@@global.sql_mode, ',STRICT_ALL_TABLES')

-- name: set-sql-mode-replace
SET sql_mode = REPLACE(@@sql_mode, 'STRICT_TRANS_TABLES', '')

-- name: set-transaction-read-write
SET TRANSACTION READ WRITE

-- name: set-session-transaction-read-write
SET SESSION TRANSACTION READ WRITE

-- name: set-session-transaction-read-only
SET SESSION TRANSACTION READ ONLY

-- name: set-transaction-isolation
SET TRANSACTION ISOLATION LEVEL READ COMMITTED

-- name: set-session-transaction-isolation
SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ

-- name: set-transaction-isolation-read-write
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE

-- name: set-global-transaction
SET GLOBAL TRANSACTION ISOLATION LEVEL READ COMMITTED

-- name: set-transaction-read-only-off
SET transaction_read_only = 0

-- name: set-transaction-read-only-on
SET @@session.transaction_read_only = ON

-- name: set-tx-read-only-off
SET tx_read_only = OFF

-- name: set-tx-read-only-default
SET tx_read_only = DEFAULT

-- name: set-tx-isolation
SET tx_isolation = 'READ-COMMITTED'

-- name: set-autocommit
SET autocommit = 0

-- name: set-time-zone
SET time_zone = '+02:00'

-- name: set-sql-select-limit
SET SESSION sql_select_limit = 1000

-- name: set-max-execution-time
SET max_execution_time = 5000

-- name: set-max-statement-time
SET @@MAX_STATEMENT_TIME = 5

-- name: set-wait-timeout-default
SET WAIT_TIMEOUT = DEFAULT

-- name: set-local-scope
SET LOCAL sql_select_limit = 10

-- name: set-at-at-local
SET @@local.time_zone = 'UTC'

-- name: set-foreign-key-checks
SET foreign_key_checks = 0

-- name: set-sql-log-bin
SET sql_log_bin = 0

-- name: set-unknown-variable
SET SESSION innodb_strict_mode = OFF

-- name: set-completion-type
SET completion_type = 'CHAIN'

-- name: set-timestamp
SET timestamp = 1700000000

-- name: set-user-variables
SET @a = 1, @b := 'two', @`c d` = NOW()

-- name: set-user-variable-subquery
SET @max = (SELECT MAX(id) FROM orders)

-- name: set-user-variable-get-lock
SET @got = GET_LOCK('x', 1)

-- name: set-mixed-allowed-and-admin
SET time_zone = 'UTC', foreign_key_checks = 0

-- name: set-mixed-allowed-and-escape
SET autocommit = 1, tx_read_only = 0

-- name: set-role
SET ROLE admin

-- name: set-role-none
SET ROLE NONE

-- name: set-default-role
SET DEFAULT ROLE analyst FOR alice

-- name: set-password
SET PASSWORD = PASSWORD('secret')

-- name: set-password-for
SET PASSWORD FOR bob = 'hash'

-- name: set-statement-allowed
SET STATEMENT max_statement_time = 1 FOR SELECT * FROM big

-- name: set-statement-delete-no-where
SET STATEMENT max_statement_time = 10 FOR DELETE FROM logs

-- name: set-statement-read-only-off
SET STATEMENT transaction_read_only = 0 FOR INSERT INTO t VALUES (1)

-- name: set-statement-read-only-on
SET STATEMENT tx_read_only = 1 FOR SELECT 1

-- name: set-statement-admin-variable
SET STATEMENT sql_log_bin = 0 FOR DELETE FROM users WHERE id = 1

-- name: set-statement-pinned
SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR SELECT "a" FROM t

-- name: set-statement-several
SET STATEMENT max_statement_time = 1, foreign_key_checks = 0 FOR SELECT 1

-- name: set-statement-inner-for-update
SET STATEMENT lock_wait_timeout = 1 FOR SELECT * FROM t WHERE id = 1 FOR UPDATE

-- name: set-statement-lowercase-exec-comment
/*M!100300 set statement max_statement_time = 2 for */ select count(*) from t

-- name: set-statement-no-for
SET STATEMENT max_statement_time = 1

-- name: set-statement-transaction
SET STATEMENT max_statement_time = 1 FOR START TRANSACTION

-- name: set-statement-user-variable
SET STATEMENT @a = 1 FOR SELECT 1

-- name: begin
BEGIN

-- name: begin-work
BEGIN WORK

-- name: start-transaction
START TRANSACTION

-- name: start-transaction-read-only
START TRANSACTION READ ONLY

-- name: start-transaction-read-write
START TRANSACTION READ WRITE

-- name: start-transaction-consistent-snapshot
START TRANSACTION WITH CONSISTENT SNAPSHOT

-- name: start-transaction-modes
START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT

-- name: start-transaction-snapshot-read-write
START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE

-- name: start-transaction-bad-mode
START TRANSACTION READ SOMETIMES

-- name: commit
COMMIT

-- name: commit-work-no-chain
COMMIT WORK AND NO CHAIN

-- name: commit-and-chain
COMMIT AND CHAIN

-- name: commit-release
COMMIT RELEASE

-- name: rollback
ROLLBACK

-- name: rollback-work-no-release
ROLLBACK WORK NO RELEASE

-- name: rollback-to-savepoint
ROLLBACK TO SAVEPOINT sp1

-- name: rollback-work-to
ROLLBACK WORK TO `SP1`

-- name: savepoint
SAVEPOINT sp1

-- name: release-savepoint
RELEASE SAVEPOINT sp1

-- name: prepare-select
PREPARE stmt1 FROM 'SELECT * FROM users WHERE id = ?'

-- name: prepare-delete
PREPARE Del FROM 'DELETE FROM users WHERE id = ?'

-- name: prepare-escaped-quotes
PREPARE q FROM 'SELECT * FROM t WHERE name = \'x\' AND b = ''y'''

-- name: prepare-hidden-in-comment
PREPARE q FROM 'SELECT 1 /*!, LOAD_FILE(''/etc/passwd'') */'

-- name: prepare-set-role
PREPARE q FROM "SET ROLE admin"

-- name: prepare-from-variable
PREPARE q FROM @sql

-- name: prepare-two-statements
PREPARE q FROM 'SELECT 1; DELETE FROM users'

-- name: prepare-unparsable
PREPARE q FROM 'SELEKT 1'

-- name: execute
EXECUTE stmt1

-- name: execute-using
EXECUTE Stmt1 USING @id, @name

-- name: deallocate-prepare
DEALLOCATE PREPARE stmt1

-- name: drop-prepare
DROP PREPARE stmt1

-- name: execute-immediate
EXECUTE IMMEDIATE 'SELECT 1'

-- name: execute-immediate-variable
EXECUTE IMMEDIATE @sql

-- name: explain-select
EXPLAIN SELECT * FROM users WHERE id = 1

-- name: explain-update
EXPLAIN UPDATE users SET name = 'x'

-- name: explain-function-not-run
EXPLAIN SELECT LOAD_FILE('/etc/passwd')

-- name: explain-format-json
EXPLAIN FORMAT=JSON SELECT * FROM orders

-- name: explain-extended
EXPLAIN EXTENDED SELECT * FROM orders

-- name: explain-partitions
EXPLAIN PARTITIONS SELECT * FROM orders

-- name: explain-analyze-select
EXPLAIN ANALYZE SELECT * FROM orders

-- name: explain-analyze-delete
EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1

-- name: explain-for-connection
EXPLAIN FOR CONNECTION 42

-- name: describe-table
DESCRIBE users

-- name: desc-table-column
DESC shop.users email

-- name: explain-table
EXPLAIN users

-- name: describe-select
DESCRIBE SELECT 1

-- name: analyze-select
ANALYZE SELECT * FROM orders WHERE total > 10

-- name: analyze-update
ANALYZE UPDATE orders SET total = 0 WHERE id = 1

-- name: analyze-format-json-delete
ANALYZE FORMAT=JSON DELETE FROM orders

-- name: show-variables-like
SHOW VARIABLES LIKE 'max_allowed_packet'

-- name: show-session-variables-where
SHOW SESSION VARIABLES WHERE Variable_name = 'sql_mode'

-- name: show-variables-where-function
SHOW VARIABLES WHERE Variable_name = get_secret()

-- name: show-global-status
SHOW GLOBAL STATUS LIKE 'Threads%'

-- name: show-grants
SHOW GRANTS

-- name: show-grants-for-current-user
SHOW GRANTS FOR CURRENT_USER()

-- name: show-processlist
SHOW FULL PROCESSLIST

-- name: show-databases
SHOW DATABASES

-- name: show-full-tables
SHOW FULL TABLES FROM shop LIKE 'ord%'

-- name: show-table-status
SHOW TABLE STATUS FROM shop WHERE Name = 'orders'

-- name: show-create-table
SHOW CREATE TABLE `orders`

-- name: show-columns
SHOW FULL COLUMNS FROM orders FROM shop

-- name: show-index
SHOW INDEX FROM orders

-- name: show-create-view
SHOW CREATE VIEW active_users

-- name: show-create-procedure
SHOW CREATE PROCEDURE purge_logs

-- name: show-create-function
SHOW CREATE FUNCTION f

-- name: show-create-trigger
SHOW CREATE TRIGGER `tr`

-- name: show-create-event
SHOW CREATE EVENT purge

-- name: show-engine-innodb-status
SHOW ENGINE INNODB STATUS

-- name: show-binlog-events
SHOW BINLOG EVENTS IN 'mysql-bin.000001' FROM 4 LIMIT 10

-- name: show-all-slaves-status
SHOW ALL SLAVES STATUS

-- name: show-slave-status
SHOW SLAVE STATUS

-- name: show-warnings-count
SHOW COUNT(*) WARNINGS

-- name: show-explain-for
SHOW EXPLAIN FOR 42

-- name: show-collation
SHOW COLLATION WHERE Charset = 'utf8mb4'

-- name: show-engines
SHOW ENGINES

-- name: show-plugins
SHOW PLUGINS

-- name: show-fallback-bad-token
SHOW CONTRIBUTORS @x

-- name: mysqldump-sql-mode
/*!40100 SET @@SQL_MODE='' */

-- name: mysqldump-time-zone
/*!40103 SET TIME_ZONE='+00:00' */

-- name: mysqldump-max-statement-time
/*M!100100 SET @@MAX_STATEMENT_TIME=0.000000 */

-- name: mysqldump-wait-timeout
/*M!100100 SET WAIT_TIMEOUT=DEFAULT */

-- name: mysqldump-isolation
SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ

-- name: mysqldump-start-transaction
START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */

-- name: mysqldump-unlock-tables
UNLOCK TABLES

-- name: mysqldump-show-variables-gtid
SHOW VARIABLES LIKE 'gtid\_mode'

-- name: mysqldump-savepoint
SAVEPOINT sp

-- name: mysqldump-rollback-to-savepoint
ROLLBACK TO SAVEPOINT sp

-- name: mysqldump-release-savepoint
RELEASE SAVEPOINT sp

-- name: mysqldump-show-databases
SHOW DATABASES

-- name: mysqldump-show-create-database
SHOW CREATE DATABASE IF NOT EXISTS `shop`

-- name: mysqldump-charset-results-binary
SET SESSION character_set_results = 'binary'

-- name: mysqldump-quote-show-create
SET SQL_QUOTE_SHOW_CREATE=1

-- name: mysqldump-collation-database
select @@collation_database

-- name: mysqldump-show-tables
SHOW FULL TABLES

-- name: mysqldump-show-create-table
show create table `orders`

-- name: mysqldump-columns
select column_name, extra, generation_expression, data_type from information_schema.columns where table_schema=database() and table_name='orders' order by ordinal_position

-- name: mysqldump-show-fields
SHOW FIELDS FROM `active_users`

-- name: mysqldump-table-engine
SELECT engine, table_type FROM INFORMATION_SCHEMA.TABLES WHERE table_schema = DATABASE() AND table_name = 'orders'

-- name: mysqldump-triggers
SELECT TRIGGER_NAME FROM INFORMATION_SCHEMA.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'orders'

-- name: mysqldump-view-info
SELECT CHECK_OPTION, DEFINER, SECURITY_TYPE,        CHARACTER_SET_CLIENT, COLLATION_CONNECTION FROM information_schema.views WHERE table_name='active_users' AND table_schema='shop'

-- name: mysqldump-tablespaces
SELECT LOGFILE_GROUP_NAME, FILE_NAME, TOTAL_EXTENTS, INITIAL_SIZE, ENGINE, EXTRA FROM INFORMATION_SCHEMA.FILES WHERE FILE_TYPE = 'UNDO LOG' AND FILE_NAME IS NOT NULL AND LOGFILE_GROUP_NAME IS NOT NULL AND LOGFILE_GROUP_NAME IN (SELECT DISTINCT LOGFILE_GROUP_NAME FROM INFORMATION_SCHEMA.FILES WHERE FILE_TYPE = 'DATAFILE' AND TABLESPACE_NAME IN (SELECT DISTINCT TABLESPACE_NAME FROM INFORMATION_SCHEMA.PARTITIONS WHERE TABLE_SCHEMA IN ('shop'))) GROUP BY LOGFILE_GROUP_NAME, FILE_NAME, ENGINE, TOTAL_EXTENTS, INITIAL_SIZE ORDER BY LOGFILE_GROUP_NAME

-- name: mysqldump-select-rows
SELECT /*!40001 SQL_NO_CACHE */ `id`, `name` FROM `orders`

-- name: mysqldump-optimizer-switch
set optimizer_switch='semijoin=off'

-- name: mysqldump-optimizer-switch-default
set optimizer_switch=default

-- name: mysqldump-show-routines
SHOW FUNCTION STATUS WHERE Db = 'shop'

-- name: mysqldump-show-package-status
SHOW PACKAGE STATUS WHERE Db = 'shop'

-- name: mysqldump-show-package-body-status
SHOW PACKAGE BODY STATUS WHERE Db = 'shop'

-- name: mysqldump-show-triggers
SHOW TRIGGERS LIKE 'orders'

-- name: mysqldump-show-create-trigger
SHOW CREATE TRIGGER `orders_bi`

-- name: mysqldump-show-events
show events

-- name: mysqldump-lock-tables-read
LOCK TABLES `orders` READ /*!32311 LOCAL */

-- name: mysqldump-flush-tables
FLUSH /*!40101 LOCAL */ TABLES

-- name: dumpfile-restore-save-sql-mode
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */

-- name: dumpfile-restore-sql-mode
/*!40101 SET SQL_MODE=@OLD_SQL_MODE */

-- name: dumpfile-set-names
/*!40101 SET NAMES utf8mb4 */

-- name: dumpfile-disable-keys
/*!40000 ALTER TABLE `orders` DISABLE KEYS */

-- name: dumpfile-foreign-key-checks
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */

-- name: dumpfile-sandbox
/*!999999\- enable the sandbox mode */

-- name: mariadb-client-version-comment
select @@version_comment limit 1

-- name: mariadb-client-database
SELECT DATABASE()

-- name: mariadb-client-show-tables
show tables

-- name: connectorj-server-variables
/* mysql-connector-j-8.0.33 (Revision: 7d6b0800528b6b25c68b52dc10d6c1c8429c100c) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS net_write_timeout, @@performance_schema AS performance_schema, @@query_cache_size AS query_cache_size, @@query_cache_type AS query_cache_type, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout

-- name: connectorj-set-names
SET NAMES utf8mb4

-- name: connectorj-character-set-results-null
SET character_set_results = NULL

-- name: connectorj-autocommit
SET autocommit=1

-- name: connectorj-read-only
select @@session.transaction_read_only

-- name: connectorj-set-read-only
set session transaction read only

-- name: connectorj-isolation
SELECT @@session.transaction_isolation

-- name: connectorj-show-warnings
SHOW WARNINGS

-- name: connectorj-net-write-timeout
SET net_write_timeout=600

-- name: connectorj-strict-sql-mode
SET sql_mode='NO_ENGINE_SUBSTITUTION,STRICT_TRANS_TABLES'

-- name: mariadb-connectorj-connect
set autocommit=1,session_track_schema=1,transaction_isolation='REPEATABLE-READ'

-- name: go-sql-driver-set-names
SET NAMES utf8mb4 COLLATE utf8mb4_general_ci

-- name: go-sql-driver-max-allowed-packet
SELECT @@max_allowed_packet

-- name: mysql2-show-variables
SHOW VARIABLES

-- name: rails-connect
SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci, @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'), @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483

-- name: django-isolation
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED

-- name: dbeaver-columns
SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='shop' AND TABLE_NAME='orders' ORDER BY ORDINAL_POSITION

-- name: dbeaver-server-charset
SELECT @@GLOBAL.character_set_server, @@GLOBAL.collation_server

-- name: dbeaver-lower-case
SHOW VARIABLES LIKE 'lower_case_table_names'

-- name: heidisql-status
SHOW /*!50002 GLOBAL */ STATUS

-- name: workbench-processlist
SELECT * FROM performance_schema.threads WHERE PROCESSLIST_ID = CONNECTION_ID()

-- name: zero-byte-free-unicode
SELECT 'héllo wörld ✓', `tablé` FROM `ünïcode`

-- name: grant-identified-by
GRANT SELECT ON shop.* TO 'eve'@'%' IDENTIFIED BY 'pw'

-- name: select-cte-for-update
WITH c AS (SELECT id FROM jobs WHERE state = 'ready') SELECT * FROM c JOIN jobs j ON j.id = c.id FOR UPDATE

-- name: select-system-variable-assignment
SELECT @@session.sql_mode := 'ANSI_QUOTES'

-- name: handler-open-no-alias
HANDLER orders OPEN

-- name: prepare-double-quoted
PREPARE s FROM "SELECT * FROM t WHERE a = \"x\""

-- name: execute-using-expression
EXECUTE s USING 1, LOAD_FILE('/etc/passwd')

-- name: select-if-stored-function-in-where
SELECT * FROM orders WHERE shop.is_visible(id) AND total > 0

-- name: multi-hidden-after-hash-comment
SELECT 1 # comment ; DELETE FROM users
; SELECT 2

-- name: multi-hidden-after-dash-comment
SELECT 1 -- comment ; DELETE FROM users
; DELETE FROM users WHERE id = 3

-- name: string-semicolon-and-quotes
SELECT "it's; DELETE", 'say "hi"; DROP' FROM t

-- name: insert-returning-with-subquery
INSERT INTO t (a) VALUES (1) RETURNING id, (SELECT MAX(id) FROM u)

-- name: replace-returning
REPLACE INTO t (a) VALUES (1) RETURNING a

-- name: delete-returning-function
DELETE FROM t WHERE id = 1 RETURNING GET_LOCK('x', 1)

-- name: returning-extra-clause
DELETE FROM t RETURNING id FROM u

-- name: analyze-format-json-select
ANALYZE FORMAT=JSON SELECT COUNT(*) FROM orders

-- name: set-names-with-other-settings
SET NAMES utf8mb4, time_zone = '+00:00', autocommit = 1

-- name: show-tables-where-subquery
SHOW TABLES WHERE Tables_in_shop IN (SELECT table_name FROM information_schema.tables)

-- name: select-star-qualified
SELECT t.*, u.name FROM shop.t AS t, `U` u WHERE t.id = u.id

-- name: select-current-role
SELECT CURRENT_ROLE(), SESSION_USER(), SYSTEM_USER()

-- name: select-benchmark-stored
SELECT BENCHMARK(10, shop.f())

-- name: kill-query-expression
KILL QUERY (SELECT 1)

-- name: create-view-with-algorithm
CREATE ALGORITHM=MERGE DEFINER=CURRENT_USER SQL SECURITY INVOKER VIEW v2 AS SELECT id FROM t WITH CHECK OPTION

-- name: alter-table-engine-myisam
ALTER TABLE t ENGINE=MyISAM

-- name: lock-tables-low-priority-write
LOCK TABLES t LOW_PRIORITY WRITE

-- name: flush-logs
FLUSH BINARY LOGS

-- name: reset-slave-all
RESET SLAVE ALL

-- name: set-global-read-only
SET GLOBAL read_only = 0

-- name: set-session-authorization-like
SET SESSION pseudo_slave_mode = 1

-- name: set-statement-character-set
SET STATEMENT character_set_client = latin1 FOR SELECT 1

-- name: deny-unbounded-update-with-limit
UPDATE t SET a = 1 LIMIT 10

-- name: desc-keyword-select
DESC SELECT * FROM t

-- name: explain-extended-update
EXPLAIN EXTENDED UPDATE t SET a = 1

-- name: do-subquery
DO (SELECT COUNT(*) FROM t)

-- name: select-get-lock-in-where
SELECT * FROM t WHERE GET_LOCK(CONCAT('row', id), 0)

-- name: mariadb-connectorj-2-connect
set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')

-- name: mariadb-connectorj-2-variables
SELECT @@max_allowed_packet,@@system_time_zone,@@time_zone,@@auto_increment_increment
