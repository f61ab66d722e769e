package e2e

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// startupBytes encodes a StartupMessage for protocol 3.minor.
func startupBytes(t *testing.T, minor uint32, params map[string]string) []byte {
	t.Helper()
	b, err := (&pgproto3.StartupMessage{ProtocolVersion: 3<<16 | minor, Parameters: params}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawStartup sends pre (raw bytes) to addr and returns the first byte
// answered alone (for an SSLRequest) when single is set, then the backend
// messages up to the first ErrorResponse or AuthenticationSASL.
func rawStartup(t *testing.T, addr string, pre []byte, single bool) (byte, []pgproto3.BackendMessage) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := nc.Write(pre); err != nil {
		t.Fatal(err)
	}
	var first byte
	if single {
		var b [1]byte
		if _, err := nc.Read(b[:]); err != nil {
			t.Fatalf("%s: read the SSL answer: %v", addr, err)
		}
		first = b[0]
	}
	fe := pgproto3.NewFrontend(nc, nc)
	var msgs []pgproto3.BackendMessage
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatalf("%s: after %d messages: %v", addr, len(msgs), err)
		}
		switch m := m.(type) {
		case *pgproto3.ErrorResponse:
			c := *m
			return first, append(msgs, &c)
		case *pgproto3.AuthenticationSASL, *pgproto3.AuthenticationOk, *pgproto3.AuthenticationCleartextPassword:
			return first, append(msgs, m)
		case *pgproto3.NegotiateProtocolVersion:
			c := *m
			msgs = append(msgs, &c)
		default:
			msgs = append(msgs, m)
		}
	}
}

// TestProtocol32 asks for protocol 3.2 with a protocol option, as libpq 18
// and pgx do: airlock answers NegotiateProtocolVersion (3.0, the option
// not understood) as PostgreSQL 15 does and goes on to authenticate; pgx
// asking for 3.2 works through airlock as directly.
func TestProtocol32(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	params := map[string]string{"user": "alice", "database": "app", "_pq_.frobnicate": "on"}
	direct := map[string]string{"user": testenv.RoleRO, "database": db.Name, "_pq_.frobnicate": "on"}
	for _, tc := range []struct {
		name, addr string
		params     map[string]string
	}{{"airlock", a.PostgresAddr.String(), params}, {"direct", testenv.PGAddr, direct}} {
		_, msgs := rawStartup(t, tc.addr, startupBytes(t, 2, tc.params), false)
		if len(msgs) < 2 {
			t.Fatalf("%s: got %#v, want NegotiateProtocolVersion then authentication", tc.name, msgs)
		}
		npv, ok := msgs[0].(*pgproto3.NegotiateProtocolVersion)
		if !ok || npv.NewestMinorProtocol != 3<<16 || len(npv.UnrecognizedOptions) != 1 || npv.UnrecognizedOptions[0] != "_pq_.frobnicate" {
			t.Fatalf("%s: first message %#v, want NegotiateProtocolVersion 3.0 [_pq_.frobnicate]", tc.name, msgs[0])
		}
		if e, ok := msgs[len(msgs)-1].(*pgproto3.ErrorResponse); ok {
			t.Fatalf("%s: %s %s", tc.name, e.Code, e.Message)
		}
	}
	// Protocol 4 is refused as PostgreSQL refuses it.
	for _, addr := range []string{a.PostgresAddr.String(), testenv.PGAddr} {
		b := startupBytes(t, 0, map[string]string{"user": "alice"})
		binary.BigEndian.PutUint32(b[4:], 4<<16)
		_, msgs := rawStartup(t, addr, b, false)
		if e, ok := msgs[len(msgs)-1].(*pgproto3.ErrorResponse); !ok || e.Code != "0A000" {
			t.Fatalf("%s: protocol 4.0: %#v, want 0A000", addr, msgs)
		}
	}
	ctx := context.Background()
	c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app")+"&max_protocol_version=3.2")
	defer c.Close(ctx)
	var one int
	if err := c.QueryRow(ctx, "SELECT 1", pgx.QueryExecModeExec).Scan(&one); err != nil || one != 1 {
		t.Fatalf("query at 3.2 through airlock: %d, %v", one, err)
	}
}

// TestUnencryptedAfterSSLRequest sends an SSLRequest (and a GSSENCRequest)
// followed at once, in the same write, by a StartupMessage: the bytes were
// sent before the answer was read, so they were not protected by TLS, and
// PostgreSQL ends the connection with FATAL 08P01 (CVE-2021-23214).
// airlock, here without TLS, answers N and then the same FATAL.
func TestUnencryptedAfterSSLRequest(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	for _, req := range []struct {
		name string
		code uint32
		want string
	}{{"SSLRequest", 80877103, "received unencrypted data after SSL request"},
		{"GSSENCRequest", 80877104, "received unencrypted data after GSSAPI encryption request"}} {
		// The test server has TLS and GSSAPI on, so it cannot be compared
		// directly: it answers S or G and then expects a handshake.
		for _, tc := range []struct{ name, addr, user, db string }{
			{"airlock", a.PostgresAddr.String(), "alice", "app"},
		} {
			pre := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), req.code)
			pre = append(pre, startupBytes(t, 0, map[string]string{"user": tc.user, "database": tc.db})...)
			first, msgs := rawStartup(t, tc.addr, pre, true)
			if first != 'N' {
				t.Fatalf("%s %s: answered %q, want N", req.name, tc.name, first)
			}
			e, ok := msgs[len(msgs)-1].(*pgproto3.ErrorResponse)
			if !ok || e.Severity != "FATAL" || e.Code != "08P01" || e.Message != req.want {
				t.Fatalf("%s %s: %#v, want FATAL 08P01 %q", req.name, tc.name, msgs[len(msgs)-1], req.want)
			}
		}
	}
}

// TestResourceFunctions: a read session cannot assign transaction IDs or
// sleep (rule resource), in any position of a statement; a write session
// can; LISTEN stays allowed. The same on MySQL for SLEEP and BENCHMARK.
func TestResourceFunctions(t *testing.T) {
	ctx := context.Background()
	t.Run("postgres", func(t *testing.T) {
		db := testenv.NewDB(t)
		db.Exec("GRANT SELECT ON ALL TABLES IN SCHEMA public TO airlock_test_ro")
		a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
		read := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
		defer read.Close(ctx)
		for _, sql := range []string{
			"SELECT txid_current()",
			"SELECT pg_catalog.pg_current_xact_id()",
			"SELECT 1 WHERE txid_current() > 0",
			"SELECT pg_sleep(0) FROM generate_series(1, 3)",
			"SELECT pg_sleep_for('0 s')",
			"SELECT * FROM (SELECT pg_sleep_until(now())) s",
		} {
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
				_, err := read.Exec(ctx, sql, mode)
				if pgCode(err) != "42501" || !strings.Contains(err.Error(), "airlock: denied: resource:") {
					t.Errorf("%q (%v): %v, want denied by rule resource", sql, mode, err)
				}
			}
		}
		if _, err := read.Exec(ctx, "LISTEN ch"); err != nil {
			t.Fatalf("LISTEN in a read session: %v", err)
		}
		var assigned *int64
		if err := read.QueryRow(ctx, "SELECT txid_current_if_assigned()").Scan(&assigned); err != nil || assigned != nil {
			t.Fatalf("txid_current_if_assigned: %v, %v", assigned, err)
		}
		write := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
		defer write.Close(ctx)
		var xid int64
		if err := write.QueryRow(ctx, "SELECT txid_current()").Scan(&xid); err != nil || xid == 0 {
			t.Fatalf("txid_current in a write session: %d, %v", xid, err)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		db := testenv.NewMyDB(t)
		a := testenv.StartMySQL(t, db, testenv.Options{LogLevel: "info"})
		read := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", ""))
		for _, sql := range []string{"SELECT SLEEP(0)", "SELECT BENCHMARK(10, MD5('x'))", "SELECT 1 FROM DUAL WHERE sleep(0) = 0", "DO SLEEP(0)"} {
			_, err := read.Exec(sql)
			if code, _ := testenv.MyErr(err); code != 1227 || !strings.Contains(err.Error(), "airlock: denied: resource:") {
				t.Errorf("%q: %v, want denied by rule resource", sql, err)
			}
		}
		write := testenv.OpenMy(t, a.MyDSN("wanda", a.Token("wanda", 0), "app", ""))
		if _, err := write.Exec("SELECT SLEEP(0)"); err != nil {
			t.Fatalf("SLEEP in a write session: %v", err)
		}
	})
}
