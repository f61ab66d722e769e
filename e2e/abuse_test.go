package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// startLimited runs airlock serve under a descriptor limit of nofile
// (prlimit), and returns its PostgreSQL and HTTP addresses and an admin
// token. The process is killed at the end of the test.
func startLimited(t *testing.T, nofile int, db *testenv.DB) (pgAddr, httpAddr, admin string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "airlock.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: {postgres: "127.0.0.1:0", http: "127.0.0.1:0"}
limits: {auth_timeout: 5m}
%s%s
databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
`, testenv.DefaultUsers, testenv.DefaultPolicies, testenv.PGAddr, db.Name, testenv.RoleRO, testenv.RoleRW)), 0o600)
	admin = "alk_" + testenv.RandHex(24)
	cmd := exec.Command("prlimit", fmt.Sprintf("--nofile=%d:%d", nofile, nofile), airlockBin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "AIRLOCK_BOOTSTRAP_TOKEN="+admin)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() })
	re := regexp.MustCompile(`msg="listening for (PostgreSQL clients|HTTP)" addr=(\S+)`)
	sc := bufio.NewScanner(stderr)
	for (pgAddr == "" || httpAddr == "") && sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			if m[1] == "HTTP" {
				httpAddr = m[2]
			} else {
				pgAddr = m[2]
			}
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if pgAddr == "" || httpAddr == "" {
		t.Fatal("airlock did not start")
	}
	return pgAddr, httpAddr, admin
}

// flood opens n idle TCP connections to addr (as many as it can) and
// returns them; the test closes them.
func flood(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var cs []net.Conn
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			break
		}
		cs = append(cs, c)
	}
	return cs
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		c.Close()
	}
}

// TestFloodUnderLowDescriptorLimit: under a descriptor limit of 256, a
// flood of idle connections on the HTTP listener (and then on the
// PostgreSQL listener) stays within that listener's share: a database
// client still connects and queries during the HTTP flood, the health
// check still answers during the PostgreSQL flood, the flooded listener
// answers connections above its share with a clear error, and every accept
// loop is alive afterwards.
func TestFloodUnderLowDescriptorLimit(t *testing.T) {
	db := testenv.NewDB(t)
	pgAddr, httpAddr, admin := startLimited(t, 256, db)
	tok := strings.TrimSpace(run(t, 30*time.Second, "", []string{"AIRLOCK_SERVER=http://" + httpAddr, "AIRLOCK_TOKEN=" + admin}, airlockBin, "tokens", "issue", "--user", "alice"))
	url := fmt.Sprintf("postgres://alice:%s@%s/app?sslmode=disable", tok, pgAddr)
	query := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("%s: connect: %v", what, err)
		}
		defer c.Close(context.Background())
		var n int
		if err := c.QueryRow(ctx, "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
			t.Fatalf("%s: query: %v (%d)", what, err, n)
		}
	}
	health := func() (int, string) {
		t.Helper()
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			t.Fatalf("healthz: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	query("before the flood")

	// HTTP flood: far more idle connections than the whole limit.
	hf := flood(t, httpAddr, 600)
	if len(hf) < 300 {
		t.Fatalf("only %d connections opened", len(hf))
	}
	query("during an HTTP flood")
	closeAll(hf)

	// PostgreSQL flood of unauthenticated connections.
	pf := flood(t, pgAddr, 600)
	// Wait until the listener's share is taken (the refused ones are
	// closed by airlock: a read sees EOF or an error message).
	time.Sleep(500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	_, err := pgx.Connect(ctx, url)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "53300") {
		t.Errorf("connect during a PostgreSQL flood: %v, want SQLSTATE 53300 too many connections", err)
	}
	if code, body := health(); code != 200 {
		t.Errorf("healthz during a PostgreSQL flood: %d %s", code, body)
	}
	closeAll(pf)

	// Every listener is back.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := pgx.Connect(ctx, url)
		cancel()
		if err == nil {
			c.Close(context.Background())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL listener did not come back after the flood: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	query("after the floods")
	if code, body := health(); code != 200 {
		t.Errorf("healthz after the floods: %d %s", code, body)
	}
}

// TestHTTPSlowHeaders: a client that sends part of its request headers
// and stalls is cut off (ReadHeaderTimeout) instead of holding its
// connection for minutes.
func TestHTTPSlowHeaders(t *testing.T) {
	a := testenv.Start(t, testenv.NewDB(t), testenv.Options{})
	c, err := net.Dial("tcp", a.HTTPAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	start := time.Now()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the slow client was not cut off (%v after %s)", err, time.Since(start))
	}
	if strings.Contains(string(b), "200 OK") {
		t.Fatalf("an incomplete request was answered: %q", b)
	}
}

// TestPreAuthTimeout: a client that connects and never authenticates is
// disconnected after limits.auth_timeout, on both database listeners.
func TestPreAuthTimeout(t *testing.T) {
	o := testenv.Options{Extra: "limits: {auth_timeout: 2s}\n"}
	pg := testenv.Start(t, testenv.NewDB(t), o)
	my := testenv.StartMySQL(t, testenv.NewMyDB(t), o)
	for _, tc := range []struct {
		name string
		addr net.Addr
	}{{"postgres", pg.PostgresAddr}, {"mysql", my.MySQLAddr}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", tc.addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(time.Minute))
			_, err = io.Copy(io.Discard, c) // MySQL's greeting, then EOF
			if err != nil {
				t.Fatalf("the connection was not closed before the client's minute: %v", err)
			}
		})
	}
}

// TestTLSRequire: with tls.require, database clients without TLS are
// refused before they authenticate (PostgreSQL 28000, MySQL 3159, naming
// the setting), clients with TLS get in, and listen.http_tls serves the
// API over HTTPS.
func TestTLSRequire(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	o := testenv.Options{
		Extra:  fmt.Sprintf("tls: {cert_file: %q, key_file: %q, require: true}\n", cert, key),
		Listen: `{postgres: "127.0.0.1:0", http: "127.0.0.1:0", http_tls: true}`,
	}
	pg := testenv.Start(t, testenv.NewDB(t), o)
	o.Listen = ""
	my := testenv.StartMySQL(t, testenv.NewMyDB(t), o)

	t.Run("postgres", func(t *testing.T) {
		tok := pg.Token("alice", 0)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := pgx.Connect(ctx, fmt.Sprintf("postgres://alice:%s@%s/app?sslmode=disable", tok, pg.PostgresAddr))
		if err == nil || pgCode(err) != "28000" || !strings.Contains(err.Error(), "tls.require") {
			t.Fatalf("without TLS: %v, want 28000 naming tls.require", err)
		}
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://alice:%s@%s/app?sslmode=require", tok, pg.PostgresAddr))
		if err != nil {
			t.Fatalf("with TLS: %v", err)
		}
		c.Close(ctx)
	})
	t.Run("mysql", func(t *testing.T) {
		tok := my.Token("alice", 0)
		d := testenv.OpenMy(t, my.MyDSN("alice", tok, "app", ""))
		err := d.Ping()
		if code, _ := testenv.MyErr(err); code != 3159 || !strings.Contains(err.Error(), "tls.require") {
			t.Fatalf("without TLS: %v, want ERROR 3159 naming tls.require", err)
		}
		d = testenv.OpenMy(t, my.MyDSN("alice", tok, "app", "tls=skip-verify"))
		if err := d.Ping(); err != nil {
			t.Fatalf("with TLS: %v", err)
		}
	})
	t.Run("https", func(t *testing.T) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := c.Get("https://" + pg.HTTPAddr.String() + "/healthz")
		if err != nil {
			t.Fatalf("https: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("https healthz: %d", resp.StatusCode)
		}
		if resp, err := http.Get("http://" + pg.HTTPAddr.String() + "/healthz"); err == nil && resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200 on an https listener")
		}
	})
}
