-- Valid MariaDB 10.11 statements, from its documented syntax, across the
-- statement families a read or a write session uses. Every case must parse
-- on the real server (TestMariaDBValidCorpus runs each in a transaction it
-- rolls back, on the schema it creates: tables t1, t2, t3, t4 (system
-- versioned), sequence s1,
-- view v1, procedure p1, prepared statement q) and must be classified by
-- airlock, never denied as unparseable. One case per "-- name:" header.

-- name: select-basic
SELECT id, a, b FROM t1 WHERE id = 1

-- name: select-distinct-order-limit-offset
SELECT DISTINCT a FROM t1 ORDER BY a DESC LIMIT 10 OFFSET 5

-- name: select-limit-comma
SELECT * FROM t1 LIMIT 5, 10

-- name: select-join-using
SELECT * FROM t1 JOIN t2 USING (id)

-- name: select-straight-join
SELECT STRAIGHT_JOIN t1.id FROM t1, t2 WHERE t1.id = t2.id

-- name: select-natural-left-join
SELECT * FROM t1 NATURAL LEFT JOIN t2

-- name: select-group-having-rollup
SELECT a, COUNT(*) FROM t1 GROUP BY a WITH ROLLUP HAVING COUNT(*) > 0

-- name: select-subquery-exists
SELECT * FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE t2.id = t1.id)

-- name: select-derived
SELECT x.c FROM (SELECT COUNT(*) AS c FROM t1) AS x

-- name: select-union-all
SELECT id FROM t1 UNION ALL SELECT id FROM t2

-- name: select-intersect
SELECT id FROM t1 INTERSECT SELECT id FROM t2

-- name: select-except
SELECT id FROM t1 EXCEPT SELECT id FROM t2

-- name: select-except-all
SELECT id FROM t1 EXCEPT ALL SELECT id FROM t2

-- name: select-for-update
SELECT * FROM t1 WHERE id = 1 FOR UPDATE

-- name: select-lock-in-share-mode
SELECT * FROM t1 WHERE id = 1 LOCK IN SHARE MODE

-- name: select-for-update-skip-locked
SELECT * FROM t1 FOR UPDATE SKIP LOCKED

-- name: select-for-update-nowait
SELECT * FROM t1 FOR UPDATE NOWAIT

-- name: select-for-update-wait
SELECT * FROM t1 FOR UPDATE WAIT 2

-- name: select-share-skip-locked
SELECT * FROM t1 LOCK IN SHARE MODE SKIP LOCKED

-- name: select-sql-calc-found-rows
SELECT SQL_CALC_FOUND_ROWS * FROM t1 LIMIT 1

-- name: select-found-rows
SELECT FOUND_ROWS()

-- name: select-high-priority-no-cache
SELECT HIGH_PRIORITY SQL_NO_CACHE * FROM t1

-- name: select-index-hints
SELECT * FROM t1 USE INDEX (PRIMARY) WHERE id > 0

-- name: select-force-index
SELECT * FROM t1 FORCE INDEX FOR ORDER BY (PRIMARY) ORDER BY id

-- name: select-into-variable
SELECT a INTO @x FROM t1 LIMIT 1

-- name: select-user-variables
SELECT @x := 1, @y

-- name: select-system-variables
SELECT @@session.sql_mode, @@version, @@GLOBAL.max_connections

-- name: values-table-value-constructor
VALUES (1, 'a'), (2, 'b')

-- name: values-order-limit
VALUES (3), (1), (2) ORDER BY 1 LIMIT 2

-- name: select-from-values
SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v

-- name: select-union-values
SELECT 1 UNION VALUES (2)

-- name: with-cte
WITH c AS (SELECT id FROM t1) SELECT * FROM c

-- name: with-recursive
WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r

-- name: with-columns-list
WITH c (x, y) AS (SELECT id, a FROM t1) SELECT x FROM c WHERE y > 0

-- name: window-row-number
SELECT id, ROW_NUMBER() OVER (PARTITION BY a ORDER BY id) FROM t1

-- name: window-frame
SELECT SUM(a) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t1

-- name: window-named
SELECT RANK() OVER w, LAG(a, 1) OVER w FROM t1 WINDOW w AS (ORDER BY id)

-- name: window-percentile-cont
SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY a) OVER () FROM t1

-- name: window-median
SELECT MEDIAN(a) OVER () FROM t1

-- name: json-functions
SELECT JSON_EXTRACT(j, '$.a'), JSON_VALUE(j, '$.b'), JSON_QUERY(j, '$.c') FROM t1

-- name: json-table
SELECT jt.* FROM t1, JSON_TABLE(t1.j, '$[*]' COLUMNS (n INT PATH '$.n', s VARCHAR(10) PATH '$.s' DEFAULT 'x' ON EMPTY)) AS jt

-- name: json-object-array
SELECT JSON_OBJECT('a', 1, 'b', JSON_ARRAY(1, 2)), JSON_ARRAYAGG(id), JSON_OBJECTAGG(id, a) FROM t1

-- name: json-contains-keys
SELECT JSON_CONTAINS(j, '1', '$.a'), JSON_KEYS(j), JSON_LENGTH(j), JSON_DETAILED(j) FROM t1

-- name: json-arrow-free-functions
SELECT JSON_SET(j, '$.a', 2), JSON_REMOVE(j, '$.b'), JSON_MERGE_PATCH(j, '{}') FROM t1

-- name: string-functions
SELECT CONCAT_WS(',', a, b), SUBSTRING(b FROM 1 FOR 2), TRIM(LEADING 'x' FROM b), REGEXP_REPLACE(b, 'a', 'b') FROM t1

-- name: date-functions
SELECT DATE_ADD(NOW(), INTERVAL 1 DAY), EXTRACT(YEAR FROM CURDATE()), TIMESTAMPDIFF(SECOND, NOW(), NOW())

-- name: cast-convert
SELECT CAST(a AS CHAR), CONVERT(b USING utf8mb4), CAST('1' AS UNSIGNED) FROM t1

-- name: case-if-ifnull
SELECT CASE WHEN a > 0 THEN 'p' ELSE 'n' END, IF(a, 1, 0), IFNULL(b, ''), NULLIF(a, 0) FROM t1

-- name: select-collate
SELECT b FROM t1 WHERE b = 'x' COLLATE utf8mb4_general_ci

-- name: select-charset-introducer
SELECT _utf8mb4'x', _binary'y', N'z'

-- name: select-hex-bit-literals
SELECT X'41', 0x41, B'101', 0b101

-- name: select-dual
SELECT 1 + 1 FROM DUAL

-- name: select-partition
SELECT * FROM t3 PARTITION (p0)

-- name: select-system-versioning-free-temporal-literal
SELECT DATE'2024-01-02', TIME'03:04:05', TIMESTAMP'2024-01-02 03:04:05'

-- name: select-sequence-functions
SELECT NEXTVAL(s1), LASTVAL(s1), NEXT VALUE FOR s1, PREVIOUS VALUE FOR s1

-- name: select-sequence-setval
SELECT SETVAL(s1, 100)

-- name: select-from-sequence
SELECT * FROM s1

-- name: select-system-time-as-of
SELECT * FROM t4 FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01 00:00:00' WHERE id > 0

-- name: select-system-time-between
SELECT * FROM t4 FOR SYSTEM_TIME BETWEEN (NOW() - INTERVAL 1 DAY) AND NOW() AS h ORDER BY id

-- name: select-system-time-all-join
SELECT * FROM t4 FOR SYSTEM_TIME ALL JOIN t1 ON t1.id = t4.id

-- name: select-system-time-from-to
SELECT COUNT(*) FROM t4 FOR SYSTEM_TIME FROM '2024-01-01' TO NOW()

-- name: select-view
SELECT * FROM v1

-- name: select-oracle-style-rownum-free-limit-rows-examined
SELECT * FROM t1 LIMIT 10 ROWS EXAMINED 1000

-- name: select-offset-fetch
SELECT * FROM t1 ORDER BY id OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY

-- name: select-fetch-with-ties
SELECT * FROM t1 ORDER BY a FETCH FIRST 1 ROWS WITH TIES

-- name: insert-values
INSERT INTO t1 (id, a, b) VALUES (100, 1, 'x'), (101, 2, 'y')

-- name: insert-set
INSERT INTO t1 SET id = 102, a = 3, b = 'z'

-- name: insert-select
INSERT INTO t2 (id, c) SELECT id, a FROM t1

-- name: insert-ignore
INSERT IGNORE INTO t1 (id, a) VALUES (1, 1)

-- name: insert-on-duplicate-values
INSERT INTO t1 (id, a) VALUES (1, 5) ON DUPLICATE KEY UPDATE a = VALUES(a) + 1

-- name: insert-on-duplicate-value
INSERT INTO t1 (id, a) VALUES (1, 5) ON DUPLICATE KEY UPDATE a = VALUE(a)

-- name: insert-returning
INSERT INTO t1 (id, a) VALUES (103, 1) RETURNING id, a

-- name: insert-select-returning
INSERT INTO t2 (id, c) SELECT id + 1000, a FROM t1 RETURNING *

-- name: insert-default-values
INSERT INTO t2 () VALUES ()

-- name: insert-low-priority
INSERT LOW_PRIORITY INTO t1 (id) VALUES (104)

-- name: insert-partition
INSERT INTO t3 PARTITION (p0) (id) VALUES (5)

-- name: insert-sequence-value
INSERT INTO t2 (id, c) VALUES (NEXTVAL(s1), 1)

-- name: replace-values
REPLACE INTO t1 (id, a) VALUES (1, 9)

-- name: replace-set
REPLACE t1 SET id = 2, a = 8

-- name: replace-select
REPLACE INTO t2 (id, c) SELECT id, a FROM t1

-- name: replace-returning
REPLACE INTO t1 (id, a) VALUES (1, 7) RETURNING id

-- name: update-basic
UPDATE t1 SET a = a + 1 WHERE id = 1

-- name: update-order-limit
UPDATE t1 SET a = 0 WHERE a > 0 ORDER BY id LIMIT 2

-- name: update-multi-table
UPDATE t1, t2 SET t1.a = t2.c WHERE t1.id = t2.id

-- name: update-join
UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = 1, t2.c = 2

-- name: update-ignore-low-priority
UPDATE LOW_PRIORITY IGNORE t1 SET a = 1 WHERE id = 1

-- name: delete-basic
DELETE FROM t1 WHERE id = 1

-- name: delete-order-limit
DELETE FROM t1 WHERE a > 100 ORDER BY id LIMIT 1

-- name: delete-returning
DELETE FROM t1 WHERE id = 2 RETURNING id, a

-- name: delete-multi-table
DELETE t1, t2 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t1.a > 100

-- name: delete-multi-table-using
DELETE FROM t1, t2 USING t1 JOIN t2 ON t1.id = t2.id WHERE t1.a > 100

-- name: delete-quick-ignore
DELETE QUICK IGNORE FROM t1 WHERE id = 3

-- name: delete-partition
DELETE FROM t3 PARTITION (p0) WHERE id = 5

-- name: prepare-execute-using-literal
EXECUTE q USING 4

-- name: execute-using-several
EXECUTE q USING 'a'

-- name: execute-using-variable
EXECUTE q USING @x

-- name: prepare-from-string
PREPARE q2 FROM 'SELECT ? + 1'

-- name: deallocate
DEALLOCATE PREPARE q

-- name: call-procedure
CALL p1()

-- name: do-expression
DO 1 + 1

-- name: set-variable
SET @x = 1, @y := 2

-- name: set-session-variable
SET SESSION sql_select_limit = 10

-- name: set-statement-for
SET STATEMENT max_statement_time = 10 FOR SELECT * FROM t1

-- name: set-transaction
SET TRANSACTION ISOLATION LEVEL READ COMMITTED

-- name: set-names
SET NAMES utf8mb4

-- name: show-tables
SHOW FULL TABLES

-- name: show-columns
SHOW COLUMNS FROM t1

-- name: show-create-table
SHOW CREATE TABLE t1

-- name: show-index
SHOW INDEX FROM t1

-- name: show-variables-like
SHOW SESSION VARIABLES LIKE 'sql_mode'

-- name: show-status-where
SHOW STATUS WHERE Variable_name = 'Uptime'

-- name: show-warnings-limit
SHOW WARNINGS LIMIT 5

-- name: show-create-sequence
SHOW CREATE SEQUENCE s1

-- name: show-table-status
SHOW TABLE STATUS LIKE 't%'

-- name: show-processlist
SHOW PROCESSLIST

-- name: show-explain-free-explain-format
EXPLAIN FORMAT=JSON SELECT * FROM t1

-- name: explain-select
EXPLAIN SELECT * FROM t1 WHERE id = 1

-- name: explain-extended
EXPLAIN EXTENDED SELECT * FROM t1

-- name: describe-table
DESCRIBE t1

-- name: desc-column
DESC t1 a

-- name: analyze-select
ANALYZE SELECT * FROM t1

-- name: analyze-format-json
ANALYZE FORMAT=JSON SELECT * FROM t1

-- name: help-free-checksum-table
CHECKSUM TABLE t1

-- name: start-transaction-read-only
START TRANSACTION READ ONLY

-- name: start-transaction-consistent-snapshot
START TRANSACTION WITH CONSISTENT SNAPSHOT

-- name: begin-work
BEGIN WORK

-- name: savepoint
SAVEPOINT sp1

-- name: commit-and-no-chain
COMMIT AND NO CHAIN

-- name: rollback-work
ROLLBACK WORK

-- name: select-comment-styles
SELECT 1 # hash comment
, 2 -- dash comment
, /* block */ 3

-- name: select-executable-comment
SELECT /*! STRAIGHT_JOIN */ t1.id FROM t1, t2

-- name: select-mariadb-executable-comment
SELECT /*M! 1 + */ 1

-- name: select-optimizer-hint-free-sql-buffer-result
SELECT SQL_BUFFER_RESULT SQL_SMALL_RESULT a FROM t1 GROUP BY a

-- name: select-row-constructor
SELECT * FROM t1 WHERE (id, a) IN ((1, 1), (2, 2))

-- name: select-like-escape
SELECT * FROM t1 WHERE b LIKE 'a!%' ESCAPE '!'

-- name: select-regexp-rlike
SELECT b REGEXP '^a', b RLIKE 'b$', b SOUNDS LIKE 'x' FROM t1

-- name: select-interval-arith
SELECT NOW() + INTERVAL 1 HOUR, '2024-01-01' - INTERVAL 1 DAY

-- name: select-match-against-free-between
SELECT * FROM t1 WHERE a BETWEEN 1 AND 10 AND b IS NOT NULL AND a <=> NULL

-- name: select-div-mod-xor
SELECT 7 DIV 2, 7 MOD 2, 1 XOR 0, 5 % 3

-- name: select-group-concat
SELECT GROUP_CONCAT(DISTINCT b ORDER BY b SEPARATOR ';' LIMIT 3) FROM t1

-- name: select-connection-functions
SELECT CONNECTION_ID(), DATABASE(), CURRENT_USER(), LAST_INSERT_ID(), ROW_COUNT()

-- name: select-column-json-check-free-uuid
SELECT UUID(), SYS_GUID(), RAND(), ROUND(1.5), CRC32('x')

-- name: select-natural-sort-key
SELECT NATURAL_SORT_KEY(b) FROM t1

-- name: select-oracle-decode-free-decode-histogram
SELECT DECODE_HISTOGRAM('SINGLE_PREC_HB', '')

-- name: select-column-check-window-first-value
SELECT FIRST_VALUE(a) OVER (ORDER BY id), NTILE(2) OVER (ORDER BY id), CUME_DIST() OVER (ORDER BY id) FROM t1

-- name: select-json-path-member
SELECT * FROM t1 WHERE JSON_EXISTS(j, '$.a')

-- name: select-sformat
SELECT SFORMAT('{} {}', 1, 'x')

-- name: select-inet-functions
SELECT INET6_ATON('::1'), INET_NTOA(1), IS_IPV4('1.2.3.4')

-- name: select-with-lock-timeout-free-for-system-time
SELECT * FROM t1 WHERE id IN (SELECT id FROM t2)

-- name: handler-open-read-close
HANDLER t1 READ FIRST

-- name: lock-tables-read
LOCK TABLES t1 READ

-- name: unlock-tables
UNLOCK TABLES

-- name: insert-delayed-free-high-priority
INSERT HIGH_PRIORITY INTO t1 (id) VALUES (105)

-- name: update-returning-free-set-default
UPDATE t1 SET b = DEFAULT WHERE id = 1
