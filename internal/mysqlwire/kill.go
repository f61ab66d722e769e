package mysqlwire

import (
	"regexp"
	"strconv"
	"strings"

	"airlock"
	"airlock/internal/gateway"
)

// killQueryRE matches the cancellation clients send on a second
// connection (the mysql client on Ctrl-C, Connector/J's Statement.cancel).
var killQueryRE = regexp.MustCompile(`(?i)^\s*KILL\s+(?:(?:SOFT|HARD)\s+)?QUERY\s+([0-9]+)\s*;?\s*$`)

// killQuery handles `KILL QUERY <id>` when id is a connection of another
// session of the same user on the same database: the statement that
// session runs is killed upstream. It reports false when the query is
// anything else, to be decided like any statement (KILL is admin).
func (c *conn) killQuery(text string) (bool, error) {
	if !mayKill(text) {
		return false, nil
	}
	m := killQueryRE.FindStringSubmatch(text)
	if m == nil {
		return false, nil
	}
	id, err := strconv.ParseUint(m[1], 10, 32)
	if err != nil {
		return false, nil
	}
	target := c.srv.target(uint32(id), c)
	if target == nil {
		return false, nil
	}
	facts := []airlock.Statement{{Kind: airlock.KindUtility, Level: airlock.LevelRead, Command: "KILL QUERY",
		Text: strings.TrimSpace(text), Why: "cancels a statement of the user's own session"}}
	ch := c.sess.CheckCommand(c.ctx, text, facts, nil)
	if !ch.Decision.Allowed {
		c.sendDenied(ch.Decision)
		return true, nil
	}
	out := gateway.Outcome{}
	if target.busy.Load() {
		target.killRunning()
	}
	c.sess.Done(ch, 0, out)
	writePacket(c.cw, &c.cseq, appendOK(nil, 0, 0, c.up.status, 0))
	return true, nil
}

// mayKill reports whether text can match killQueryRE, without running it
// on every query: after the spaces \s matches, its first byte must start
// a K, k or the Kelvin sign (U+212A), which (?i) folds to k.
func mayKill(text string) bool {
	t := strings.TrimLeft(text, "\t\n\f\r ")
	return t != "" && (t[0] == 'K' || t[0] == 'k' || t[0] == 0xE2)
}
