package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
)

// TestMySQLAuthentication: with a certificate configured, the mariadb
// client, go-sql-driver and Connector/J log in over TLS with a token;
// wrong, revoked, expired and other users' tokens and unknown users get
// ERR 1045 (28000) "Access denied for user ..." from every client, with
// and without TLS; no token reaches the log.
func TestMySQLAuthentication(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
	cert, key := selfSigned(t, t.TempDir())
	a := testenv.StartMySQL(t, db, testenv.Options{Extra: fmt.Sprintf("tls: {cert_file: %q, key_file: %q}\n", cert, key)})
	ctx := context.Background()
	host, port := a.MyHostPort()

	good := a.Token("alice", 0)
	revoked, revokedID := a.TokenID("alice", 0)
	if err := a.Access.RevokeToken(ctx, a.Actor(a.AdminToken), revokedID); err != nil {
		t.Fatal(err)
	}
	expired := a.Token("alice", time.Second)
	bobs := a.Token("bob", 0)
	time.Sleep(1100 * time.Millisecond)

	t.Run("over TLS", func(t *testing.T) {
		out := mariadbCLI(t, host, port, "alice", good, "app", "SELECT COUNT(*) AS n FROM t; SHOW SESSION STATUS LIKE 'Ssl_cipher';", "--ssl", "--skip-ssl-verify-server-cert")
		if !strings.HasPrefix(out, "n\n2\n") {
			t.Fatalf("mariadb over TLS: %s", out)
		}
		c := testenv.OpenMy(t, a.MyDSN("alice", good, "app", "tls=skip-verify"))
		var n int
		if err := c.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 2 {
			t.Fatalf("go-sql-driver over TLS: %d %v", n, err)
		}
		out = javaProbe(t, jdbcURL(a.MySQLAddr.String(), "app", "useSsl=true&trustServerCertificate=true"), "alice", good, "read", "SELECT COUNT(*) AS n FROM t")
		if !strings.Contains(out, "row | Long:2") {
			t.Fatalf("Connector/J over TLS:\n%s", out)
		}
		if !strings.Contains(a.Logs(), "tls=true") {
			t.Fatal("no session over TLS in the log")
		}
	})

	cases := []struct{ name, user, token string }{
		{"wrong", "alice", "alk_" + testenv.RandHex(20)},
		{"not a token", "alice", "hunter2"},
		{"revoked", "alice", revoked},
		{"expired", "alice", expired},
		{"another user's", "alice", bobs},
		{"unknown user", "mallory", good},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, params := range []string{"", "tls=skip-verify"} {
				err := testenv.OpenMy(t, a.MyDSN(tc.user, tc.token, "app", params)).Ping()
				if code, state := testenv.MyErr(err); code != 1045 || state != "28000" || !strings.Contains(err.Error(), "Access denied for user '"+tc.user+"'") {
					t.Errorf("go-sql-driver %q: %v", params, err)
				}
			}
			for _, args := range [][]string{nil, {"--ssl", "--skip-ssl-verify-server-cert"}} {
				out := mariadbCLI(t, host, port, tc.user, tc.token, "app", "SELECT 1;", args...)
				if !strings.Contains(out, "ERROR 1045 (28000): Access denied for user '"+tc.user+"'") {
					t.Errorf("mariadb %v: %s", args, out)
				}
			}
			out := javaProbe(t, jdbcURL(a.MySQLAddr.String(), "app", "allowPublicKeyRetrieval=true"), tc.user, tc.token, "read", "SELECT 1")
			if !strings.Contains(out, "Access denied for user '"+tc.user+"'") {
				t.Errorf("Connector/J: %s", out)
			}
		})
	}

	logs := a.Logs()
	for _, secret := range []string{good, revoked, expired, bobs, a.AdminToken, testenv.MyPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret %q", secret[:8])
		}
	}
}
