package pgwire

import (
	"encoding/binary"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"

	"airlock"
)

// signalRE matches a statement that does nothing but signal one backend:
// SELECT pg_terminate_backend(arg) or pg_cancel_backend(arg), where arg is
// a literal integer, the statement's only parameter, or pg_backend_pid().
var signalRE = regexp.MustCompile(`(?is)^\s*select\s+(?:pg_catalog\s*\.\s*)?(pg_terminate_backend|pg_cancel_backend)\s*\(\s*([0-9]+|\$1|pg_backend_pid\s*\(\s*\))\s*\)\s*;?\s*$`)

// maxSignalText bounds the statements ownSignal reads: longer ones are
// decided by the classifier alone.
const maxSignalText = 512

// maySignal reports whether signalRE can match text: it is short enough
// and holds the parenthesis every match has. Most statements have none,
// and this spares them the regular expression.
func maySignal(text string) bool {
	return len(text) <= maxSignalText && strings.IndexByte(text, '(') >= 0
}

// owner is who may signal this connection's upstream backend: the same
// airlock user on the same database.
func (c *conn) owner() string {
	return c.sess.User().Name + "\x00" + c.sess.Database().Name
}

// cancelKey is the key of c's BackendKeyData.
func (c *conn) cancelKey() [8]byte {
	var k [8]byte
	binary.BigEndian.PutUint32(k[:4], c.keyPID)
	copy(k[4:], c.keySecret)
	return k
}

// ownSignal decides whether text, run with params, only terminates or
// cancels the upstream backend of one of the user's own live sessions on
// this database through this gateway (this one included), as PostgreSQL
// lets a role end its own backends. Then it returns the facts to decide it
// with: a read-level statement, allowed at any level. Any other target, or
// an argument that is not a literal PID, is left to the classifier, which
// makes these functions admin (they act on other sessions).
func (c *conn) ownSignal(text string, params []string) ([]airlock.Statement, bool) {
	if !maySignal(text) {
		return nil, false
	}
	m := signalRE.FindStringSubmatch(text)
	if m == nil {
		return nil, false
	}
	fn, arg := strings.ToLower(m[1]), m[2]
	var pid uint32
	switch {
	case arg == "$1":
		if len(params) != 1 {
			return nil, false
		}
		p, ok := paramPID(params[0])
		if !ok {
			return nil, false
		}
		pid = p
	case arg[0] >= '0' && arg[0] <= '9':
		n, err := strconv.ParseUint(arg, 10, 31)
		if err != nil {
			return nil, false
		}
		pid = uint32(n)
	default: // pg_backend_pid()
		pid = c.up.pid
	}
	if pid == 0 || (pid != c.up.pid && !c.srv.ownBackend(c.owner(), pid)) {
		return nil, false
	}
	why := "ends a backend of the user's own session"
	if fn == "pg_cancel_backend" {
		why = "cancels the statement of a backend of the user's own session"
	}
	return []airlock.Statement{{Kind: airlock.KindSelect, Level: airlock.LevelRead, Command: "SELECT",
		Text: strings.TrimSpace(text), Why: why, Functions: []string{fn}}}, true
}

// signalParse reports whether a Parse of text is to be let through so that
// each Execute decides it with the PID it names (bound, for $1): text only
// signals one backend.
func signalParse(text string) bool {
	return maySignal(text) && signalRE.MatchString(text)
}

// paramPID reads a bound PID: text, or binary int4 or int8 (as the bind
// values are kept, hex after \x).
func paramPID(v string) (uint32, bool) {
	if h, ok := strings.CutPrefix(v, `\x`); ok {
		b, err := hex.DecodeString(h)
		if err != nil {
			return 0, false
		}
		switch len(b) {
		case 4:
			n := int32(binary.BigEndian.Uint32(b))
			return uint32(n), n > 0
		case 8:
			n := int64(binary.BigEndian.Uint64(b))
			return uint32(n), n > 0 && n <= 1<<31-1
		}
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 31)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}
