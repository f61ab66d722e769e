package mysqlwire

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"airlock"
	"airlock/internal/undo"
)

// airlock's own statements on the upstream connection: the settings it
// pins, the state it reads (row counters, storage engines, session
// variables), transaction control around guarded writes. They run between
// client commands, and nothing of them reaches the client.

// result is the answer to an internal query.
type result struct {
	rows     [][]string // NULL reads as ""
	affected uint64
}

// query runs SQL of airlock's own when nothing else is in flight and
// returns its rows (of the last result set). An ERR from the server is
// returned as *sqlError; the connection stays usable after it.
func (u *upstream) query(sql string) (*result, error) {
	u.seq = 0
	writePacket(u.w, &u.seq, append([]byte{comQuery}, sql...))
	if err := u.w.Flush(); err != nil {
		return nil, err
	}
	var res result
	var qerr error
	for {
		more, err := u.readResult(&res, &qerr)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	if qerr != nil {
		return nil, qerr
	}
	return &res, nil
}

// readResult reads one result of a query's answer into res.
func (u *upstream) readResult(res *result, qerr *error) (more bool, err error) {
	p, _, err := u.r.next(u.maxPacket + 1024)
	if err != nil {
		return false, err
	}
	if len(p) == 0 {
		return false, errMalformed
	}
	switch p[0] {
	case hdrOK:
		ok, err := parseOK(p)
		if err != nil {
			return false, err
		}
		u.status, res.affected = ok.status, ok.affected
		return ok.status&statusMoreResults != 0, nil
	case hdrERR:
		*qerr = parseERR(p)
		return false, nil
	case hdrLocalInfile:
		return false, errors.New("unexpected LOCAL INFILE request")
	}
	ncols, n := readLenenc(p)
	if n == 0 {
		return false, errMalformed
	}
	for range ncols {
		if _, _, err := u.r.next(1 << 20); err != nil {
			return false, err
		}
	}
	deprecate := u.caps&capDeprecateEOF != 0
	if !deprecate {
		if _, _, err := u.r.next(1 << 10); err != nil {
			return false, err
		}
	}
	res.rows = nil
	for {
		p, _, err := u.r.next(u.maxPacket + 1024)
		if err != nil {
			return false, err
		}
		if len(p) > 0 && p[0] == hdrERR {
			*qerr = parseERR(p)
			return false, nil
		}
		if len(p) > 0 && isEOFPacket(p[0], len(p)) {
			end, err := parseEnd(p, deprecate)
			if err != nil {
				return false, err
			}
			u.status = end.status
			return end.status&statusMoreResults != 0, nil
		}
		row := make([]string, 0, ncols)
		for range ncols {
			s, _, n, err := readLenencString(p)
			if err != nil {
				return false, err
			}
			row = append(row, string(s))
			p = p[n:]
		}
		res.rows = append(res.rows, row)
	}
}

// exec runs statements of airlock's own in turn, stopping at the first
// error.
func (u *upstream) exec(sqls ...string) error {
	for _, s := range sqls {
		if _, err := u.query(s); err != nil {
			return fmt.Errorf("%s: %w", firstWords(s), err)
		}
	}
	return nil
}

func firstWords(s string) string {
	f := strings.Fields(s)
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

// lexingModes are the sql_mode flags that change how the server reads
// text (quoting, escapes, function names, a whole other grammar); airlock
// removes them so that the classifier reads statements as the server does.
var lexingModes = map[string]bool{
	"ANSI_QUOTES": true, "NO_BACKSLASH_ESCAPES": true, "ANSI": true, "IGNORE_SPACE": true,
	"ORACLE": true, "MSSQL": true, "DB2": true, "MAXDB": true, "POSTGRESQL": true,
}

// cleanSQLMode removes the lexing flags from an sql_mode value.
func cleanSQLMode(mode string) string {
	var keep []string
	for _, m := range strings.Split(mode, ",") {
		m = strings.TrimSpace(m)
		if m != "" && !lexingModes[strings.ToUpper(m)] {
			keep = append(keep, m)
		}
	}
	return strings.Join(keep, ",")
}

// setup pins what airlock relies on: the connection character set
// (utf8mb4, in the client's collation when it is one of utf8mb4's), an
// sql_mode without the lexing flags, and, for a read session, read-only
// transactions. It also reads max_allowed_packet and
// innodb_rollback_on_timeout. It runs on a fresh connection and again
// after COM_RESET_CONNECTION.
func (u *upstream) setup(collation byte) error {
	r, err := u.query(fmt.Sprintf("SELECT @@SESSION.sql_mode, @@GLOBAL.max_allowed_packet, (SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE ID = %d AND CHARACTER_SET_NAME IN ('utf8mb4', 'latin1')), @@GLOBAL.innodb_rollback_on_timeout", collation))
	if err != nil {
		return fmt.Errorf("read session settings: %w", err)
	}
	if len(r.rows) != 1 || len(r.rows[0]) != 4 {
		return errors.New("read session settings: unexpected answer")
	}
	row := r.rows[0]
	if n, err := strconv.Atoi(row[1]); err == nil && n > 0 {
		u.maxPacket = n
	}
	u.rollbackOnTimeout = row[3] == "1"
	names := "SET NAMES utf8mb4"
	u.latin1 = false
	switch {
	case strings.HasPrefix(row[2], "latin1_"):
		// A latin1 client: its text is read as latin1 (clientText).
		names, u.latin1 = "SET NAMES latin1 COLLATE "+undo.MyQuoteLiteral(row[2]), true
	case row[2] != "":
		names += " COLLATE " + undo.MyQuoteLiteral(row[2])
	}
	stmts := []string{names, "SET SESSION sql_mode = " + undo.MyQuoteLiteral(cleanSQLMode(row[0]))}
	if u.level <= airlock.LevelRead {
		stmts = append(stmts, "SET SESSION TRANSACTION READ ONLY")
	}
	stmts = append(stmts, u.timeoutSQL()...)
	return u.exec(stmts...)
}

// pinnedSettings are the settings a statement may change whose value
// airlock must then check (the classifier denies literal values it does
// not allow; a prepared statement's parameter is known only at run time).
var pinnedSettings = map[string]bool{
	"sql_mode": true, "names": true, "charset": true, "character set": true,
	"character_set_client": true, "character_set_connection": true, "collation_connection": true,
}

// checkPinned ends the session when the upstream no longer reads text as
// the classifier does: NO_BACKSLASH_ESCAPES shows in every status, the
// rest is read after a statement changed one of the pinned settings.
func (c *conn) checkPinned() error {
	bad := ""
	if c.up.status&statusNoBackslash != 0 {
		bad = "sql_mode NO_BACKSLASH_ESCAPES"
	}
	if c.checkPins && bad == "" {
		c.checkPins = false
		r, err := c.internal("SELECT @@SESSION.sql_mode, @@SESSION.character_set_client, @@SESSION.character_set_connection")
		if err != nil {
			return fmt.Errorf("check pinned settings: %w", err)
		}
		if len(r.rows) != 1 || len(r.rows[0]) != 3 {
			return errors.New("check pinned settings: unexpected answer")
		}
		row := r.rows[0]
		switch {
		case cleanSQLMode(row[0]) != row[0]:
			bad = "sql_mode " + row[0]
		case !readable(row[1]) || !readable(row[2]):
			bad = "character set " + row[1] + "/" + row[2]
		default:
			c.up.latin1 = row[1] == "latin1"
		}
	}
	if bad == "" {
		return nil
	}
	c.sess.End(fmt.Sprintf("the connection's %s changed how statements are read; airlock pins it, reconnect", bad))
	return errEnded
}

// readable reports whether a connection charset is one airlock reads
// statements in: utf8mb4, utf8mb3 (the same encoding without 4-byte
// sequences, which Django and other clients ask for with SET NAMES utf8),
// and latin1 (one byte a character, read through clientText). Multibyte
// charsets whose trailing bytes may be a quote or a backslash (gbk, sjis,
// big5, cp932, gb18030) are not: such a session ends.
func readable(cs string) bool {
	return cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8" || cs == "latin1"
}

// clientText is the text of a client's statement as the classifier reads
// it: the bytes themselves, or, on a latin1 connection, their UTF-8
// transcoding (the bytes forwarded stay the client's).
func (c *conn) clientText(b []byte) string {
	if c.up == nil || !c.up.latin1 {
		return string(b)
	}
	return latin1ToUTF8(b)
}

// latin1CP1252 are the characters of MariaDB's latin1 (Windows-1252) at
// 0x80-0x9F; the five it leaves undefined map to the code point itself.
var latin1CP1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}

// latin1ToUTF8 transcodes MariaDB latin1 text to UTF-8. ASCII bytes, and so
// every quote, backslash and ';', stay where they are relative to each
// other: the text lexes as the server lexes the latin1 bytes.
func latin1ToUTF8(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			sb.WriteRune(latin1CP1252[c-0x80])
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}
