package myadmin

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"airlock"
	"airlock/internal/config"
)

// dataPrivileges are the privileges that change data or definitions of a
// schema's tables (or, held on *.*, of every schema's).
var dataPrivileges = []string{"INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX",
	"CREATE VIEW", "TRIGGER", "CREATE ROUTINE", "ALTER ROUTINE", "EVENT", "DELETE HISTORY"}

// serverPrivileges act on the server or outside the session (SPEC §2,
// admin).
var serverPrivileges = []string{"SUPER", "FILE", "SHUTDOWN", "CREATE USER", "RELOAD", "BINLOG ADMIN",
	"CONNECTION ADMIN", "REPLICATION SLAVE ADMIN", "READ_ONLY ADMIN", "SET USER"}

// Check connects with each credential of db and reports what would let a
// level do more than it should, from the privileges the account holds as
// the server reports them to it (information_schema's USER_, SCHEMA_ and
// TABLE_PRIVILEGES, which include the current role's): a read credential
// that may change any table of the schema or act on the server, a write
// credential that may change a protected table, a write or ddl credential
// with server-wide powers.
func (Admin) Check(ctx context.Context, db *config.Database) ([]airlock.Finding, error) {
	var out []airlock.Finding
	for _, l := range db.Levels() {
		c, err := Connect(ctx, db, l)
		if err != nil {
			out = append(out, airlock.Finding{Level: l.String(), Severity: "error", Message: fmt.Sprintf("cannot connect with the %s credential: %v", l, err)})
			continue
		}
		fs, err := checkLevel(ctx, c, db, l)
		c.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// privs is what an account may do, by scope.
type privs struct {
	global map[string]bool            // on *.*
	schema map[string]bool            // on the database's schema (or a pattern matching it)
	table  map[string]map[string]bool // on tables of the schema, by table name
}

// held returns the privileges of list that scope holds.
func held(scope map[string]bool, list []string) []string {
	var out []string
	for _, x := range list {
		if scope[x] {
			out = append(out, x)
		}
	}
	return out
}

func readPrivs(ctx context.Context, c *sql.DB, schema string) (privs, error) {
	p := privs{global: map[string]bool{}, schema: map[string]bool{}, table: map[string]map[string]bool{}}
	// Every query returns a table name ('' but for table grants) and a
	// privilege. A schema-level grant names the schema or a LIKE pattern
	// for it.
	for _, q := range []struct {
		sql  string
		args []any
		into func(table string) map[string]bool
	}{
		{"SELECT '', PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES", nil,
			func(string) map[string]bool { return p.global }},
		{"SELECT '', PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = ? OR ? LIKE TABLE_SCHEMA", []any{schema, schema},
			func(string) map[string]bool { return p.schema }},
		{"SELECT TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = ?", []any{schema},
			func(t string) map[string]bool {
				if p.table[t] == nil {
					p.table[t] = map[string]bool{}
				}
				return p.table[t]
			}},
	} {
		if err := scanPrivs(ctx, c, q.sql, q.args, q.into); err != nil {
			return p, fmt.Errorf("read privileges: %w", err)
		}
	}
	return p, nil
}

func scanPrivs(ctx context.Context, c *sql.DB, query string, args []any, into func(table string) map[string]bool) error {
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t, v string
		if err := rows.Scan(&t, &v); err != nil {
			return err
		}
		into(t)[strings.ToUpper(v)] = true
	}
	return rows.Err()
}

func checkLevel(ctx context.Context, c *sql.DB, db *config.Database, l airlock.Level) ([]airlock.Finding, error) {
	p, err := readPrivs(ctx, c, db.Database)
	if err != nil {
		return nil, err
	}
	var out []airlock.Finding
	server := held(p.global, serverPrivileges)
	switch {
	case l == airlock.LevelRead:
		if len(server) > 0 {
			out = append(out, airlock.Finding{Level: "read", Severity: "error", Message: "the read credential holds server privileges (" + strings.Join(server, ", ") + "): it can act beyond any session"})
		}
		if w := held(p.global, dataPrivileges); len(w) > 0 {
			out = append(out, airlock.Finding{Level: "read", Severity: "error", Message: "the read credential may change every schema (" + strings.Join(w, ", ") + " on *.*)"})
		}
		if w := held(p.schema, dataPrivileges); len(w) > 0 {
			out = append(out, airlock.Finding{Level: "read", Severity: "error", Message: fmt.Sprintf("the read credential may change %s (%s on the schema)", db.Database, strings.Join(w, ", "))})
		}
		var tables []string
		for t, tp := range p.table {
			if len(held(tp, dataPrivileges)) > 0 {
				tables = append(tables, db.Database+"."+t)
			}
		}
		sort.Strings(tables)
		if len(tables) > 0 {
			out = append(out, airlock.Finding{Level: "read", Severity: "error", Message: "the read credential may write to " + strings.Join(tables, ", ")})
		}
	case l <= airlock.LevelDDL:
		if len(server) > 0 {
			out = append(out, airlock.Finding{Level: l.String(), Severity: "warning", Message: fmt.Sprintf("the %s credential holds server privileges (%s): protected tables and server access rely on airlock alone", l, strings.Join(server, ", "))})
		}
		if l != airlock.LevelWrite {
			break
		}
		for _, pt := range db.ProtectedTables {
			schema, table, ok := strings.Cut(pt, ".")
			if !ok {
				schema, table = db.Database, pt
			}
			var n int
			if err := c.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table).Scan(&n); err != nil {
				return nil, err
			}
			if n == 0 {
				out = append(out, airlock.Finding{Level: "write", Severity: "warning", Message: fmt.Sprintf("protected table %s is not visible to the write credential: it does not exist, or the credential holds no privilege on it (as intended)", pt)})
				continue
			}
			tp := p
			if schema != db.Database {
				if tp, err = readPrivs(ctx, c, schema); err != nil {
					return nil, err
				}
			}
			w := append(append(held(tp.global, dataPrivileges), held(tp.schema, dataPrivileges)...), held(tp.table[table], dataPrivileges)...)
			if len(w) > 0 {
				out = append(out, airlock.Finding{Level: "write", Severity: "error", Message: fmt.Sprintf("the write credential can change protected table %s (%s; a view, routine, trigger or cascade could reach it)", pt, strings.Join(dedup(w), ", "))})
			}
		}
	}
	return out, nil
}

func dedup(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
