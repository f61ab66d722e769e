package mysql

import (
	"regexp"
	"strings"
)

// myStatementWords are the words a MariaDB or MySQL statement may start
// with (SQL statements and the compound statements MariaDB runs outside
// stored programs).
var myStatementWords = map[string]bool{
	"ALTER": true, "ANALYZE": true, "BACKUP": true, "BEGIN": true, "BINLOG": true, "CACHE": true,
	"CALL": true, "CASE": true, "CHANGE": true, "CHECK": true, "CHECKSUM": true, "CLOSE": true,
	"COMMIT": true, "CREATE": true, "DEALLOCATE": true, "DECLARE": true, "DELETE": true, "DESC": true,
	"DESCRIBE": true, "DO": true, "DROP": true, "EXECUTE": true, "EXPLAIN": true, "FETCH": true,
	"FLUSH": true, "FOR": true, "GET": true, "GRANT": true, "HANDLER": true, "HELP": true, "IF": true,
	"IMPORT": true, "INSERT": true, "INSTALL": true, "ITERATE": true, "KILL": true, "LEAVE": true,
	"LOAD": true, "LOCK": true, "LOOP": true, "OPEN": true, "OPTIMIZE": true, "PREPARE": true,
	"PURGE": true, "RELEASE": true, "RENAME": true, "REPAIR": true, "REPEAT": true, "REPLACE": true,
	"RESET": true, "RESIGNAL": true, "RESTART": true, "RETURN": true, "REVOKE": true, "ROLLBACK": true,
	"SAVEPOINT": true, "SELECT": true, "SET": true, "SHOW": true, "SHUTDOWN": true, "SIGNAL": true,
	"START": true, "STOP": true, "TABLE": true, "TRUNCATE": true, "UNINSTALL": true, "UNLOCK": true,
	"UPDATE": true, "USE": true, "VALUES": true, "WHILE": true, "WITH": true, "XA": true,
}

// myLead matches what may precede a statement's first word: whitespace and
// comments that are not executable.
var myLead = regexp.MustCompile(`^(?:\s+|/\*[^!M][^*]*\*+(?:[^/*][^*]*\*+)*/|/\*\*/|(?:--\s|#)[^\n]*(?:\n|$))*`)

// myServerRejects reports whether the server's own grammar certainly
// rejects stmt, a statement the classifier could not parse: its first
// word starts no statement. Anything else the classifier cannot read may
// be valid MariaDB or MySQL that the parser airlock uses does not know,
// so it is airlock's denial (rule parse), not a syntax error.
func myServerRejects(stmt string) bool {
	s := stmt[len(myLead.FindString(stmt)):]
	if s == "" || s[0] == '(' || strings.HasPrefix(s, "/*") {
		return false
	}
	i := 0
	for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i < len(s) && (s[i] >= 0x80 || s[i] >= '0' && s[i] <= '9' || s[i] == '$') {
		return true // not a keyword, and no statement starts with a name
	}
	rest := strings.TrimLeft(s[i:], " \t\r\n")
	if i > 0 && strings.HasPrefix(rest, ":") {
		return false // a label
	}
	return !myStatementWords[strings.ToUpper(s[:i])]
}
