package e2e

import (
	"regexp"
	"testing"
	"time"

	"airlock/internal/testenv"
)

// TestPgDumpInReadSession: pg_dump works in a read session and dumps
// exactly what it dumps directly with the read role.
func TestPgDumpInReadSession(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(itemsSchema + `
CREATE TABLE seqd (id serial PRIMARY KEY, v text); INSERT INTO seqd (v) VALUES ('a'), ('b');
CREATE VIEW cheap AS SELECT * FROM items WHERE price < 3;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO airlock_test_ro;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO airlock_test_ro;`)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	tok := a.Token("alice", 0)
	norm := regexp.MustCompile(`(?m)^\\(un)?restrict \S+$`)
	direct := run(t, 120*time.Second, "", nil, "pg_dump", "-h", "127.0.0.1", "-U", testenv.RoleRO, db.Name)
	via := run(t, 120*time.Second, "", []string{"PGPASSWORD=" + tok}, "pg_dump", "-h", a.Host(), "-p", a.Port(), "-U", "alice", "app")
	direct, via = norm.ReplaceAllString(direct, "restrict"), norm.ReplaceAllString(via, "restrict")
	if direct != via {
		t.Fatalf("pg_dump through airlock differs\n--- direct\n%s\n--- airlock\n%s", direct, via)
	}
	if !regexp.MustCompile(`COPY public.items .* FROM stdin;`).MatchString(via) {
		t.Fatalf("no data in the dump:\n%s", via)
	}
}
