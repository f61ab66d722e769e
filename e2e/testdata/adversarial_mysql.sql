-- Attempts to change data or escape a read session through airlock's MySQL
-- listener. Each case is one header line (two dashes, "case:", a name) and
-- the text sent as one COM_QUERY (multi-statements on). Every case must be
-- denied by airlock (ERR 1227, SQLSTATE 42000, "airlock: denied"); a case
-- marked [database wall] may reach the database, whose read-only account
-- and transaction are then the wall: it must fail there without changing
-- anything. TestMySQLAdversarialCorpus checks the tables, the session's
-- pinned settings and the server's users afterwards.
-- case: versionless executable comment
/*!DELETE FROM victim WHERE id = 1*/
-- case: versioned executable comment
/*!50000 DELETE FROM victim WHERE id = 1 */
-- case: MariaDB executable comment
/*M!100000 DELETE FROM victim WHERE id = 1 */
-- case: executable comment after a read
SELECT 1 /*!; DELETE FROM victim WHERE id = 1 */
-- case: executable comment as a second statement
SELECT 1; /*!DELETE FROM victim*/
-- case: executable comment inside a write's WHERE
DELETE FROM victim WHERE id = 1 /*! OR 1 = 1 */
-- case: old version executable comment
/*!32302 DELETE FROM victim WHERE id = 1 */
-- case: hash comment then write
SELECT 1 # harmless
; DELETE FROM victim WHERE id = 1
-- case: dash comment then write
SELECT 1 -- harmless
; DELETE FROM victim WHERE id = 1
-- case: double dash without space is no comment
SELECT 1 --1; DELETE FROM victim WHERE id = 1
-- case: comments between keywords
DELETE/**/FROM/**/victim/**/WHERE/**/id=1
-- case: backslash ends the string early
SELECT 'a\\'; DELETE FROM victim WHERE id = 1; -- '
-- case: escaped quote then write
SELECT 'it\'s'; DELETE FROM victim WHERE id = 1
-- case: doubled quote then write
SELECT 'it''s'; DELETE FROM victim WHERE id = 1
-- case: double quoted string then write
SELECT "a\"b"; DELETE FROM victim WHERE id = 1
-- case: charset introducer then write
SELECT _latin1'\\'; DELETE FROM victim WHERE id = 1; #'
-- case: national string then write
SELECT N'x\\'; DELETE FROM victim WHERE id = 1; #'
-- case: hex literal then write
SELECT 0xbf27; DELETE FROM victim WHERE id = 1
-- case: backquoted table
DELETE FROM `victim` WHERE id = 1
-- case: schema qualified by function
DELETE FROM victim WHERE id = 1 AND DATABASE() IS NOT NULL
-- case: modifiers
DELETE LOW_PRIORITY QUICK IGNORE FROM victim WHERE id = 1
-- case: returning
DELETE FROM victim WHERE id = 1 RETURNING id
-- case: insert set form
INSERT victim SET v = 'x'
-- case: insert returning
INSERT INTO victim (v) VALUES ('x') RETURNING id
-- case: replace
REPLACE victim VALUES (1, 'x')
-- case: upsert
INSERT INTO victim VALUES (1, 'x') ON DUPLICATE KEY UPDATE v = 'pwned'
-- case: update with order and limit
UPDATE victim SET v = 'x' ORDER BY id LIMIT 1
-- case: multi-table delete
DELETE v1 FROM victim v1 JOIN victim v2 ON v1.id = v2.id WHERE v2.id = 1
-- case: CTE then delete
WITH x AS (SELECT 1 AS id) DELETE FROM victim WHERE id IN (SELECT id FROM x)
-- case: select for update in a union
SELECT * FROM victim WHERE id = 1 UNION SELECT * FROM victim WHERE id = 2 FOR UPDATE
-- case: select for update in parentheses
(SELECT * FROM victim WHERE id = 1 FOR UPDATE)
-- case: select for update in a subquery
SELECT (SELECT v FROM victim WHERE id = 1 FOR UPDATE)
-- case: lock in share mode
SELECT * FROM victim LOCK IN SHARE MODE
-- case: skip locked
SELECT * FROM victim WHERE id = 1 FOR UPDATE SKIP LOCKED
-- case: user variable then write
SELECT 1 INTO @x; DELETE FROM victim WHERE id = @x
-- case: prepare from a variable
SET @q = 'DELETE FROM victim'; PREPARE s FROM @q; EXECUTE s
-- case: prepare from an expression
PREPARE s FROM CONCAT('DELETE', ' FROM victim')
-- case: execute immediate
EXECUTE IMMEDIATE 'DELETE FROM victim WHERE id = 1'
-- case: execute immediate expression
EXECUTE IMMEDIATE CONCAT('DEL', 'ETE FROM victim')
-- case: set statement for a write
SET STATEMENT max_statement_time = 10 FOR DELETE FROM victim WHERE id = 1
-- case: set statement read only off
SET STATEMENT tx_read_only = 0 FOR SELECT 1
-- case: session variable read only off
SET @@session.transaction_read_only = 0
-- case: tx_read_only off
SET tx_read_only = OFF
-- case: transaction read write then write
SET SESSION TRANSACTION READ WRITE; DELETE FROM victim WHERE id = 1
-- case: start transaction read write
START TRANSACTION READ WRITE
-- case: sql_mode ANSI_QUOTES
SET sql_mode = 'ANSI_QUOTES'
-- case: sql_mode appended
SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')
-- case: sql_mode ANSI
SET SESSION sql_mode = 'ANSI'
-- case: sql_mode by assignment operator
SET @@sql_mode := 'ANSI_QUOTES'
-- case: set names gbk
SET NAMES gbk
-- case: set character set
SET CHARACTER SET big5
-- case: character_set_client
SET character_set_client = sjis
-- case: set names after a read
SELECT 1; SET NAMES 'gbk'
-- case: outfile
SELECT * FROM victim INTO OUTFILE '/tmp/airlock-my-pwned'
-- case: dumpfile
SELECT v FROM victim LIMIT 1 INTO DUMPFILE '/tmp/airlock-my-pwned'
-- case: load_file
SELECT LOAD_FILE('/etc/passwd')
-- case: load data local
LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE victim
-- case: load xml
LOAD XML INFILE '/tmp/x.xml' INTO TABLE victim
-- case: temporary table
CREATE TEMPORARY TABLE t (a int)
-- case: create table as select
CREATE TABLE victim2 AS SELECT * FROM victim
-- case: alter engine
ALTER TABLE victim ENGINE = MyISAM
-- case: optimize
OPTIMIZE TABLE victim
-- case: repair
REPAIR TABLE victim
-- case: flush
FLUSH TABLES
-- case: flush privileges
FLUSH PRIVILEGES
-- case: reset master
RESET MASTER
-- case: purge logs
PURGE BINARY LOGS BEFORE NOW()
-- case: shutdown
SHUTDOWN
-- case: kill another connection
KILL CONNECTION 1
-- case: kill another query
KILL QUERY 1
-- case: install plugin
INSTALL SONAME 'ha_blackhole'
-- case: set password
SET PASSWORD = PASSWORD('pwned')
-- case: create user
CREATE USER 'airlock_pwned'@'%'
-- case: grant
GRANT ALL ON *.* TO 'airlock_my_ro'@'%'
-- case: create role
CREATE ROLE airlock_pwned_role
-- case: set role
SET ROLE NONE
-- case: set global
SET GLOBAL read_only = 0
-- case: set global by variable syntax
SET @@global.max_connections = 1
-- case: xa
XA START 'pwned'
-- case: binlog
BINLOG 'AAAA'
-- case: change master
CHANGE MASTER TO MASTER_HOST = '127.0.0.1'
-- case: create event
CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DO DELETE FROM victim
-- case: create trigger
CREATE TRIGGER tr BEFORE INSERT ON victim FOR EACH ROW SET NEW.v = 'x'
-- case: create function
CREATE FUNCTION f() RETURNS int RETURN 1
-- case: call a procedure that deletes
CALL victim_evil_proc()
-- case: stored function that deletes
SELECT victim_evil()
-- case: get_lock
SELECT GET_LOCK('airlock', 0)
-- case: handler then write
HANDLER victim OPEN; DELETE FROM victim WHERE id = 1
-- case: use another schema
USE mysql
-- case: lock tables
LOCK TABLES victim WRITE
-- case: do with a write function
DO victim_evil()
-- case: rename
RENAME TABLE victim TO victim_old
-- case: truncate
TRUNCATE victim
-- case: drop
DROP TABLE victim
-- case: unparseable text
DELETE FROM victim WHERE id = 1 AND (
-- case: fullwidth keyword
ＤELETE FROM victim
