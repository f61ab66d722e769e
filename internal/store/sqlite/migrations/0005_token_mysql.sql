-- 0005: the MySQL verifiers of a token (airlock.Token.MySQLNative and
-- MySQLSHA2). Tokens issued before have none and cannot log in to MySQL.

ALTER TABLE tokens ADD COLUMN mysql_native BLOB;  -- SHA1(SHA1(secret))
ALTER TABLE tokens ADD COLUMN mysql_sha2 BLOB;    -- SHA256(SHA256(secret))
