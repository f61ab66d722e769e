package mysqlwire_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv/mydb"
	"airlock/internal/testenv/npm"
)

// mariadb runs the mariadb command-line client in batch mode against addr
// and returns its output (stdout and stderr).
func mariadb(t *testing.T, addr, user, password, db, script string, args ...string) string {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := append([]string{"--no-defaults", "-h", host, "-P", port, "-u", user, "--password=" + password, "--batch", "--force"}, args...)
	all = append(all, db)
	cmd := exec.CommandContext(ctx, "mariadb", all...)
	cmd.Stdin = strings.NewReader(script)
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("mariadb timed out:\n%s", out)
	}
	return string(out)
}

// authMethod is how the session of the last connection authenticated, as
// logged.
func (e *env) authMethods() []string {
	var out []string
	for _, m := range regexp.MustCompile(`msg="session started".* auth=(\S+)`).FindAllStringSubmatch(e.logs.String(), -1) {
		out = append(out, m[1])
	}
	return out
}

func (e *env) lastAuth() string {
	m := e.authMethods()
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1]
}

// TestAuthentication: every way a client can present its token works
// with the method expected (scramble checks against the tokens'
// verifiers, full authentication with the token itself over TLS or RSA,
// cleartext where allowed), and every bad credential (wrong, revoked,
// expired token; unknown user; no access) fails with MySQL's errors.
func TestAuthentication(t *testing.T) {
	db := mydb.New(t)
	db.Exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
	plain := startEnv(t, db, envOptions{})
	secure := startEnv(t, db, envOptions{tls: true})
	clear := startEnv(t, db, envOptions{cleartext: true})

	count := func(t *testing.T, dsn string) error {
		t.Helper()
		c := mydb.Open(t, dsn)
		var n int
		err := c.QueryRow("SELECT count(*) FROM t").Scan(&n)
		if err == nil && n != 2 {
			t.Fatalf("count = %d", n)
		}
		return err
	}

	t.Run("go driver", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			e         *env
			verifiers bool
			params    string
			want      string
		}{
			{"caching_sha2 fast path", plain, true, "", "sha2"},
			{"full authentication with RSA", plain, false, "", "full-rsa"},
			{"full authentication over TLS", secure, false, "tls=skip-verify", "full-tls"},
			{"fast path over TLS", secure, true, "tls=skip-verify", "sha2"},
			{"cleartext from loopback", clear, false, "allowCleartextPasswords=true", "cleartext"},
			{"cleartext over TLS", clear, false, "allowCleartextPasswords=true", "cleartext"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.e.store.setOff(!tc.verifiers)
				defer tc.e.store.setOff(false)
				tok := tc.e.token("alice")
				if err := count(t, tc.e.dsn("alice", tok, tc.params)); err != nil {
					t.Fatal(err)
				}
				if got := tc.e.lastAuth(); got != tc.want {
					t.Fatalf("authenticated with %q, want %q", got, tc.want)
				}
			})
		}
	})

	t.Run("mariadb client", func(t *testing.T) {
		tok := plain.token("alice")
		out := mariadb(t, plain.addr, "alice", tok, "app", "SELECT count(*) AS n FROM t;")
		if out != "n\n2\n" || plain.lastAuth() != "sha2" {
			t.Fatalf("caching_sha2 scramble: %q (%s)", out, plain.lastAuth())
		}
		out = mariadb(t, plain.addr, "alice", tok, "app", "SELECT count(*) AS n FROM t;", "--default-auth=mysql_native_password")
		if out != "n\n2\n" || plain.lastAuth() != "native" {
			t.Fatalf("native scramble: %q (%s)", out, plain.lastAuth())
		}
		secure.store.setOff(true)
		defer secure.store.setOff(false)
		tok = secure.token("alice")
		out = mariadb(t, secure.addr, "alice", tok, "app", "SELECT count(*) AS n FROM t;", "--ssl", "--skip-ssl-verify-server-cert")
		if out != "n\n2\n" || secure.lastAuth() != "full-tls" {
			t.Fatalf("over TLS: %q (%s)", out, secure.lastAuth())
		}
		tok = clear.token("alice")
		out = mariadb(t, clear.addr, "alice", tok, "app", "SELECT count(*) AS n FROM t;")
		if out != "n\n2\n" || clear.lastAuth() != "cleartext" {
			t.Fatalf("cleartext: %q (%s)", out, clear.lastAuth())
		}
	})

	t.Run("refused", func(t *testing.T) {
		ctx := context.Background()
		revoked, revokedID := func() (string, string) {
			s, tok, err := plain.access.IssueTokenDirect(ctx, "alice", 0, "test")
			if err != nil {
				t.Fatal(err)
			}
			return s, tok.ID
		}()
		act, err := plain.access.Authenticate(ctx, revoked)
		if err != nil {
			t.Fatal(err)
		}
		if err := plain.access.RevokeToken(ctx, act, revokedID); err != nil {
			t.Fatal(err)
		}
		expired, _, err := plain.access.IssueTokenDirect(ctx, "alice", time.Second, "test")
		if err != nil {
			t.Fatal(err)
		}
		tokens := map[*env][2]string{}
		for _, e := range []*env{plain, secure} {
			tokens[e] = [2]string{e.token("alice"), e.token("bob")}
		}
		alice, bob := "<alice>", "<bob>"
		time.Sleep(1100 * time.Millisecond)
		for _, tc := range []struct {
			name, user, token, db string
			code                  uint16
			state, msg            string
		}{
			{"wrong token", "alice", "alk_wrong", "app", 1045, "28000", "Access denied for user 'alice'"},
			{"someone else's token", "alice", bob, "app", 1045, "28000", "Access denied for user 'alice'"},
			{"revoked token", "alice", revoked, "app", 1045, "28000", "Access denied for user 'alice'"},
			{"expired token", "alice", expired, "app", 1045, "28000", "Access denied for user 'alice'"},
			{"unknown user", "mallory", alice, "app", 1045, "28000", "Access denied for user 'mallory'"},
			{"empty password", "alice", "", "app", 1045, "28000", "Access denied for user 'alice'"},
			{"unknown database", "alice", alice, "nope", 1049, "42000", "Unknown database 'nope'"},
			{"no access", "bob", bob, "app", 1044, "42000", `has no access to database "app"`},
		} {
			for _, e := range []*env{plain, secure} {
				if e == secure && (tc.token == revoked || tc.token == expired) {
					continue // tokens of the other airlock
				}
				tok := strings.NewReplacer(alice, tokens[e][0], bob, tokens[e][1]).Replace(tc.token)
				for _, verifiers := range []bool{true, false} {
					e.store.setOff(!verifiers)
					params := ""
					if e == secure {
						params = "tls=skip-verify"
					}
					c := mydb.Open(t, mydb.DSN(tc.user, tok, e.addr, tc.db, params))
					err := c.Ping()
					code, state := mydb.Err(err)
					if code != tc.code || state != tc.state || !strings.Contains(err.Error(), tc.msg) {
						t.Errorf("%s (tls %v, verifiers %v): %v", tc.name, e == secure, verifiers, err)
					}
				}
				e.store.setOff(false)
			}
		}
		// The mariadb client sees the same.
		out := mariadb(t, plain.addr, "mallory", tokens[plain][0], "app", "SELECT 1;")
		if !strings.Contains(out, "ERROR 1045 (28000): Access denied for user 'mallory'") {
			t.Errorf("mariadb client, unknown user: %s", out)
		}
		// Cleartext needs TLS or loopback; the message says so (the
		// listener here is loopback, so this is the TLS-less success).
		if out := mariadb(t, clear.addr, "alice", "alk_wrong", "app", "SELECT 1;"); !strings.Contains(out, "ERROR 1045 (28000): Access denied for user 'alice'") {
			t.Errorf("cleartext, wrong token: %s", out)
		}
	})
}

// TestFullAuthenticationOtherClients: Connector/J (with its pipelined
// authentication) and mysql2 complete caching_sha2_password's full
// authentication when no verifier matches: with airlock's RSA key without
// TLS, with the token itself over TLS. (They use the probes of the
// end-to-end tests.)
func TestFullAuthenticationOtherClients(t *testing.T) {
	db := mydb.New(t)
	db.Exec("CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1)")
	modules := npm.NodeModules(t)
	for _, tc := range []struct {
		tls        bool
		jdbcParams string
		want       string
	}{
		{false, "allowPublicKeyRetrieval=true", "full-rsa"},
		{true, "useSsl=true&trustServerCertificate=true", "full-tls"},
	} {
		e := startEnv(t, db, envOptions{tls: tc.tls})
		e.store.setOff(true)
		tok := e.token("alice")
		for _, params := range []string{tc.jdbcParams, tc.jdbcParams + "&usePipelineAuth=false"} {
			out, _ := exec.Command("java", "-cp", "/usr/share/java/mariadb-java-client.jar", "../../e2e/testdata/MysqlProbe.java",
				"jdbc:mariadb://"+e.addr+"/app?"+params, "alice", tok, "read", "SELECT * FROM items").CombinedOutput()
			if !strings.Contains(string(out), "row | Integer:1") || e.lastAuth() != tc.want {
				t.Errorf("Connector/J %s: %s (auth %s)", params, out, e.lastAuth())
			}
		}
		if tc.tls {
			continue // mysql2 is driven without TLS by the probe
		}
		// mysql2 (3.26 and later) asks for the server's RSA key only when
		// allowed to: refused, it says why; allowed, it authenticates.
		host, port, _ := strings.Cut(e.addr, ":")
		mysql2 := func(options string) string {
			cmd := exec.Command("node", "../../e2e/testdata/mysql_probe.js", modules, host, port, "alice", tok, "app", "read", "SELECT * FROM items")
			cmd.Env = append(os.Environ(), "MYSQL2_OPTIONS="+options)
			out, _ := cmd.CombinedOutput()
			return string(out)
		}
		if out := mysql2(`{}`); !strings.Contains(out, "fatal PUBLIC_KEY_RETRIEVAL_NOT_ALLOWED") {
			t.Errorf("mysql2 without allowPublicKeyRetrieval: %s", out)
		}
		if out := mysql2(`{"allowPublicKeyRetrieval": true}`); !strings.Contains(out, "row number:1") || e.lastAuth() != tc.want {
			t.Errorf("mysql2 with allowPublicKeyRetrieval: %s (auth %s)", out, e.lastAuth())
		}
	}
}
