package mysqlwire

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"airlock"
	"airlock/internal/undo"
)

// sessionState is what the client's statements left on the upstream
// session that a new connection would not have.
type sessionState struct {
	tempTables bool // CREATE TEMPORARY TABLE succeeded
	tableLocks bool // LOCK TABLES without UNLOCK TABLES since
	namedLocks bool // GET_LOCK was called (and not RELEASE_ALL_LOCKS since)
	// sqlPrepared are the SQL prepared statements (PREPARE name FROM ...)
	// with the text that made them, to make them again.
	sqlPrepared orderedTexts
}

// orderedTexts maps names to texts, remembering the order they came in.
type orderedTexts struct {
	order []string
	text  map[string]string
}

func (o *orderedTexts) set(name, text string) {
	if o.text == nil {
		o.text = map[string]string{}
	}
	if _, ok := o.text[name]; !ok {
		o.order = append(o.order, name)
	}
	o.text[name] = text
}

func (o *orderedTexts) drop(name string) {
	if _, ok := o.text[name]; !ok {
		return
	}
	delete(o.text, name)
	o.order = slices.DeleteFunc(o.order, func(n string) bool { return n == name })
}

func (o *orderedTexts) names() []string { return append([]string(nil), o.order...) }

var (
	createTempRE = regexp.MustCompile(`(?is)^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMPORARY\s+TABLE\b`)
	lockTablesRE = regexp.MustCompile(`(?is)^\s*LOCK\s+TABLES?\b`)
	unlockRE     = regexp.MustCompile(`(?is)^\s*UNLOCK\s+TABLES?\b`)
)

// follow records what a statement that succeeded left on the session.
func (s *sessionState) follow(st *airlock.Statement) {
	cmd := strings.ToUpper(st.Command)
	reads := st.Kind == airlock.KindSelect || st.Kind == airlock.KindShow || st.Kind == airlock.KindExplain
	switch {
	case reads:
		// A read makes no temporary table, table lock or prepared
		// statement (the hot path: no text matching).

	case createTempRE.MatchString(st.Text) || strings.Contains(cmd, "TEMPORARY"):
		s.tempTables = true
	case unlockRE.MatchString(st.Text) || cmd == "UNLOCK TABLES":
		s.tableLocks = false
	case lockTablesRE.MatchString(st.Text) || cmd == "LOCK TABLES":
		s.tableLocks = true
	case cmd == "BEGIN" || cmd == "START TRANSACTION":
		// Beginning a transaction releases the table locks.
		s.tableLocks = false
	case cmd == "PREPARE" && st.Name != "":
		s.sqlPrepared.set(st.Name, st.Text)
	case (cmd == "DEALLOCATE" || cmd == "DEALLOCATE PREPARE" || cmd == "DROP PREPARE") && st.Name != "":
		s.sqlPrepared.drop(st.Name)
	}
	for _, f := range st.Functions {
		switch strings.ToLower(f[strings.LastIndexByte(f, '.')+1:]) {
		case "get_lock":
			s.namedLocks = true
		case "release_all_locks":
			s.namedLocks = false
		}
	}
}

// blocker names state that cannot move to a new connection, or "".
func (s *sessionState) blocker() string {
	switch {
	case s.tempTables:
		return "temporary tables"
	case s.tableLocks:
		return "table locks (LOCK TABLES)"
	case s.namedLocks:
		return "named locks (GET_LOCK)"
	}
	return ""
}

// carriedSettings are the session variables carried to a new connection:
// those a client may change (airlock pins the character set and the
// lexing flags of sql_mode itself).
var carriedSettings = []string{"time_zone", "sql_select_limit", "max_execution_time", "max_statement_time",
	"tx_isolation", "transaction_isolation", "autocommit", "sql_mode", "character_set_client", "character_set_results", "collation_connection",
	"lock_wait_timeout", "innodb_lock_wait_timeout", "div_precision_increment", "group_concat_max_len",
	"sql_safe_updates", "foreign_key_checks", "unique_checks", "net_read_timeout", "net_write_timeout",
	"wait_timeout", "interactive_timeout", "lc_time_names", "long_query_time", "optimizer_search_depth"}

// maybeSwitch moves the session to an upstream connection made with the
// credential of the level it holds now, when they differ (a grant started
// or ended). It switches only between transactions, carrying settings,
// user variables and prepared statements over; when the session holds
// state that cannot move (temporary tables, locks), it ends the session
// instead, saying why and how to go on.
func (c *conn) maybeSwitch() error {
	want := c.sess.Level()
	if want == c.up.level || c.up.status&statusInTrans != 0 {
		return nil
	}
	from := c.up.level
	if b := c.state.blocker(); b != "" {
		c.sess.End(fmt.Sprintf("access changed from %s to %s, and this session holds %s, which cannot move to a new connection; reconnect to continue at %s", from, want, b, want))
		return errEnded
	}
	fail := func(err error) error {
		c.log.Warn("switch upstream", "to", want, "err", err)
		c.sess.End(fmt.Sprintf("access changed from %s to %s, but the new connection could not be prepared; reconnect to continue", from, want))
		return errEnded
	}
	if _, ok := c.sess.Credential(want); !ok {
		c.sess.End(fmt.Sprintf("access changed to %s, which has no credential on this database", want))
		return errEnded
	}
	settings, err := c.internal("SHOW SESSION VARIABLES WHERE Variable_name IN ('" + strings.Join(carriedSettings, "', '") + "')")
	if err != nil {
		return fail(err)
	}
	vars, err := c.internal("SELECT VARIABLE_NAME, VARIABLE_VALUE, VARIABLE_TYPE, VARIABLE_VALUE IS NULL FROM information_schema.USER_VARIABLES")
	var se *sqlError
	if errors.As(err, &se) {
		vars, err = &result{}, nil // no user_variables plugin: nothing to carry
	}
	if err != nil {
		return fail(err)
	}
	up, err := c.dial(want)
	if err != nil {
		return fail(err)
	}
	old := c.up
	c.setUpstream(up) // the replay runs on the new connection
	if err := c.replay(settings, vars); err != nil {
		c.setUpstream(old)
		up.quit()
		return fail(err)
	}
	old.quit()
	up.latin1 = old.latin1 // the client charset was carried over
	c.checkPins = true
	c.log.Info("upstream switched", "from", from, "to", want, "upstream_thread", up.threadID)
	return nil
}

// replay makes the session's state again on c.up.
func (c *conn) replay(settings, vars *result) error {
	var sets []string
	for _, row := range settings.rows {
		if len(row) != 2 {
			continue
		}
		v := row[1]
		if strings.EqualFold(row[0], "sql_mode") {
			v = cleanSQLMode(v)
		}
		sets = append(sets, fmt.Sprintf("@@SESSION.%s = %s", row[0], settingValue(v)))
	}
	for _, row := range vars.rows {
		if len(row) != 4 {
			continue
		}
		v := userVarValue(row[1], row[2])
		if row[3] == "1" {
			v = "NULL"
		}
		sets = append(sets, fmt.Sprintf("@%s = %s", undo.MyQuoteIdent(row[0]), v))
	}
	for i := 0; i < len(sets); i += 50 {
		if _, err := c.internal("SET " + strings.Join(sets[i:min(i+50, len(sets))], ", ")); err != nil {
			return fmt.Errorf("carry settings over: %w", err)
		}
	}
	if c.schema != "" {
		if _, err := c.internal("USE " + undo.MyQuoteIdent(c.schema)); err != nil {
			return fmt.Errorf("carry the current schema over: %w", err)
		}
	}
	// Prepared statements are made again; one the new credential may
	// not prepare (a write, on a lower level) fails when it is run, as
	// the decision at that point would deny it anyway.
	var se *sqlError
	for _, name := range c.state.sqlPrepared.order {
		if _, err := c.internal(c.state.sqlPrepared.text[name]); err != nil && !errors.As(err, &se) {
			return fmt.Errorf("carry prepared statement %s over: %w", name, err)
		}
	}
	for _, st := range c.stmts {
		if err := c.forward(append([]byte{comStmtPrepare}, st.text...)); err != nil {
			return err
		}
		n, err := c.prepared(st.text, false)
		st.upTypes, st.gone = nil, nil
		switch {
		case errors.As(err, &se):
			st.gone = se
		case err != nil:
			return fmt.Errorf("carry prepared statement %d over: %w", st.id, err)
		default:
			st.upID = n.upID
		}
	}
	return nil
}

var numberRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// settingValue writes a session variable's value for SET.
func settingValue(v string) string {
	if numberRE.MatchString(v) || strings.EqualFold(v, "ON") || strings.EqualFold(v, "OFF") {
		return v
	}
	return undo.MyQuoteLiteral(v)
}

// userVarValue writes a user variable's value with its type.
func userVarValue(v, typ string) string {
	switch strings.ToUpper(typ) {
	case "INT", "DECIMAL", "DOUBLE", "REAL":
		if numberRE.MatchString(v) || strings.ContainsAny(v, "eE") {
			return v
		}
	}
	return undo.MyQuoteLiteral(v)
}

// LevelDropped is the level hook of the gateway.Adapter: when the
// session's level drops while its upstream connection holds the higher
// credential and a command or transaction is open, the session ends, so
// that nothing is committed with access that is gone. An idle session is
// lowered at its next command instead.
func (c *conn) LevelDropped(old, lvl airlock.Level) {
	c.upMu.Lock()
	up := c.up
	c.upMu.Unlock()
	if up != nil && up.level > lvl && !c.idle.Load() {
		c.sess.End(fmt.Sprintf("access dropped from %s to %s while a statement or transaction was open; it was rolled back", up.level, lvl))
	}
}
