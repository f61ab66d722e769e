package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// pgDatabases is database "app" on db with read, write and ddl
// credentials and extra YAML for it.
func pgDatabases(db *testenv.DB, extra string) string {
	return fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
      ddl: {user: postgres, password: x}
%s`, testenv.PGAddr, db.Name, testenv.RoleRO, testenv.RoleRW, extra)
}

// unboundedCases are run on both engines: where airlock counts the rows a
// write changes, an UPDATE or DELETE without WHERE is judged by the rows
// it really changes (unbounded_write_max_rows, default 1), the denial
// says how many; where it cannot count, it is denied as before.
type unboundedCase struct {
	name   string
	extra  string   // YAML for the database
	sql    string   // sent in a write session
	denied string   // "" = allowed; else in the error
	after  []string // checked afterwards: "table:count of rows with flag = 1"
}

var unboundedCases = []unboundedCase{
	{name: "one-row lock table released", sql: "UPDATE mig_lock SET is_locked = 0", after: []string{"mig_lock:0"}},
	{name: "one-row table emptied", sql: "DELETE FROM mig_lock", after: []string{"mig_lock:-"}},
	{name: "two rows over the default", sql: "UPDATE pair SET is_locked = 0", denied: "unbounded-write: UPDATE without WHERE on %s.pair would have changed 2 rows (more than 1 without WHERE)", after: []string{"pair:2"}},
	{name: "two rows deleted over the default", sql: "DELETE FROM pair", denied: "would have changed 2 rows", after: []string{"pair:2"}},
	{name: "threshold configured", extra: "    unbounded_write_max_rows: 2\n", sql: "UPDATE pair SET is_locked = 0", after: []string{"pair:0"}},
	{name: "threshold configured, over it", extra: "    unbounded_write_max_rows: 2\n", sql: "DELETE FROM many", denied: "would have changed 5 rows (more than 2 without WHERE)", after: []string{"many:5"}},
	{name: "not counted: today's rule", extra: "    undo: \"off\"\n    guardrails: {disable: [blast-radius]}\n", sql: "UPDATE mig_lock SET is_locked = 0", denied: "unbounded-write: UPDATE without WHERE would change every row of", after: []string{"mig_lock:1"}},
	{name: "rule off", extra: "    guardrails: {disable: [unbounded-write]}\n", sql: "UPDATE many SET is_locked = 0", after: []string{"many:0"}},
}

// unboundedSchema is for both engines; %s is the table options.
const unboundedSchema = `CREATE TABLE mig_lock (id int PRIMARY KEY, is_locked int NOT NULL)%[1]s;
INSERT INTO mig_lock VALUES (1, 1);
CREATE TABLE pair (id int PRIMARY KEY, is_locked int NOT NULL)%[1]s;
INSERT INTO pair VALUES (1, 1), (2, 1);
CREATE TABLE many (id int PRIMARY KEY, is_locked int NOT NULL)%[1]s;
INSERT INTO many VALUES (1, 1), (2, 1), (3, 1), (4, 1), (5, 1);`

func TestUnboundedWriteCountsRows(t *testing.T) {
	for _, tc := range unboundedCases {
		t.Run(tc.name, func(t *testing.T) {
			db := testenv.NewDB(t)
			db.Exec(fmt.Sprintf(unboundedSchema, "") + "\nGRANT SELECT, UPDATE, DELETE ON mig_lock, pair, many TO " + testenv.RoleRW)
			a := testenv.Start(t, db, testenv.Options{Databases: pgDatabases(db, tc.extra)})
			ctx := context.Background()
			c := testenv.Connect(t, a.URL("wanda", a.Token("wanda", time.Hour), "app"))
			defer c.Close(ctx)
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
				_, err := c.Exec(ctx, tc.sql, mode)
				checkUnbounded(t, tc, err, "public", pgCode(err) == "42501")
				if tc.denied == "" {
					break // done once
				}
			}
			for _, want := range tc.after {
				table, n, _ := strings.Cut(want, ":")
				got := fmt.Sprint(db.QueryInt("SELECT count(*) FROM " + table + " WHERE is_locked = 1"))
				if n == "-" {
					n, got = "0", fmt.Sprint(db.QueryInt("SELECT count(*) FROM "+table))
				}
				if got != n {
					t.Errorf("%s: %s rows, want %s", table, got, n)
				}
			}
		})
	}
}

func TestMySQLUnboundedWriteCountsRows(t *testing.T) {
	for _, tc := range unboundedCases {
		t.Run(tc.name, func(t *testing.T) {
			db := testenv.NewMyDB(t)
			db.Exec(fmt.Sprintf(unboundedSchema, " ENGINE=InnoDB"))
			a := testenv.StartMySQL(t, db, testenv.Options{Databases: testenv.MyDatabases(db.Name, tc.extra)})
			w := a.Token("wanda", time.Hour)
			for _, dsn := range []string{"interpolateParams=true", "interpolateParams=false"} {
				c := testenv.OpenMy(t, a.MyDSN("wanda", w, "app", dsn))
				var err error
				if strings.HasSuffix(dsn, "false") {
					// The binary protocol: prepared, then executed.
					var st *sql.Stmt
					if st, err = c.Prepare(tc.sql); err == nil {
						_, err = st.Exec()
						st.Close()
					}
				} else {
					_, err = c.Exec(tc.sql)
				}
				code, _ := testenv.MyErr(err)
				checkUnbounded(t, tc, err, db.Name, code == 1227)
				if tc.denied == "" {
					break
				}
			}
			for _, want := range tc.after {
				table, n, _ := strings.Cut(want, ":")
				got := fmt.Sprint(db.QueryInt("SELECT count(*) FROM " + table + " WHERE is_locked = 1"))
				if n == "-" {
					n, got = "0", fmt.Sprint(db.QueryInt("SELECT count(*) FROM "+table))
				}
				if got != n {
					t.Errorf("%s: %s rows, want %s", table, got, n)
				}
			}
		})
	}
}

func checkUnbounded(t *testing.T, tc unboundedCase, err error, schema string, deniedCode bool) {
	t.Helper()
	want := tc.denied
	if strings.Contains(want, "%s") {
		want = fmt.Sprintf(want, schema)
	}
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v, want allowed", tc.sql, err)
	case want != "" && (err == nil || !deniedCode || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: %v, want denied with %q", tc.sql, err, want)
	}
}
