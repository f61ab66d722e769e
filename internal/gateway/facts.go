package gateway

import (
	"fmt"
	"strings"

	"airlock"
)

// The statement facts a session keeps between statements: prepared
// statements' facts (EXECUTE and protocol executions are decided on them),
// and the search_path that qualifies table names as the database resolves
// them.

// SetSearchPath records the session's search_path (from the startup or a
// SET that succeeded), used to qualify table names.
func (s *Session) SetSearchPath(v string) { s.searchPath = parseSearchPath(v) }

// SetSchema records the MySQL session's current schema when it is not the
// database's own ("" for that one), used to qualify table names.
func (s *Session) SetSchema(name string) { s.schema = name }

// substitute replaces the facts of EXECUTE name with those recorded when
// name was prepared, and notes what PREPARE statements will record.
func (s *Session) substitute(c *Check) {
	for i := range c.Stmts {
		st := &c.Stmts[i]
		switch st.Command {
		case "PREPARE":
			if c.prepares == nil {
				c.prepares = map[string][]airlock.Statement{}
			}
			c.prepares[st.Name] = []airlock.Statement{*st}
		case "EXECUTE":
			facts, ok := c.prepares[st.Name]
			if !ok {
				var p *Prepared
				if p, ok = s.prepared[st.Name]; ok {
					facts = p.stmts
				}
			}
			if !ok {
				// Unknown to airlock: keep the classifier's admin level,
				// so that only admins run it (fail closed).
				st.Why = fmt.Sprintf("prepared statement %q is unknown to airlock", st.Name)
				continue
			}
			text, name, args, argsWhy, fns := st.Text, st.Name, st.ArgsLevel, st.ArgsWhy, st.Functions
			*st = strongest(facts)
			st.Text, st.Command, st.Name = text, "EXECUTE", name
			// The parameters run too: EXECUTE p(pg_terminate_backend(1)).
			if args > st.Level {
				st.Level, st.Why = args, argsWhy
			}
			st.Functions = append(append([]string(nil), st.Functions...), fns...)
		}
	}
}

// applyEffects follows what a successful statement changed in the session.
func (s *Session) applyEffects(c *Check, st *airlock.Statement) {
	switch st.Command {
	case "PREPARE":
		s.prepared[st.Name] = &Prepared{stmts: c.prepares[st.Name]}
	case "DEALLOCATE", "DEALLOCATE PREPARE":
		delete(s.prepared, st.Name)
	case "DEALLOCATE ALL", "DISCARD ALL":
		clear(s.prepared)
	}
	if st.Setting == "search_path" {
		s.SetSearchPath(st.Value)
	}
}

// Prepared is a statement prepared under a name in a session (SQL
// PREPARE, PostgreSQL's Parse, MySQL's COM_STMT_PREPARE): the facts the
// core decided it on, on which it decides each execution. They stay in
// the core; an adapter holds the handle (a PostgreSQL portal binds one)
// and passes it to CheckPrepared. A handle never changes.
type Prepared struct {
	stmts []airlock.Statement
}

// Text returns the text of the statement's facts, as an execution of it
// is audited (several statements joined by "; ").
func (p *Prepared) Text() string {
	if p == nil {
		return ""
	}
	if len(p.stmts) == 1 {
		return p.stmts[0].Text
	}
	parts := make([]string, len(p.stmts))
	for i, st := range p.stmts {
		parts[i] = st.Text
	}
	return strings.Join(parts, "; ")
}

// CursorFetch returns the prepared statement of a cursor's portal (a
// PostgreSQL DECLARE ... CURSOR that succeeded): executing it by name
// only fetches rows of a query decided when it was declared.
func CursorFetch(text string) *Prepared {
	return &Prepared{stmts: []airlock.Statement{{Kind: airlock.KindSelect, Level: airlock.LevelRead, Command: "FETCH", Text: text}}}
}

// Prepared returns the statement prepared under name, or nil.
func (s *Session) Prepared(name string) *Prepared { return s.prepared[name] }

// Revert undoes a change to the session's prepared statements (an allowed
// Prepare, ClosePrepared): the name holds again what it held before. An
// adapter calls it when its database failed or skipped the message that
// made the change.
type Revert func()

// record makes name hold p (nil: nothing), and returns how to undo that.
func (s *Session) record(name string, p *Prepared) Revert {
	old, had := s.prepared[name]
	if p == nil {
		delete(s.prepared, name)
	} else {
		s.prepared[name] = p
	}
	return func() {
		if had {
			s.prepared[name] = old
		} else {
			delete(s.prepared, name)
		}
	}
}

// ClosePrepared forgets the statement prepared under name, as the
// client closed it (PostgreSQL's Close, COM_STMT_CLOSE) or the database
// forgot it (COM_RESET_CONNECTION).
func (s *Session) ClosePrepared(name string) Revert { return s.record(name, nil) }

// strongest returns the statement with the highest level (the first one on
// ties), used to describe a multi-statement unit in one event.
func strongest(stmts []airlock.Statement) airlock.Statement {
	best := stmts[0]
	for _, st := range stmts[1:] {
		if st.Level > best.Level {
			best = st
		}
	}
	return best
}

func unionTables(stmts []airlock.Statement) []string {
	var out []string
	seen := map[string]bool{}
	for _, st := range stmts {
		for _, t := range st.Tables {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// qualify writes unqualified table names as the schema they most likely
// resolve to: the first schema of the search path (PostgreSQL; "public"
// by default; pg_catalog for pg_* names) or the database's schema (MySQL).
func (s *Session) qualify(st *airlock.Statement) {
	// Facts may be shared (a classifier cache, a prepared statement), so
	// the lists are copied before they change.
	q := func(ts []string) []string {
		var out []string
		for i, t := range ts {
			if strings.Contains(t, ".") {
				continue
			}
			if out == nil {
				out = append([]string(nil), ts...)
			}
			out[i] = s.qualifiedName(s.defaultSchema(t), t)
		}
		if out == nil {
			return ts
		}
		return out
	}
	st.Tables = q(st.Tables)
	st.WriteTables = q(st.WriteTables)
}

// qualifiedKey is a table name and the schema qualify gives it.
type qualifiedKey struct{ schema, table string }

// maxQualified bounds the names a session remembers (Session.qualified).
const maxQualified = 256

// qualifiedName returns schema + "." + table, from what the session
// remembers when it made the same name before.
func (s *Session) qualifiedName(schema, table string) string {
	k := qualifiedKey{schema, table}
	if q, ok := s.qualified[k]; ok {
		return q
	}
	if s.qualified == nil || len(s.qualified) >= maxQualified {
		s.qualified = make(map[qualifiedKey]string)
	}
	q := schema + "." + table
	s.qualified[k] = q
	return q
}

func (s *Session) defaultSchema(table string) string {
	if s.Database().Engine == airlock.EngineMySQL {
		if s.schema != "" {
			return s.schema
		}
		return s.Database().Database
	}
	if strings.HasPrefix(table, "pg_") {
		return "pg_catalog"
	}
	for _, p := range s.searchPath {
		if p != "$user" && p != "pg_catalog" && p != "pg_temp" {
			return p
		}
	}
	return "public"
}

// parseSearchPath splits a search_path value: comma-separated, each item
// maybe double-quoted.
func parseSearchPath(v string) []string {
	var out []string
	for _, part := range strings.Split(v, ",") {
		p := strings.TrimSpace(part)
		if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
			p = strings.ReplaceAll(p[1:len(p)-1], `""`, `"`)
		} else {
			p = strings.ToLower(p)
		}
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
