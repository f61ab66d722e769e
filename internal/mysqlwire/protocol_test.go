package mysqlwire_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/mysqlwire"
	"airlock/internal/testenv/mydb"
)

const itemsTable = `CREATE TABLE items (id int PRIMARY KEY, name varchar(50) NOT NULL, price decimal(10,2), d datetime, j json, b blob) ENGINE=InnoDB;
INSERT INTO items VALUES (1, 'apple', 1.50, '2024-01-02 03:04:05', '{"a": 1}', x'00ff'), (2, 'bread', 2.25, NULL, NULL, NULL), (3, 'cheese ''brie''', 9.99, '1999-12-31 23:59:59', '[1, "two"]', ''), (4, 'eggs €', NULL, NULL, NULL, NULL)`

func itemsState(t *testing.T, db *mydb.DB) string {
	t.Helper()
	var s string
	if err := mydb.Root(t, db.Name).QueryRow("SELECT CONCAT(COUNT(*), ':', IFNULL(SUM(price), 0), ':', MD5(GROUP_CONCAT(id, name, IFNULL(price, '') ORDER BY id))) FROM items").Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReadSessionDenies: in a read session, writes sent as text, as
// prepared statements and inside multi-statement queries are denied with
// 1227/42000 "airlock: denied", nothing of them reaches the database, and
// the connection keeps working, inside a transaction too.
func TestReadSessionDenies(t *testing.T) {
	db := mydb.New(t)
	db.Exec(itemsTable)
	before := itemsState(t, db)
	e := startEnv(t, db, envOptions{})
	tok := e.token("alice")
	c := mydb.Open(t, e.dsn("alice", tok, "multiStatements=true&interpolateParams=false"))
	c.SetMaxOpenConns(1)
	isDenied := func(err error) bool {
		code, state := mydb.Err(err)
		return code == 1227 && state == "42000" && strings.Contains(err.Error(), "airlock: denied: ")
	}
	alive := func() {
		t.Helper()
		var n int
		if err := c.QueryRow("SELECT COUNT(*) FROM items").Scan(&n); err != nil || n != 4 {
			t.Fatalf("connection not usable: %d %v", n, err)
		}
	}
	writes := []string{
		"DELETE FROM items WHERE id = 1",
		"UPDATE items SET price = 0 WHERE id = 2",
		"INSERT INTO items (id, name) VALUES (9, 'x')",
		"DROP TABLE items",
		"SET SESSION TRANSACTION READ WRITE",
	}
	for _, w := range writes {
		if _, err := c.Exec(w); !isDenied(err) {
			t.Errorf("text %q: %v", w, err)
		}
		alive()
		// go-sql-driver prepares statements that have arguments.
		if _, err := c.Exec(w+" AND 1 = ?", 1); !isDenied(err) && !strings.HasPrefix(w, "DROP") && !strings.HasPrefix(w, "SET") && !strings.HasPrefix(w, "INSERT") {
			t.Errorf("prepared %q: %v", w, err)
		}
		if _, err := c.Exec("SELECT 1; " + w + "; SELECT 2"); !isDenied(err) {
			t.Errorf("multi %q: %v", w, err)
		}
		alive()
	}
	// Inside a transaction: the denial keeps the transaction open, as a
	// MySQL error does.
	ctx := context.Background()
	conn, err := c.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"BEGIN", "SELECT 1"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM items WHERE id = 3"); !isDenied(err) {
		t.Fatalf("in a transaction: %v", err)
	}
	var inTx int
	if err := conn.QueryRowContext(ctx, "SELECT @@in_transaction").Scan(&inTx); err != nil || inTx != 1 {
		t.Fatalf("transaction after a denial: %d %v", inTx, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// The upstream is read-only too.
	var ro int
	if err := c.QueryRow("SELECT @@tx_read_only").Scan(&ro); err != nil || ro != 1 {
		t.Fatalf("tx_read_only = %d %v", ro, err)
	}
	if after := itemsState(t, db); after != before {
		t.Fatalf("upstream changed: %s -> %s", before, after)
	}
	// Every denial is audited, with the rule.
	denied := 0
	for _, ev := range e.events("alice") {
		if ev.Action == airlock.ActionDenied {
			denied++
			if ev.Rule == "" || ev.Text == "" {
				t.Errorf("denial without its facts: %+v", ev)
			}
		}
	}
	if denied < 3*len(writes) {
		t.Errorf("%d denials audited, want at least %d", denied, 3*len(writes))
	}
}

// TestPreparedStatements: an execution is decided at the session's level
// when it runs, not when it was prepared; prepared statements survive the
// session's move to another upstream connection when a grant starts and
// ends; parameters are audited.
func TestPreparedStatements(t *testing.T) {
	db := mydb.New(t)
	db.Exec(itemsTable)
	e := startEnv(t, db, envOptions{})
	ctx := context.Background()
	tok := e.token("alice")
	alice, err := e.access.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := e.access.Authenticate(ctx, e.token("bob"))
	if err != nil {
		t.Fatal(err)
	}
	c := mydb.Open(t, e.dsn("alice", tok, "interpolateParams=false"))
	c.SetMaxOpenConns(1)
	sel, err := c.Prepare("SELECT name, price, d FROM items WHERE id = ? AND name <> ?")
	if err != nil {
		t.Fatal(err)
	}
	var name string
	var price sql.NullString
	var d sql.NullString
	if err := sel.QueryRow(3, "x").Scan(&name, &price, &d); err != nil || name != "cheese 'brie'" {
		t.Fatalf("prepared select: %q %v", name, err)
	}
	if _, err := c.Prepare("UPDATE items SET price = price + 1 WHERE id = ?"); err == nil {
		t.Fatal("an UPDATE was prepared in a read session")
	}
	var user string
	if err := c.QueryRow("SELECT CURRENT_USER()").Scan(&user); err != nil || !strings.HasPrefix(user, mydb.RoleRO+"@") {
		t.Fatalf("user %q %v", user, err)
	}

	// A grant starts: the next command moves to the write credential.
	r, err := e.access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "fix prices"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = e.access.ApproveRequest(ctx, bob, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec("SET @kept = 42"); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow("SELECT CURRENT_USER()").Scan(&user); err != nil || !strings.HasPrefix(user, mydb.RoleRW+"@") {
		t.Fatalf("after the grant: user %q %v", user, err)
	}
	upd, err := c.Prepare("UPDATE items SET price = price + 1 WHERE id = ?")
	if err != nil {
		t.Fatalf("prepare an UPDATE under the grant: %v", err)
	}
	if _, err := upd.Exec(1); err != nil {
		t.Fatalf("execute the UPDATE under the grant: %v", err)
	}
	// The statement prepared before the switch still works.
	if err := sel.QueryRow(1, "x").Scan(&name, &price, &d); err != nil || price.String != "2.50" {
		t.Fatalf("prepared select after the switch: %q %v", price.String, err)
	}

	// The grant ends: the UPDATE prepared under it is denied when executed.
	revokeGrant(t, e, r.GrantID)
	if _, err := upd.Exec(2); err == nil {
		t.Fatal("the prepared UPDATE ran after the grant ended")
	} else if code, _ := mydb.Err(err); code != 1227 {
		t.Fatalf("prepared UPDATE after the grant: %v", err)
	}
	var kept int
	if err := c.QueryRow("SELECT @kept").Scan(&kept); err != nil || kept != 42 {
		t.Fatalf("user variable across switches: %d %v", kept, err)
	}
	var ro int
	if err := c.QueryRow("SELECT CURRENT_USER(), @@tx_read_only").Scan(&user, &ro); err != nil || !strings.HasPrefix(user, mydb.RoleRO+"@") || ro != 1 {
		t.Fatalf("after the grant ended: user %q, tx_read_only %d, %v", user, ro, err)
	}
	if err := sel.QueryRow(4, "x").Scan(&name, &price, &d); err != nil || name != "eggs €" {
		t.Fatalf("prepared select after switching back: %q %v", name, err)
	}
	if got := db.QueryInt("SELECT CAST(price * 100 AS SIGNED) FROM items WHERE id = 1"); got != 250 {
		t.Fatalf("price = %d", got)
	}
	// Parameters too large for one packet go as long data
	// (COM_STMT_SEND_LONG_DATA): the execution is decided and audited
	// with them, and denied executions drop them upstream.
	small := mydb.Open(t, e.dsn("alice", tok, "interpolateParams=false&maxAllowedPacket=1024"))
	small.SetMaxOpenConns(1)
	long := strings.Repeat("0123456789", 600)
	var n int
	var sum string
	if err := small.QueryRow("SELECT LENGTH(?), MD5(?)", long, "short").Scan(&n, &sum); err != nil || n != 6000 {
		t.Fatalf("long data: %d %v", n, err)
	}
	if _, err := small.Exec("UPDATE items SET name = ? WHERE id = 1", long); err == nil {
		t.Fatal("an UPDATE ran with long data in a read session")
	}
	if err := small.QueryRow("SELECT LENGTH(?), MD5(?)", "a", long).Scan(&n, &sum); err != nil || n != 1 {
		t.Fatalf("after a denied execution with long data: %d %v", n, err)
	}
	// The executions are audited with their parameters.
	longAudited := false
	for _, ev := range e.events("alice") {
		if ev.Text == "SELECT LENGTH(?), MD5(?)" && len(ev.Params) == 2 && strings.HasSuffix(ev.Params[0], "…(6000 bytes)") && ev.Params[1] == "short" {
			longAudited = true
		}
	}
	if !longAudited {
		t.Error("no audited execution with a long parameter")
	}
	found := false
	for _, ev := range e.events("alice") {
		if ev.Action == airlock.ActionExecuted && strings.HasPrefix(ev.Text, "SELECT name, price") && slices.Equal(ev.Params, []string{"4", "x"}) {
			found = true
		}
	}
	if !found {
		t.Error("no audited execution with parameters [4 x]")
	}
}

func revokeGrant(t *testing.T, e *env, id string) {
	t.Helper()
	ctx := context.Background()
	// An admin revokes: make one.
	if err := e.store.CreateUser(ctx, &airlock.User{Name: "root-" + id, Roles: []string{airlock.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := e.access.IssueTokenDirect(ctx, "root-"+id, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := e.access.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.access.RevokeGrant(ctx, admin, id); err != nil {
		t.Fatal(err)
	}
}

// raw connects a bare client as alice.
func raw(t *testing.T, e *env, caps uint32) *mysqlwire.RawConn {
	t.Helper()
	r, err := mysqlwire.RawDial(e.addr, "alice", e.token("alice"), "app", caps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func expectERR(t *testing.T, r *mysqlwire.RawConn, code uint16, msg string) {
	t.Helper()
	p, err := r.Read()
	if err != nil {
		t.Fatalf("want ERR %d: %v", code, err)
	}
	if p[0] != 0xff {
		t.Fatalf("want ERR %d, got packet %x", code, p[:min(len(p), 16)])
	}
	if got, _, m := mysqlwire.ERR(p); got != code || !strings.Contains(m, msg) {
		t.Fatalf("ERR %d %q, want %d %q", got, m, code, msg)
	}
}

func expectOK(t *testing.T, r *mysqlwire.RawConn) {
	t.Helper()
	p, err := r.Read()
	if err != nil || (p[0] != 0 && p[0] != 0xfe) {
		t.Fatalf("want OK: %x %v", p, err)
	}
}

// TestCommands: the protocol commands besides queries.
func TestCommands(t *testing.T) {
	db := mydb.New(t)
	db.Exec(itemsTable)
	e := startEnv(t, db, envOptions{})
	r := raw(t, e, mysqlwire.CapDeprecateEOF|mysqlwire.CapMultiResults)

	t.Run("init db", func(t *testing.T) {
		for _, name := range []string{"app", db.Name} {
			r.Send(append([]byte{0x02}, name...))
			expectOK(t, r)
		}
		r.Send(append([]byte{0x02}, "mysql"...))
		expectERR(t, r, 1227, "airlock: denied: schema: this session may only use schema")
		rows, err := r.Query("SELECT DATABASE()")
		if err != nil || rows[0][0] != db.Name {
			t.Fatalf("database %v %v", rows, err)
		}
	})

	t.Run("ping, statistics, field list", func(t *testing.T) {
		r.Send([]byte{0x0e})
		expectOK(t, r)
		r.Send([]byte{0x09})
		if p, err := r.Read(); err != nil || !strings.Contains(string(p), "Uptime") {
			t.Fatalf("statistics: %q %v", p, err)
		}
		r.Send(append(append([]byte{0x04}, "items"...), 0))
		var cols []string
		for {
			p, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			if p[0] == 0xfe {
				break
			}
			cols = append(cols, string(p))
		}
		if len(cols) != 6 || !strings.Contains(cols[0], "id") {
			t.Fatalf("field list: %q", cols)
		}
	})

	t.Run("set option", func(t *testing.T) {
		if _, err := r.Query("SELECT 1; SELECT 2"); err == nil {
			t.Fatal("several statements ran without multi-statements")
		}
		r.Send([]byte{0x1b, 0, 0}) // MYSQL_OPTION_MULTI_STATEMENTS_ON
		if p, err := r.Read(); err != nil || p[0] != 0xfe && p[0] != 0 {
			t.Fatalf("set option: %x %v", p, err)
		}
		rows, err := r.Query("SELECT 1; SELECT 2")
		if err != nil || rows[0][0] != "2" {
			t.Fatalf("multi-statements on: %v %v", rows, err)
		}
		if _, err := r.Query("SELECT 1; DELETE FROM items"); err == nil || !strings.Contains(err.Error(), "airlock: denied") {
			t.Fatalf("a write hidden in a multi-statement query: %v", err)
		}
		r.Send([]byte{0x1b, 1, 0}) // off
		r.Read()
		if _, err := r.Query("SELECT 1; SELECT 2"); err == nil {
			t.Fatal("several statements ran after multi-statements were turned off")
		}
	})

	t.Run("reset connection", func(t *testing.T) {
		for _, s := range []string{"SET NAMES latin1", "SET @v = 1", "SET SESSION sql_mode = 'ANSI_QUOTES'"} {
			if _, err := r.Query(s); err != nil {
				t.Fatal(err)
			}
		}
		r.Send([]byte{0x1f})
		expectOK(t, r)
		rows, err := r.Query("SELECT @@tx_read_only, @@character_set_client, @@sql_mode LIKE '%ANSI_QUOTES%', @v IS NULL")
		if err != nil || strings.Join(rows[0], " ") != "1 utf8mb4 0 1" {
			t.Fatalf("after reset: %v %v", rows, err)
		}
	})

	t.Run("prepared statements", func(t *testing.T) {
		r.Send(append([]byte{0x16}, "SELECT ?, CONCAT(?, '!')"...))
		p, err := r.Read()
		if err != nil || p[0] != 0 {
			t.Fatalf("prepare: %x %v", p, err)
		}
		id := binary.LittleEndian.Uint32(p[1:])
		if params, cols := binary.LittleEndian.Uint16(p[7:]), binary.LittleEndian.Uint16(p[5:]); params != 2 || cols != 2 {
			t.Fatalf("prepare: %d params, %d columns", params, cols)
		}
		for range 4 { // definitions, without EOF (CLIENT_DEPRECATE_EOF)
			r.Read()
		}
		execute := func(bound bool, values ...string) []byte {
			b := binary.LittleEndian.AppendUint32([]byte{0x17}, id)
			b = append(b, 0, 1, 0, 0, 0, 0) // no cursor, one iteration, null bitmap
			if bound {
				b = append(b, 1, 0xfe, 0, 0xfe, 0)
			} else {
				b = append(b, 0)
			}
			for _, v := range values {
				b = append(append(b, byte(len(v))), v...)
			}
			return b
		}
		result := func() string {
			var rows []string
			for {
				p, err := r.Read()
				if err != nil {
					t.Fatal(err)
				}
				if p[0] == 0xff || p[0] == 0xfe && len(p) < 0xffffff {
					return strings.Join(rows, ",")
				}
				if p[0] == 0 && len(p) > 2 {
					rows = append(rows, string(p[2:]))
				}
			}
		}
		// The first parameter comes as long data, in two pieces.
		for _, part := range []string{"long ", "value"} {
			r.Send(append(binary.LittleEndian.AppendUint32([]byte{0x18}, id), append([]byte{0, 0}, part...)...))
		}
		r.Send(execute(true, "b"))
		r.Read() // column count
		r.Read()
		r.Read()
		if got := result(); got != "\nlong value\x02b!" {
			t.Fatalf("execute with long data: %q", got)
		}
		// Types are not sent again.
		r.Send(execute(false, "x", "y"))
		r.Read()
		r.Read()
		r.Read()
		if got := result(); got != "\x01x\x02y!" {
			t.Fatalf("execute: %q", got)
		}
		r.Send(binary.LittleEndian.AppendUint32([]byte{0x1a}, id)) // reset
		expectOK(t, r)
		r.Send(binary.LittleEndian.AppendUint32([]byte{0x19}, id)) // close: no answer
		r.Send(execute(false, "x", "y"))
		expectERR(t, r, 1243, "Unknown prepared statement handler")
	})

	t.Run("cursor", func(t *testing.T) {
		for _, caps := range []uint32{mysqlwire.CapDeprecateEOF, 0} {
			c := raw(t, e, caps)
			c.Send(append([]byte{0x16}, "SELECT seq FROM seq_1_to_5"...))
			p, err := c.Read()
			if err != nil || p[0] != 0 {
				t.Fatalf("prepare: %x %v", p, err)
			}
			id := binary.LittleEndian.Uint32(p[1:])
			defs := 1
			if caps == 0 {
				defs = 2 // and an EOF
			}
			for range defs {
				c.Read()
			}
			// Execute with a read-only cursor: metadata, then the end
			// packet saying a cursor is open; rows come with FETCH.
			c.Send(append(binary.LittleEndian.AppendUint32([]byte{0x17}, id), 1, 1, 0, 0, 0))
			var got []byte
			for range 3 {
				if got, err = c.Read(); err != nil {
					t.Fatal(err)
				}
			}
			if got[0] != 0xfe || got[len(got)-4]&0x40 == 0 && got[len(got)-2]&0x40 == 0 {
				t.Fatalf("caps %#x: execute with a cursor ended with %x", caps, got)
			}
			c.Send(append(binary.LittleEndian.AppendUint32([]byte{0x1c}, id), 2, 0, 0, 0))
			rows := 0
			for {
				p, err := c.Read()
				if err != nil {
					t.Fatal(err)
				}
				if p[0] == 0xfe {
					break
				}
				rows++
			}
			if rows != 2 {
				t.Fatalf("caps %#x: fetched %d rows, want 2", caps, rows)
			}
			if v, err := c.Query("SELECT 42"); err != nil || v[0][0] != "42" {
				t.Fatalf("after the cursor: %v %v", v, err)
			}
		}
	})

	t.Run("refused commands", func(t *testing.T) {
		r.Send([]byte{0x08, 0}) // COM_SHUTDOWN
		expectERR(t, r, 1227, "airlock: denied: level: COM_SHUTDOWN")
		r.Send(binary.LittleEndian.AppendUint32([]byte{0x0c}, 1)) // COM_PROCESS_KILL
		expectERR(t, r, 1227, "airlock: denied")
		r.Send([]byte{0x40})
		expectERR(t, r, 1047, "Unknown command")
		r.Send(binary.LittleEndian.AppendUint32([]byte{0x17}, 12345)) // execute an unknown statement
		expectERR(t, r, 1243, "Unknown prepared statement handler")
		if rows, err := r.Query("SELECT 7"); err != nil || rows[0][0] != "7" {
			t.Fatalf("after refusals: %v %v", rows, err)
		}
		r.Send(append([]byte{0x11}, "bob\x00"...)) // COM_CHANGE_USER without its auth data
		expectERR(t, r, 1835, "malformed COM_CHANGE_USER")
		if _, err := r.Read(); err == nil {
			t.Fatal("the connection stayed open after a malformed COM_CHANGE_USER")
		}
	})
}

// TestUpstreamTLSModes: the database's tls setting is applied to the
// upstream connection: prefer falls back to plain TCP on a server without
// TLS (the test MariaDB has none); require refuses to go on without it.
func TestUpstreamTLSModes(t *testing.T) {
	db := mydb.New(t)
	for _, tc := range []struct {
		mode string
		ok   bool
	}{{"prefer", true}, {"require", false}, {"verify-full", false}} {
		t.Run(tc.mode, func(t *testing.T) {
			dbs := strings.Replace(mydb.Databases(db.Name, ""), "tls: disable", "tls: "+tc.mode, 1)
			e := startEnv(t, db, envOptions{databases: dbs})
			err := mydb.Open(t, e.dsn("alice", e.token("alice"), "")).Ping()
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				if code, _ := mydb.Err(err); code != 1105 || !strings.Contains(err.Error(), `cannot connect to database "app"`) {
					t.Fatalf("%v", err)
				}
				if waitFor(2*time.Second, func() bool { return strings.Contains(e.logs.String(), "does not support TLS") }) != nil {
					t.Fatal("the log does not say why")
				}
			}
		})
	}
}
