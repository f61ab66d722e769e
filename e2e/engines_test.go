package e2e

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/myadmin"
	"airlock/internal/testenv"
	"airlock/internal/undo"

	"github.com/jackc/pgx/v5"
)

// Engines for the tests written once for PostgreSQL and MySQL/MariaDB
// (undo_parity_test.go). Each engine creates the same four tables in its
// own types (a: many types; b: a composite primary key; c: values the
// database generates; nopk: no primary key), with 20 rows in a, b and c,
// runs random writes over them, and says how to reach the database
// directly and through airlock.

// undoEngine is one engine under the parity tests.
type undoEngine struct {
	name string
	// start creates a fresh database with the undo tables (and extra SQL
	// run after them) and an airlock in front of it; mode is the
	// database's undo setting ("": the default).
	start func(t *testing.T, extra, mode string) *undoEnv
}

var undoEngines = []undoEngine{
	{name: "postgres", start: startPGUndo},
	{name: "mariadb", start: startMyUndo},
}

// undoEnv is one test's database and airlock.
type undoEnv struct {
	a *testenv.Airlock
	// exec and queryInt run SQL directly, as the superuser.
	exec     func(sql string)
	queryInt func(sql string) int64
	// dump renders every row of a, b and c exactly, to compare states.
	dump func() string
	// table names a table as airlock's undo records do; target as the
	// SQL of `airlock undo show` does.
	table, target func(name string) string
	// connect opens a session through airlock.
	connect func(user, token string) undoClient
	// denied reports whether err is airlock's denial.
	denied func(err error) bool
	// variants is how many ways a client sends a statement (exec's
	// variant: simple or extended protocol; text or prepared).
	variants int
	// randomWrite returns a random INSERT, UPDATE or DELETE (or the
	// engine's upserts) over a, b and c.
	randomWrite func(r *rand.Rand, s *writeState) (string, []any)
	// ddl is DDL a session with write access may not run.
	ddl string

	// For the concurrency test: extra SQL that adds 1000 rows (ids
	// 1000-1999) to a and a witness trigger logging every update of a,
	// with its upstream user or application; writer updates a row of a
	// directly; rangeUpdate is the session's update of ids $1..$2;
	// witnessed returns what the witness logged for a session (op old
	// -> new, in order).
	concurrency func(t *testing.T) string
	writer      func(t *testing.T) func(id int)
	rangeUpdate string
	witnessed   func(t *testing.T, c undoClient) []string
}

// writeState numbers the rows random writes insert.
type writeState struct{ nextA, nextB int }

// undoClient is a session through airlock.
type undoClient interface {
	exec(variant int, sql string, args ...any) error
	sessionID() string
	close()
}

// --- PostgreSQL ---

func startPGUndo(t *testing.T, extra, mode string) *undoEnv {
	db := testenv.NewDB(t)
	db.Exec(undoSchema + extra)
	o := testenv.Options{}
	if mode != "" {
		o.Databases = fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    undo: %s
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
      ddl: {user: postgres, password: x}
`, testenv.PGAddr, db.Name, mode, testenv.RoleRO, testenv.RoleRW)
	}
	a := testenv.Start(t, db, o)
	return &undoEnv{
		a:        a,
		exec:     func(s string) { db.Exec(s) },
		queryInt: func(s string) int64 { return db.QueryInt(s) },
		dump:     func() string { return dump(t, db) },
		table:    func(n string) string { return "public." + n },
		target:   func(n string) string { return "public." + n },
		connect: func(user, token string) undoClient {
			return &pgClient{t: t, c: testenv.Connect(t, a.URL(user, token, "app"))}
		},
		denied:      func(err error) bool { return pgCode(err) == "42501" },
		variants:    len(pgModes),
		randomWrite: pgRandomWrite,
		ddl:         "CREATE INDEX ON a (t)",
		concurrency: func(*testing.T) string { return pgWitness },
		writer: func(t *testing.T) func(id int) {
			d := testenv.Connect(t, testenv.AdminURL(db.Name))
			t.Cleanup(func() { d.Close(context.Background()) })
			return func(id int) {
				d.Exec(context.Background(), "UPDATE a SET n = n + 1, t = 'other' WHERE id = $1", id)
			}
		},
		rangeUpdate: "UPDATE a SET n = n + 100, t = 'session' WHERE id BETWEEN $1 AND $2",
		witnessed: func(t *testing.T, c undoClient) []string {
			var app string
			pc := c.(*pgClient).c
			pc.QueryRow(context.Background(), "SELECT current_setting('application_name')").Scan(&app)
			w := testenv.Connect(t, testenv.AdminURL(db.Name))
			defer w.Close(context.Background())
			rows, err := w.Query(context.Background(), "SELECT op || ' ' || old_row || ' -> ' || new_row FROM witness WHERE app = $1 ORDER BY id", app)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			return out
		},
	}
}

// pgWitness logs the session's changes of a as its row text.
const pgWitness = `
CREATE TABLE witness (id serial PRIMARY KEY, app text, op text, old_row text, new_row text);
CREATE FUNCTION witness() RETURNS trigger LANGUAGE plpgsql
SET timezone = 'UTC' SET datestyle = 'ISO, YMD' SET intervalstyle = 'postgres' SET extra_float_digits = 3 SET bytea_output = 'hex' AS $$
BEGIN
	INSERT INTO witness (app, op, old_row, new_row) VALUES (current_setting('application_name'), left(TG_OP, 1),
		CASE WHEN TG_OP <> 'INSERT' THEN OLD::text END, CASE WHEN TG_OP <> 'DELETE' THEN NEW::text END);
	RETURN NULL;
END $$;
CREATE TRIGGER witness AFTER INSERT OR UPDATE OR DELETE ON a FOR EACH ROW EXECUTE FUNCTION witness();
GRANT INSERT ON witness TO airlock_test_rw; GRANT USAGE ON SEQUENCE witness_id_seq TO airlock_test_rw;
INSERT INTO a SELECT g, 0, now(), '{}', '{}', '', '{}', 'red', 'w' FROM generate_series(1000, 1999) g;`

var pgModes = []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec, pgx.QueryExecModeCacheStatement}

type pgClient struct {
	t *testing.T
	c *pgx.Conn
}

func (p *pgClient) exec(v int, sql string, args ...any) error {
	_, err := p.c.Exec(context.Background(), sql, append([]any{pgModes[v]}, args...)...)
	return err
}

func (p *pgClient) sessionID() string { return sessionID(p.t, p.c) }
func (p *pgClient) close()            { p.c.Close(context.Background()) }

func pgRandomWrite(r *rand.Rand, s *writeState) (string, []any) {
	switch r.IntN(9) {
	case 0:
		s.nextA++
		return "INSERT INTO a VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", []any{s.nextA, fmt.Sprintf("%d.%010d", r.IntN(1e9), r.IntN(1e9)), time.Unix(r.Int64N(2e9), r.Int64N(1e9)/1000*1000).UTC(),
			`{"a":  [1, 2,3], "a": "dup"}`, `{"z": null, "y": [true]}`, []byte{byte(r.IntN(256)), 0, 255}, fmt.Sprintf("{%d,NULL}", r.IntN(10)), []string{"red", "green", "blue"}[r.IntN(3)], randText(r)}
	case 1:
		return "UPDATE a SET n = n * 3, t = $1, b = $2, ts = ts + interval '1 microsecond' WHERE id = $3", []any{randText(r), []byte(randText(r)), 1 + r.IntN(20)}
	case 2:
		return "DELETE FROM a WHERE id = $1", []any{1 + r.IntN(20)}
	case 3:
		s.nextB++
		return "INSERT INTO b VALUES ($1, $2, $3, $4)", []any{randText(r), s.nextB, r.Float64() * 1e-7, nil}
	case 4:
		return "UPDATE b SET k1 = k1 || 'x', v = v + 0.1, note = $1 WHERE k2 = $2", []any{randText(r), 1 + r.IntN(20)} // the key itself changes
	case 5:
		return "DELETE FROM b WHERE k2 BETWEEN $1 AND $1 + 1", []any{1 + r.IntN(20)}
	case 6:
		return "INSERT INTO c (payload, tags) VALUES ($1, $2) RETURNING id, g", []any{fmt.Sprintf(`{"r": %d, "s": %q}`, r.IntN(100), randText(r)), []string{randText(r), "x"}}
	case 7:
		return "UPDATE c SET payload = payload || '{\"u\": 1}', tags = tags || ARRAY['more'] WHERE id = $1", []any{1 + r.IntN(20)}
	default:
		return "DELETE FROM c WHERE id = $1", []any{1 + r.IntN(20)}
	}
}

// --- MariaDB ---

// myUndoSchema has what MariaDB can store exactly: DECIMAL, TIMESTAMP(6)
// and DATETIME(6), JSON (kept as written), BLOB and VARBINARY (any byte),
// ENUM, DOUBLE, latin1 text, a composite key of text and a number, an
// AUTO_INCREMENT key and a stored generated column.
const myUndoSchema = `
CREATE TABLE a (id int PRIMARY KEY, n decimal(30,10), ts timestamp(6) NULL DEFAULT NULL, dt datetime(6), j json, b blob, vb varbinary(300),
	c enum('red', 'green', 'blue'), t text, f double, l varchar(100) CHARACTER SET latin1) ENGINE=InnoDB;
CREATE TABLE b (k1 varchar(200), k2 int, v double, note text, PRIMARY KEY (k1, k2)) ENGINE=InnoDB;
CREATE TABLE c (id bigint AUTO_INCREMENT PRIMARY KEY, payload json, tags text, g int AS (length(payload)) STORED) ENGINE=InnoDB;
CREATE TABLE nopk (x int, y text) ENGINE=InnoDB;
INSERT INTO a SELECT seq, seq * 1.5, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq * 3607 SECOND + INTERVAL seq * 12 MICROSECOND,
	TIMESTAMP'2024-01-01 00:00:00.000001' + INTERVAL seq DAY, '{"k": 1,  "k": 2}', X'00ff10', X'', 'red', CONCAT('row ', seq), seq / 3e0, CONCAT('l', seq)
	FROM seq_1_to_20;
INSERT INTO b SELECT CONCAT('key', seq), seq, seq / 3e0, NULL FROM seq_1_to_20;
INSERT INTO c (payload, tags) SELECT JSON_OBJECT('n', seq), CONCAT('t', seq) FROM seq_1_to_20;
INSERT INTO nopk VALUES (1, 'x');
`

func startMyUndo(t *testing.T, extra, mode string) *undoEnv {
	db := testenv.NewMyDB(t)
	db.Exec(myUndoSchema)
	if extra != "" {
		db.Exec(extra)
	}
	o := testenv.Options{}
	if mode != "" {
		o.Databases = testenv.MyDatabases(db.Name, "    undo: "+mode+"\n")
	}
	a := testenv.StartMySQL(t, db, o)
	root := testenv.OpenMy(t, testenv.MyDSN("root", "", testenv.MyAddr, db.Name, "multiStatements=true"))
	return &undoEnv{
		a:        a,
		exec:     func(s string) { db.Exec(s) },
		queryInt: func(s string) int64 { return db.QueryInt(s) },
		dump:     func() string { return myDump(t, root) },
		table:    func(n string) string { return db.Name + "." + n },
		target:   func(n string) string { return "`" + db.Name + "`.`" + n + "`" },
		connect: func(user, token string) undoClient {
			pool := testenv.OpenMy(t, a.MyDSN(user, token, "app", "interpolateParams=false"))
			c, err := pool.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			mc := &myClient{t: t, a: a, c: c}
			// Captured TIMESTAMPs must not depend on the session's zone.
			if err := mc.exec(0, "SET time_zone = '+05:30'"); err != nil {
				t.Fatal(err)
			}
			return mc
		},
		denied: func(err error) bool {
			code, state := testenv.MyErr(err)
			return code == 1227 && state == "42000"
		},
		variants:    2,
		randomWrite: myRandomWrite,
		ddl:         "CREATE INDEX ti ON a (t(10))",
		concurrency: func(t *testing.T) string { return myWitness(t, db.Name, root) },
		writer: func(t *testing.T) func(id int) {
			d := testenv.OpenMy(t, testenv.MyDSN("root", "", testenv.MyAddr, db.Name, ""))
			return func(id int) { d.Exec("UPDATE a SET n = n + 1, t = 'other' WHERE id = ?", id) }
		},
		rangeUpdate: "UPDATE a SET n = n + 100, t = 'session' WHERE id BETWEEN ? AND ?",
		witnessed: func(t *testing.T, _ undoClient) []string {
			rows, err := root.Query("SELECT CONCAT(op, ' ', old_row, ' -> ', new_row) FROM witness WHERE who LIKE ? ORDER BY id", testenv.MyRoleRW+"@%")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var s string
				rows.Scan(&s)
				out = append(out, s)
			}
			return out
		},
	}
}

// myWitness returns SQL adding rows 1000-1999 to a and a trigger logging
// every update of a with its upstream user, rendering rows as the capture
// triggers do.
func myWitness(t *testing.T, schema string, root *sql.DB) string {
	cols, err := myadmin.Columns(context.Background(), root, schema, "a")
	if err != nil {
		t.Fatal(err)
	}
	oldRow, err := undo.MyRowExpr("OLD.", cols)
	if err != nil {
		t.Fatal(err)
	}
	newRow, _ := undo.MyRowExpr("NEW.", cols)
	return fmt.Sprintf(`CREATE TABLE witness (id int AUTO_INCREMENT PRIMARY KEY, who varchar(300), op char(1), old_row longtext, new_row longtext) ENGINE=InnoDB;
CREATE TRIGGER witness AFTER UPDATE ON a FOR EACH ROW INSERT INTO witness (who, op, old_row, new_row) VALUES (USER(), 'U', %s, %s);
INSERT INTO a SELECT seq, 0, NOW(), NOW(), '{}', '', '', 'red', 'w', 0, '' FROM seq_1000_to_1999;`, oldRow, newRow)
}

// myDump renders every row of a, b and c exactly: text and bytes in hex,
// doubles in full, timestamps as seconds since the epoch.
func myDump(t *testing.T, root *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT CONCAT_WS('|', id, IFNULL(n, 'N'), IFNULL(UNIX_TIMESTAMP(ts), 'N'), IFNULL(dt, 'N'), IFNULL(HEX(j), 'N'), IFNULL(HEX(b), 'N'),
			IFNULL(HEX(vb), 'N'), IFNULL(c, 'N'), IFNULL(HEX(t), 'N'), IFNULL(CAST(f AS DOUBLE), 'N'), IFNULL(HEX(l), 'N')) FROM a ORDER BY id`,
		`SELECT CONCAT_WS('|', HEX(k1), k2, IFNULL(CAST(v AS DOUBLE), 'N'), IFNULL(HEX(note), 'N')) FROM b ORDER BY k1, k2`,
		`SELECT CONCAT_WS('|', id, IFNULL(HEX(payload), 'N'), IFNULL(HEX(tags), 'N'), IFNULL(g, 'N')) FROM c ORDER BY id`,
	} {
		rows, err := root.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			b.WriteString(s + "\n")
		}
		rows.Close()
	}
	return b.String()
}

type myClient struct {
	t   *testing.T
	a   *testenv.Airlock
	c   *sql.Conn
	sid string
}

// exec sends sql as a prepared statement (variant 0) or as text with the
// arguments written into it (variant 1).
func (m *myClient) exec(v int, q string, args ...any) error {
	if v == 1 && len(args) > 0 {
		q = myInline(q, args)
		args = nil
	}
	_, err := m.c.ExecContext(context.Background(), q, args...)
	return err
}

// sessionID finds the session through a statement only it sent.
func (m *myClient) sessionID() string {
	m.t.Helper()
	if m.sid != "" {
		return m.sid
	}
	marker := "airlock-session-" + testenv.RandHex(6)
	if err := m.exec(0, "SELECT '"+marker+"'"); err != nil {
		m.t.Fatal(err)
	}
	ctx := context.Background()
	m.a.Audit.Sync(ctx)
	evs, err := m.a.Store.ListEvents(ctx, airlock.EventFilter{Contains: marker})
	if err != nil || len(evs) == 0 {
		m.t.Fatalf("find the session: %v", err)
	}
	m.sid = evs[0].SessionID
	return m.sid
}

func (m *myClient) close() { m.c.Close() }

// myInline writes args into q in the place of its ? markers (none of the
// statements here has a ? of its own).
func myInline(q string, args []any) string {
	var b strings.Builder
	for _, a := range args {
		i := strings.IndexByte(q, '?')
		b.WriteString(q[:i])
		switch v := a.(type) {
		case nil:
			b.WriteString("NULL")
		case int:
			b.WriteString(strconv.Itoa(v))
		case float64:
			b.WriteString(strconv.FormatFloat(v, 'e', -1, 64)) // a double literal
		case string:
			b.WriteString("'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(v) + "'")
		case []byte:
			b.WriteString("X'" + hex.EncodeToString(v) + "'")
		default:
			panic(fmt.Sprintf("myInline: %T", a))
		}
		q = q[i+1:]
	}
	return b.String() + q
}

// latin1Text is text of characters latin1 holds.
func latin1Text(r *rand.Rand) string {
	rs := []rune("é ü ÿ © € ' \\ ")
	for range r.IntN(8) {
		c := rune(0x20 + r.IntN(0xE0))
		if c >= 0x80 && c < 0xA0 {
			c -= 0x60 // MySQL's latin1 is cp1252: most of 0x80-0x9F are other characters
		}
		rs = append(rs, c)
	}
	return string(rs)
}

// randBytes are random bytes, sometimes every byte value.
func randBytes(r *rand.Rand) []byte {
	if r.IntN(3) == 0 {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}
	b := make([]byte, r.IntN(20))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

func randDouble(r *rand.Rand) float64 {
	switch r.IntN(4) {
	case 0:
		return r.Float64() * 1e-300
	case 1:
		return -r.Float64() * math.MaxFloat64
	case 2:
		return float64(r.IntN(1000)) / 7
	}
	return r.NormFloat64()
}

func myRandomWrite(r *rand.Rand, s *writeState) (string, []any) {
	ts := func() string {
		return time.Unix(1+r.Int64N(1<<31-2), r.Int64N(1e9)).UTC().Add(5*time.Hour + 30*time.Minute).Format("2006-01-02 15:04:05.000000")
	}
	switch r.IntN(12) {
	case 0:
		s.nextA++
		return "INSERT INTO a VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", []any{s.nextA, fmt.Sprintf("%d.%010d", r.IntN(1e9), r.IntN(1e9)), ts(), ts(),
			`{"a":  [1, 2,3], "a": "dup", "s": "` + strings.Repeat("\\\"", r.IntN(3)) + `"}`, randBytes(r), randBytes(r), []string{"red", "green", "blue"}[r.IntN(3)],
			randText(r), randDouble(r), latin1Text(r)}
	case 1:
		return "UPDATE a SET n = n * 3, t = ?, b = ?, ts = ts + INTERVAL 1 MICROSECOND, f = f * 1.1 WHERE id = ?", []any{randText(r), randBytes(r), 1 + r.IntN(20)}
	case 2:
		return "DELETE FROM a WHERE id = ?", []any{1 + r.IntN(20)}
	case 3:
		s.nextB++
		return "INSERT INTO b VALUES (?, ?, ?, ?)", []any{randText(r), s.nextB, r.Float64() * 1e-7, nil}
	case 4:
		return "UPDATE b SET k1 = CONCAT(k1, 'x'), v = v + 0.1, note = ? WHERE k2 = ?", []any{randText(r), 1 + r.IntN(20)} // the key itself changes
	case 5:
		k := 1 + r.IntN(20)
		return "DELETE FROM b WHERE k2 BETWEEN ? AND ?", []any{k, k + 1}
	case 6:
		return "INSERT INTO c (payload, tags) VALUES (?, ?) RETURNING id, g", []any{fmt.Sprintf(`{"r": %d, "s": %q}`, r.IntN(100), randText(r)), randText(r)}
	case 7:
		return "UPDATE c SET payload = JSON_SET(payload, '$.u', 1), tags = CONCAT(tags, ',more') WHERE id = ?", []any{1 + r.IntN(20)}
	case 8:
		return "DELETE FROM c WHERE id = ?", []any{1 + r.IntN(20)}
	case 9:
		k := 1 + r.IntN(20) // may exist, or not any more
		return "INSERT INTO b (k1, k2, v, note) VALUES (?, ?, 1, ?) ON DUPLICATE KEY UPDATE note = VALUES(note), v = v * 2", []any{fmt.Sprintf("key%d", k), k, randText(r)}
	case 10:
		return "REPLACE INTO a (id, n, t, c) VALUES (?, ?, ?, 'blue')", []any{1 + r.IntN(25), r.IntN(1000), randText(r)}
	default:
		return "INSERT IGNORE INTO a (id, t) VALUES (?, ?), (?, ?)", []any{1 + r.IntN(30), randText(r), 1 + r.IntN(30), randText(r)}
	}
}
