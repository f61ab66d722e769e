package gateway

import (
	"strings"
	"time"

	"airlock"
	"airlock/internal/trash"
)

// Rewrite tells the adapter to forward SQL instead of the client's
// statement and to answer the client with Tag as the statement's command
// tag: the statement is carried out another way (soft DROP and TRUNCATE).
type Rewrite struct {
	SQL string
	// Run, when set instead of SQL, carries the statement out through
	// queries on the session's upstream connection (MySQL, where it takes
	// several statements and checks); an error of type *trash.SQLError,
	// or the server's own, is the client's answer.
	Run func(q trash.Query) error
	Tag string
	// TrashID names the trash items the statement keeps (ID_1, ID_2...).
	TrashID string
}

// softDrop turns an allowed DROP TABLE or TRUNCATE on a database with
// soft_drop into a move to its trash (simple is whether the statement came
// as a simple query, the only form the rewrite is made for). It denies
// what it cannot keep: the statement among others, in the extended
// protocol, TRUNCATE ... CASCADE or RESTART IDENTITY.
func (s *Session) softDrop(c *Check, simple bool) {
	if !c.Decision.Allowed || s.Database().SoftDrop == nil {
		return
	}
	for _, st := range c.Stmts {
		for _, t := range st.WriteTables {
			if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(t, "`", "")), trash.Schema+".") {
				c.Decision = airlock.Decision{Rule: airlock.RuleSoftDrop, Need: c.Decision.Need,
					Reason: trash.Schema + " holds what DROP and TRUNCATE kept: it changes only through airlock trash restore and purge"}
				return
			}
		}
	}
	idx := -1
	for i, st := range c.Stmts {
		if st.Command == "DROP TABLE" || st.Kind == airlock.KindTruncate {
			idx = i
		}
	}
	if idx < 0 {
		return
	}
	st := c.Stmts[idx]
	deny := func(why string) {
		c.Decision = airlock.Decision{Rule: airlock.RuleSoftDrop, Need: c.Decision.Need, Reason: why}
	}
	if !simple || len(c.Stmts) > 1 {
		deny(st.Command + " is kept in the trash on " + s.Database().Name + ": send it on its own, as a simple query")
		return
	}
	words := strings.Fields(strings.ToUpper(strings.TrimRight(strings.TrimSpace(st.Text), "; \t\r\n")))
	last := ""
	if len(words) > 0 {
		last = words[len(words)-1]
	}
	var names []string
	for _, t := range st.WriteTables {
		names = append(names, quoteName(t))
	}
	id := airlock.NewID("tr_")
	at := s.g.now()
	if s.Database().Engine == airlock.EngineMySQL {
		s.mySoftDrop(c, st, words, last, id, at, deny)
		return
	}
	if st.Kind == airlock.KindTruncate {
		if last == "CASCADE" || strings.Contains(strings.Join(words, " "), "RESTART IDENTITY") {
			deny("TRUNCATE ... CASCADE and RESTART IDENTITY cannot be kept in the trash: truncate each table by name, without them")
			return
		}
		sql, err := trash.Truncate(names, id, s.User().Name, at)
		if err != nil {
			deny("this TRUNCATE cannot be kept in the trash: " + err.Error())
			return
		}
		c.Rewrite = &Rewrite{SQL: sql, Tag: "TRUNCATE TABLE", TrashID: id}
		return
	}
	ifExists := len(words) > 3 && words[2] == "IF" && words[3] == "EXISTS"
	sql, err := trash.Drop(names, ifExists, last == "CASCADE", id, s.User().Name, at)
	if err != nil {
		deny("this DROP TABLE cannot be kept in the trash: " + err.Error())
		return
	}
	c.Rewrite = &Rewrite{SQL: sql, Tag: "DROP TABLE", TrashID: id}
}

// quoteName quotes each part of a (schema-qualified) name the classifier
// resolved, so that the database reads it as written.
func quoteName(n string) string {
	parts := strings.Split(n, ".")
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(parts, ".")
}

// mySoftDrop is softDrop on MySQL and MariaDB: the work runs as several
// statements on the session's connection (trash.MyDrop, MyTruncate).
func (s *Session) mySoftDrop(c *Check, st airlock.Statement, words []string, last, id string, at time.Time, deny func(string)) {
	schema, user, tables := s.Database().Database, s.User().Name, st.WriteTables
	if st.Kind == airlock.KindTruncate {
		c.Rewrite = &Rewrite{Tag: "TRUNCATE TABLE", TrashID: id, Run: func(q trash.Query) error {
			return trash.MyTruncate(q, schema, tables, id, user, at)
		}}
		return
	}
	if strings.Contains(strings.Join(words, " "), "TEMPORARY") {
		deny("DROP TEMPORARY TABLE is not kept in the trash: drop a temporary table with the session's own statement")
		return
	}
	ifExists := len(words) > 3 && words[2] == "IF" && words[3] == "EXISTS"
	c.Rewrite = &Rewrite{Tag: "DROP TABLE", TrashID: id, Run: func(q trash.Query) error {
		return trash.MyDrop(q, schema, tables, ifExists, id, user, at)
	}}
}
