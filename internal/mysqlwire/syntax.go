package mysqlwire

import (
	"fmt"
	"strings"

	"airlock"
)

// erParse is ER_PARSE_ERROR (SQLSTATE 42000).
const erParse = 1064

// syntaxMessage is the server's text of ER_PARSE_ERROR for se; MySQL and
// MariaDB name themselves in it.
func syntaxMessage(se *airlock.SyntaxError, version string) string {
	server := "MySQL"
	if strings.Contains(version, "MariaDB") {
		server = "MariaDB"
	}
	return fmt.Sprintf("You have an error in your SQL syntax; check the manual that corresponds to your %s server version for the right syntax to use near '%s' at line %d", server, se.Near, max(se.Line, 1))
}
