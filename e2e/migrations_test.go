package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
	"airlock/internal/testenv/npm"
)

// Migration tools run unchanged through airlock: each tool migrates a
// fresh database forward to its last migration and back to none, once
// directly and once through airlock in a ddl session; the schema (and
// the data, but for the tools' timestamps) must be the same at each step.
// The migrations (testdata/migrations, testdata/knex_migrate.js) add,
// alter, rename and drop columns, indexes, unique and check constraints,
// foreign keys, views and tables, change data, and the tools take and
// release their own locks (knex: UPDATE ... SET is_locked = 0 without
// WHERE on a one-row table).

// migrationUsers adds dora, who holds ddl on app.
const migrationUsers = testenv.DefaultUsers + "  - {name: dora, groups: [dba]}\n"

const migrationPolicies = testenv.DefaultPolicies + "  - {name: dba, groups: [dba], databases: [app], standing: ddl}\n"

// migrationTools are the tools, each run as a command with the
// connection's engine, host, port, user, password and database and the
// direction (up or down) appended.
func migrationTools(t *testing.T) map[string][]string {
	nm := npm.NodeModules(t)
	return map[string][]string{
		"alembic": {"/usr/bin/python3", testdata("migrate.py"), "alembic"},
		"django":  {"/usr/bin/python3", testdata("migrate.py"), "django"},
		"knex":    {"node", testdata("knex_migrate.js"), nm},
	}
}

var migrationSteps = []string{"up", "down", "up"}

// migrate runs one step of a tool and fails the test unless it says ok.
func migrate(t *testing.T, tool []string, engine, host, port, user, password, db, step string) {
	t.Helper()
	args := append(append([]string{}, tool[1:]...), engine, host, port, user, password, db, step)
	out := run(t, 180*time.Second, "", nil, tool[0], args...)
	if !strings.Contains(out, "ok ") {
		t.Fatalf("%s %s on %s: %s", strings.Join(tool[1:2], ""), step, engine, out)
	}
}

// pgDumpDB is a database's schema and data as pg_dump prints them, without
// what differs between two databases holding the same things (comments,
// the dump's random restrict key) and without the tools' timestamps.
func pgDumpDB(t *testing.T, db string) string {
	t.Helper()
	out := run(t, 60*time.Second, "", nil, "pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-O", "-x",
		"--exclude-table-data=django_migrations", "--exclude-table-data=knex_migrations", db)
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if l == "" || strings.HasPrefix(l, "--") || strings.HasPrefix(l, `\restrict`) || strings.HasPrefix(l, `\unrestrict`) {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

var autoIncrement = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// myDumpDB is the same for MariaDB (mariadb-dump), the schema's name
// replaced.
func myDumpDB(t *testing.T, db string) string {
	t.Helper()
	out := run(t, 60*time.Second, "", nil, "mariadb-dump", "-h", "127.0.0.1", "-P", "3306", "-uroot",
		"--skip-comments", "--skip-dump-date", "--ignore-table-data="+db+".django_migrations", "--ignore-table-data="+db+".knex_migrations", db)
	out = autoIncrement.ReplaceAllString(out, "")
	return strings.ReplaceAll(out, db, "DB")
}

func TestMigrationToolsPostgres(t *testing.T) {
	tools := migrationTools(t)
	for _, name := range []string{"alembic", "django", "knex"} {
		t.Run(name, func(t *testing.T) {
			direct, via := testenv.NewDB(t), testenv.NewDB(t)
			a := testenv.Start(t, via, testenv.Options{Users: migrationUsers, Policies: migrationPolicies})
			tok := a.Token("dora", time.Hour)
			for i, step := range migrationSteps {
				migrate(t, tools[name], "postgres", "127.0.0.1", "5432", "postgres", "x", direct.Name, step)
				migrate(t, tools[name], "postgres", a.Host(), a.Port(), "dora", tok, "app", step)
				d, v := pgDumpDB(t, direct.Name), pgDumpDB(t, via.Name)
				if d != v {
					t.Fatalf("step %d (%s): schema differs\ndirect:\n%s\nthrough airlock:\n%s", i, step, d, v)
				}
				if step == "up" && !strings.Contains(d, "CREATE VIEW") {
					t.Fatalf("step %d (%s): no view after migrating forward:\n%s", i, step, d)
				}
				if step == "down" && strings.Contains(d, "CREATE VIEW") {
					t.Fatalf("step %d (%s): a view after migrating back:\n%s", i, step, d)
				}
			}
		})
	}
}

func TestMigrationToolsMySQL(t *testing.T) {
	tools := migrationTools(t)
	for _, name := range []string{"alembic", "django", "knex"} {
		t.Run(name, func(t *testing.T) {
			direct, via := testenv.NewMyDB(t), testenv.NewMyDB(t)
			a := testenv.StartMySQL(t, via, testenv.Options{Users: migrationUsers, Policies: migrationPolicies})
			tok := a.Token("dora", time.Hour)
			host, port := a.MyHostPort()
			for i, step := range migrationSteps {
				migrate(t, tools[name], "mysql", "127.0.0.1", "3306", "root", "", direct.Name, step)
				migrate(t, tools[name], "mysql", host, port, "dora", tok, "app", step)
				d, v := myDumpDB(t, direct.Name), myDumpDB(t, via.Name)
				if d != v {
					t.Fatalf("step %d (%s): schema differs\ndirect:\n%s\nthrough airlock:\n%s", i, step, d, v)
				}
				if step == "up" && !strings.Contains(d, "VIEW") {
					t.Fatalf("step %d (%s): no view after migrating forward:\n%s", i, step, d)
				}
			}
		})
	}
}
