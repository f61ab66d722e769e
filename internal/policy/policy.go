// Package policy makes airlock's decisions: what level a user holds on a
// database, and whether statements may run in a session. It is pure: no
// I/O, no clock of its own, no knowledge of wire protocols or parsers. The
// gateway gives it classified statements (airlock.Statement facts) and the
// session's facts, and gets an airlock.Decision back.
package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"airlock"
)

// Subject is what a decision needs to know about who runs the statements:
// the session's user, database and access now. The live session is
// gateway.Session, its stored record airlock.Session.
type Subject struct {
	User     *airlock.User
	Database *airlock.Database
	// Level is the session's level now.
	Level airlock.Level
	// WriteTables, when not nil, are the only tables the session may
	// change (a grant that names tables); schema-qualified.
	WriteTables []string
	// SearchPath is the session's schema search path, for matching
	// unqualified names against protected tables.
	SearchPath []string
	// Agent is set when the session's user is an agent (the MCP
	// server); OnBehalfOf names the person it acts for, if it said.
	Agent      bool
	OnBehalfOf string
	// CountsRows says that the adapter counts the rows an allowed write
	// really changes before it can commit (blast radius or undo on): the
	// unbounded-write rule then leaves an UPDATE or DELETE without WHERE
	// that the session's level allows to that count (gateway:
	// Guard.Unbounded) instead of denying it.
	CountsRows bool
}

// Engine decides statements. It is safe for concurrent use.
type Engine struct {
	policies []airlock.Policy
	rules    []*Rule // custom rules, compiled at New
}

// New compiles the custom guardrails rules (in order) and keeps the
// standing levels policies give. A rule that does not compile is an error
// naming the rule and the position.
func New(policies []airlock.Policy, rules []airlock.Guardrail) (*Engine, error) {
	e := &Engine{policies: slices.Clone(policies)}
	for i := range rules {
		r, err := compileRule(&rules[i])
		if err != nil {
			return nil, err
		}
		e.rules = append(e.rules, r)
	}
	return e, nil
}

// StandingLevel is the highest standing level any policy gives user on db.
func (e *Engine) StandingLevel(u *airlock.User, db string) airlock.Level {
	lvl := airlock.LevelNone
	for _, p := range e.policies {
		if p.Standing > lvl && matchesPolicy(&p, u, db) {
			lvl = p.Standing
		}
	}
	return lvl
}

func matchesPolicy(p *airlock.Policy, u *airlock.User, db string) bool {
	if !slices.Contains(p.Databases, db) && !slices.Contains(p.Databases, "*") {
		return false
	}
	for _, g := range p.Groups {
		if u.InGroup(g) {
			return true
		}
	}
	return false
}

// Decide checks statements (one query's worth) in session s. The query is
// denied whole when any statement is denied; the first denial names the
// rule. Rules run in an order that gives the most useful answer: rules
// that deny at every level come before the level check, so that nobody is
// told to request access that would not help.
func (e *Engine) Decide(s *Subject, stmts []airlock.Statement, now time.Time) airlock.Decision {
	d := airlock.Decision{Allowed: true}
	for i := range stmts {
		st := &stmts[i]
		if st.Level > d.Need {
			d.Need = st.Level
		}
		if rule, why := e.check(s, st, now, &d.Warnings); rule != "" {
			d.Allowed, d.Rule, d.Reason = false, rule, why
			break
		}
	}
	if !d.Allowed && (d.Rule == airlock.RuleLevel || d.Rule == airlock.RuleGrant) {
		d.Hint = RequestHint(s.Database.Name, d.Need)
	}
	return d
}

// Unbounded reports whether st is an UPDATE or DELETE without WHERE, which
// the unbounded-write rule judges.
func Unbounded(st *airlock.Statement) bool {
	return (st.Kind == airlock.KindUpdate || st.Kind == airlock.KindDelete) && !st.HasWhere
}

// RequestHint is the command line that asks for level on db.
func RequestHint(db string, level airlock.Level) string {
	return fmt.Sprintf("to request access: airlock requests create %s --level %s --duration 30m --reason \"...\"", db, level)
}

func (e *Engine) check(s *Subject, st *airlock.Statement, now time.Time, warnings *[]airlock.Warning) (rule, why string) {
	db := s.Database
	on := func(r string) bool { return db.RuleEnabled(r) }

	// escape: identity switches and pinned settings at every level;
	// turning read-only off in read sessions. The rule cannot be switched
	// off for identity changes: the upstream credential is the boundary.
	switch st.Escape {
	case airlock.EscapeIdentity:
		return airlock.RuleEscape, fmt.Sprintf("%s switches the database identity", cmd(st))
	case airlock.EscapePinned:
		if db.Engine == airlock.EngineMySQL && myCharsetSettings[st.Setting] {
			return airlock.RuleEscape, fmt.Sprintf("%s sets the connection charset to %s; airlock reads statements in utf8mb4, utf8mb3 and latin1 only (multibyte charsets such as gbk, sjis, big5, cp932 and gb18030 can hide a quote or backslash inside a character)", cmd(st), st.Value)
		}
		return airlock.RuleEscape, fmt.Sprintf("%s changes %s, which airlock pins so that statements are read as the database reads them", cmd(st), settingName(st))
	case airlock.EscapeReadOnly:
		if s.Level <= airlock.LevelRead {
			return airlock.RuleEscape, fmt.Sprintf("%s would turn read-only off in a read session", cmd(st))
		}
	}

	if on(airlock.RuleResource) {
		if why := resource(db.Engine, s.Level, st); why != "" {
			return airlock.RuleResource, why
		}
	}

	writes := st.Level >= airlock.LevelWrite && len(st.WriteTables) > 0
	for _, t := range st.WriteTables {
		// airlock's own undo capture is never written by hand, whatever
		// the rules say: a forged or deleted capture would lie about what
		// a write changed.
		if own(db, t) {
			return airlock.RuleProtectedTable, fmt.Sprintf("%s holds airlock's undo capture: nobody changes it by hand", t)
		}
	}
	if writes && on(airlock.RuleProtectedTable) {
		for _, t := range st.WriteTables {
			if p := e.protected(s, t); p != "" {
				return airlock.RuleProtectedTable, fmt.Sprintf("%s is protected: nobody changes it through airlock", p)
			}
		}
	}
	// Where the adapter counts the rows a write changes, a statement the
	// session may run is judged on that count (gateway.Guard.Unbounded);
	// one it may not run is denied here, naming this guardrail.
	if on(airlock.RuleUnboundedWrite) && Unbounded(st) && !(s.CountsRows && st.Level <= s.Level) {
		return airlock.RuleUnboundedWrite, fmt.Sprintf("%s without WHERE would change every row of %s", strings.ToUpper(string(st.Kind)), strings.Join(st.WriteTables, ", "))
	}
	for _, r := range e.rules {
		if !r.appliesTo(db.Name) {
			continue
		}
		hit, err := r.eval(s, st, now)
		if err != nil {
			// A rule that cannot be evaluated denies (fail closed).
			return r.name, fmt.Sprintf("rule could not be evaluated: %v", err)
		}
		if !hit {
			continue
		}
		if r.warn {
			*warnings = append(*warnings, airlock.Warning{Rule: r.name, Message: r.message})
			continue
		}
		return r.name, r.message
	}

	if st.Level > s.Level {
		why := st.Why
		if why == "" {
			why = strings.ToUpper(string(st.Kind))
		}
		return airlock.RuleLevel, fmt.Sprintf("%s; it needs %s access and this session has %s", why, st.Level, s.Level)
	}
	if on(airlock.RuleDropTruncate) && (st.Kind == airlock.KindDrop || st.Kind == airlock.KindTruncate) && s.Level < airlock.LevelDDL {
		return airlock.RuleDropTruncate, fmt.Sprintf("%s needs ddl access", strings.ToUpper(string(st.Kind)))
	}
	if s.WriteTables != nil && writes {
		for _, t := range st.WriteTables {
			if !e.inList(s, t, s.WriteTables) {
				return airlock.RuleGrant, fmt.Sprintf("the grant allows writes to %s only, not to %s", strings.Join(s.WriteTables, ", "), t)
			}
		}
	}
	return "", ""
}

// protected returns the protected table that t (as written) may name.
func (e *Engine) protected(s *Subject, t string) string {
	for _, p := range s.Database.ProtectedTables {
		if e.sameTable(s, t, p) {
			return p
		}
	}
	return ""
}

func (e *Engine) inList(s *Subject, t string, list []string) bool {
	for _, p := range list {
		if e.sameTable(s, t, p) {
			return true
		}
	}
	return false
}

// sameTable reports whether t, as written in a statement, may name the
// schema-qualified table q. An unqualified name matches when q's schema is
// on the search path: without the catalog, airlock takes the cautious
// reading (a protected table is never missed).
func (e *Engine) sameTable(s *Subject, t, q string) bool {
	t, q = strings.ToLower(t), strings.ToLower(q)
	if t == q {
		return true
	}
	if strings.Contains(t, ".") {
		// catalog.schema.table: compare the last two parts.
		parts := strings.Split(t, ".")
		return len(parts) == 3 && parts[1]+"."+parts[2] == q
	}
	schema, name, _ := strings.Cut(q, ".")
	if name != t {
		return false
	}
	path := s.SearchPath
	if len(path) == 0 {
		path = []string{"public"}
	}
	for _, p := range path {
		if p == schema || p == "$user" {
			return true
		}
	}
	return false
}

func cmd(st *airlock.Statement) string {
	if st.Command != "" {
		return st.Command
	}
	return strings.ToUpper(string(st.Kind))
}

// myCharsetSettings are the MySQL settings that choose the connection
// charset.
var myCharsetSettings = map[string]bool{
	"names": true, "character set": true, "character_set_client": true,
	"character_set_connection": true, "collation_connection": true, "character_set_results": true,
}

func settingName(st *airlock.Statement) string {
	if st.Setting != "" {
		return st.Setting
	}
	return "a pinned setting"
}

// own reports whether t is airlock's own undo capture table.
func own(db *airlock.Database, t string) bool {
	t = strings.ToLower(t)
	if db.Engine == airlock.EngineMySQL {
		return t == "airlock_capture" || strings.HasSuffix(t, ".airlock_capture")
	}
	return strings.HasPrefix(t, "airlock.")
}
