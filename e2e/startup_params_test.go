package e2e

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// TestStartupSettings: settings in the startup packet, as parameters or in
// options (libpq's options, PGOPTIONS, drivers' connect options), go
// through the same rules as SET; only what those refuse is refused, with
// a FATAL naming the setting, and the refusal is audited (SPEC §3).
func TestStartupSettings(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{})
	tok := a.Token("alice", time.Hour) // standing read
	ctx := context.Background()

	connect := func(params map[string]string) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig(a.URL("alice", tok, "app"))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range params {
			cfg.RuntimeParams[k] = v
		}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		return pgx.ConnectConfig(cctx, cfg)
	}
	show := func(c *pgx.Conn, name string) string {
		var v string
		if err := c.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			t.Fatalf("current_setting(%s): %v", name, err)
		}
		return v
	}

	allowed := []struct {
		name   string
		params map[string]string
		want   map[string]string // setting -> value seen upstream
	}{
		{"options -c", map[string]string{"options": "-c search_path=public -c jit=off"}, map[string]string{"search_path": "public", "jit": "off"}},
		{"options -cname", map[string]string{"options": "-cstatement_timeout=7s"}, map[string]string{"statement_timeout": "7s"}},
		{"options --name", map[string]string{"options": "--lock-timeout=3s --work_mem=8MB"}, map[string]string{"lock_timeout": "3s", "work_mem": "8MB"}},
		{"options escaped space", map[string]string{"options": `-c application_name=my\ app -c search_path=public,\ pg_catalog`}, map[string]string{"search_path": "public, pg_catalog"}},
		{"options repeat takes the last", map[string]string{"options": "-c work_mem=4MB -c work_mem=16MB"}, map[string]string{"work_mem": "16MB"}},
		{"parameter wins over options", map[string]string{"options": "-c work_mem=4MB", "work_mem": "32MB"}, map[string]string{"work_mem": "32MB"}},
		{"ordinary settings as parameters", map[string]string{"jit": "off", "synchronous_commit": "local", "max_parallel_workers_per_gather": "0"}, map[string]string{"jit": "off", "synchronous_commit": "local", "max_parallel_workers_per_gather": "0"}},
		{"read-only kept on", map[string]string{"default_transaction_read_only": "on"}, map[string]string{"default_transaction_read_only": "on"}},
		{"replication off is an ordinary connection", map[string]string{"replication": "false"}, nil},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			c, err := connect(tt.params)
			if err != nil {
				t.Fatalf("connect with %v: %v", tt.params, err)
			}
			defer c.Close(ctx)
			for k, v := range tt.want {
				if got := show(c, k); got != v {
					t.Errorf("%s = %q upstream, want %q", k, got, v)
				}
			}
			if got := show(c, "transaction_read_only"); got != "on" {
				t.Errorf("read session: transaction_read_only %q upstream", got)
			}
		})
	}

	refused := []struct {
		name    string
		params  map[string]string
		setting string // named in the FATAL
	}{
		{"read-only off in a read session", map[string]string{"default_transaction_read_only": "off"}, "default_transaction_read_only"},
		{"read-only off in options", map[string]string{"options": "-c default_transaction_read_only=off"}, "default_transaction_read_only"},
		{"role", map[string]string{"options": "-c role=postgres"}, "role"},
		{"session_authorization", map[string]string{"options": "--session_authorization=postgres"}, "session_authorization"},
		{"pinned standard_conforming_strings", map[string]string{"standard_conforming_strings": "off"}, "standard_conforming_strings"},
		{"pinned backslash_quote in options", map[string]string{"options": "-c backslash_quote=on"}, "backslash_quote"},
		{"superuser setting", map[string]string{"options": "-c session_replication_role=replica"}, "session_replication_role"},
		{"loads code", map[string]string{"local_preload_libraries": "x"}, "local_preload_libraries"},
		{"unknown setting", map[string]string{"no_such_setting": "1"}, "no_such_setting"},
		{"server switch", map[string]string{"options": "-F"}, "-F"},
		{"replication", map[string]string{"replication": "database"}, "replication"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			c, err := connect(tt.params)
			if err == nil {
				c.Close(ctx)
				t.Fatalf("connect with %v succeeded", tt.params)
			}
			if pgCode(err) != "42501" || !strings.Contains(err.Error(), tt.setting) {
				t.Fatalf("connect with %v: %v; want 42501 naming %s", tt.params, err, tt.setting)
			}
		})
	}

	// Each refusal above is in the audit log, with the setting.
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventStatement, Decision: airlock.DecisionDenied, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range refused {
		found := false
		for _, ev := range evs {
			if strings.Contains(ev.Text, "startup") && strings.Contains(ev.Reason+ev.Text, tt.setting) {
				found = true
			}
		}
		if !found {
			t.Errorf("refused startup %q not audited", tt.name)
		}
	}

	// A write session may turn read-only off at startup.
	w, err := pgx.Connect(ctx, a.URL("wanda", a.Token("wanda", time.Hour), "app")+"&default_transaction_read_only=off")
	if err != nil {
		t.Fatalf("write session with default_transaction_read_only=off: %v", err)
	}
	defer w.Close(ctx)
	if got := show(w, "default_transaction_read_only"); got != "off" {
		t.Errorf("write session: default_transaction_read_only %q", got)
	}

	// psql with PGOPTIONS, as libpq sends it.
	out := run(t, 60*time.Second, "SHOW search_path;\nSHOW jit;\n", []string{"PGPASSWORD=" + tok, "PGSSLMODE=disable", "PGOPTIONS=-c search_path=pg_catalog -c jit=off"},
		"psql", "-X", "-A", "-t", "-h", a.Host(), "-p", a.Port(), "-U", "alice", "-d", "app", "-f", "-")
	if strings.TrimSpace(out) != "pg_catalog\noff" {
		t.Errorf("psql with PGOPTIONS: %q", out)
	}
}

// TestStartupRepeatedParameter: a parameter given twice (one driver adds
// client_encoding itself after the user's) takes its last value, as in
// PostgreSQL, instead of failing the startup.
func TestStartupRepeatedParameter(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{Listen: `{postgres: {address: "127.0.0.1:0", auth: cleartext}, http: "127.0.0.1:0"}`})
	tok := a.Token("alice", time.Hour)

	nc, err := net.DialTimeout("tcp", a.PostgresAddr.String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	var body []byte
	body = binary.BigEndian.AppendUint32(body, 3<<16)
	for _, kv := range [][2]string{{"user", "alice"}, {"database", "app"}, {"client_encoding", "UTF8"}, {"work_mem", "4MB"}, {"client_encoding", "utf8"}, {"work_mem", "12MB"}} {
		body = append(append(append(append(body, kv[0]...), 0), kv[1]...), 0)
	}
	body = append(body, 0)
	pkt := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
	if _, err := nc.Write(append(pkt, body...)); err != nil {
		t.Fatal(err)
	}
	fe := pgproto3.NewFrontend(nc, nc)
	for ready := false; !ready; {
		m, err := fe.Receive()
		if err != nil {
			t.Fatalf("startup: %v", err)
		}
		switch m := m.(type) {
		case *pgproto3.AuthenticationCleartextPassword:
			fe.Send(&pgproto3.PasswordMessage{Password: tok})
			if err := fe.Flush(); err != nil {
				t.Fatal(err)
			}
		case *pgproto3.ErrorResponse:
			t.Fatalf("startup with a repeated parameter: %s %s", m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			ready = true
		}
	}
	fe.Send(&pgproto3.Query{String: "SHOW work_mem"})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var got string
	for done := false; !done; {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *pgproto3.DataRow:
			got = string(m.Values[0])
		case *pgproto3.ErrorResponse:
			t.Fatalf("SHOW work_mem: %s", m.Message)
		case *pgproto3.ReadyForQuery:
			done = true
		}
	}
	if got != "12MB" {
		t.Errorf("work_mem %q, want the last value 12MB", got)
	}
}
