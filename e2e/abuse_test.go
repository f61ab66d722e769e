package e2e

import (
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
	pgAddr, httpAddr, admin, _ = startServe(t, nofile, db, "")
	return pgAddr, httpAddr, admin
}

// startServe is startLimited with extra YAML, returning the process id.
func startServe(t *testing.T, nofile int, db *testenv.DB, extra string) (pgAddr, httpAddr, admin string, pid int) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "airlock.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: {postgres: "127.0.0.1:0", http: "127.0.0.1:0"}
%s%s%s
databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
`, extra, testenv.DefaultUsers, testenv.DefaultPolicies, testenv.PGAddr, db.Name, testenv.RoleRO, testenv.RoleRW)), 0o600)
	admin = "alk_" + testenv.RandHex(24)
	cmd := exec.Command("prlimit", fmt.Sprintf("--nofile=%d:%d", nofile, nofile), airlockBin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "AIRLOCK_BOOTSTRAP_TOKEN="+admin)
	addrs, _ := runServe(t, cmd, nil, "PostgreSQL clients", "HTTP")
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() })
	return addrs["PostgreSQL clients"], addrs["HTTP"], admin, cmd.Process.Pid
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
	// Once airlock has taken the flood in (a loaded machine takes a
	// while), the listener's share is spent: a new client is refused.
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var c *pgx.Conn
		c, err = pgx.Connect(ctx, url)
		cancel()
		if err != nil {
			break
		}
		c.Close(context.Background())
	}
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

// peakRSS returns the peak resident memory of process pid in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	var kb int64
	fmt.Sscan(string(m[1]), &kb)
	return kb << 10
}

// TestStatementMemory: sixteen sessions sending 8 MB statements at once
// (128 MB of text in flight) keep the gateway's peak memory bounded by the
// statement memory budget (here 32 MiB: four at a time, the others wait
// their turn) and every statement is answered.
func TestStatementMemory(t *testing.T) {
	db := testenv.NewDB(t)
	pgAddr, httpAddr, admin, pid := startServe(t, 4096, db, "limits: {statement_memory: 33554432}\n")
	tok := strings.TrimSpace(run(t, 30*time.Second, "", []string{"AIRLOCK_SERVER=http://" + httpAddr, "AIRLOCK_TOKEN=" + admin}, airlockBin, "tokens", "issue", "--user", "alice"))
	url := fmt.Sprintf("postgres://alice:%s@%s/app?sslmode=disable", tok, pgAddr)
	before := peakRSS(t, pid)
	stmt := bigComment(8 << 20)
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			c, err := pgx.Connect(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close(context.Background())
			for range 2 {
				if _, err := c.Exec(ctx, stmt, pgx.QueryExecModeSimpleProtocol); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatalf("an 8 MB statement: %v", err)
		}
	}
	peak := peakRSS(t, pid)
	t.Logf("peak RSS %d MiB before, %d MiB after 32 statements of 8 MB, 16 at once", before>>20, peak>>20)
	// Without the budget (statement_memory: 1 GiB) the same load peaks
	// at about 740 MiB; with it, at about 260 MiB.
	if peak > 400<<20 {
		t.Fatalf("peak RSS %d MiB, want under 400 MiB", peak>>20)
	}
	// Once idle, the memory the statements held goes back to the
	// operating system: Go's runtime would keep it for minutes. (About
	// 100 MiB stay: 170 MiB here after a 300 MiB peak.)
	deadline := time.Now().Add(30 * time.Second)
	for {
		rss := procRSS(t, pid)
		if rss < peak-96<<20 {
			t.Logf("RSS %d MiB once idle", rss>>20)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("RSS still %d MiB 30 s after the statements (peak %d MiB), want at least 96 MiB given back", rss>>20, peak>>20)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// procRSS returns the resident memory of process pid now.
func procRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	var kb int64
	fmt.Sscan(string(m[1]), &kb)
	return kb << 10
}

// TestHealthzWhileListenerDown: when the process runs out of descriptors,
// the PostgreSQL accept loop waits (and comes back), and /healthz, asked
// on a connection opened before, answers 503 naming the listener until it
// accepts again.
func TestHealthzWhileListenerDown(t *testing.T) {
	db := testenv.NewDB(t)
	// So low a limit that the database listener's share (24 here: shares
	// are computed as if 64 descriptors were free) is more than what the
	// process's own descriptors (about 16: standard streams, the store, the
	// listeners, the poller) leave: accept itself fails with EMFILE rather
	// than the listener refusing above its share.
	pgAddr, httpAddr, _, pid := startServe(t, 30, db, "")
	fds := func() int { es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); return len(es) }
	t.Logf("baseline fds %d", fds())
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}}
	get := func() (int, string) {
		t.Helper()
		resp, err := hc.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			t.Fatalf("healthz: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 200 {
		t.Fatalf("healthz before: %d %s", code, body)
	}
	// Idle connections until accept fails, and a few more waiting in the
	// backlog.
	pf := flood(t, pgAddr, 60)
	defer closeAll(pf)
	time.Sleep(500 * time.Millisecond)
	t.Logf("flood %d fds %d", len(pf), fds())
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get()
		if code == 503 && strings.Contains(body, "postgres") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz while out of descriptors (%d open): %d %s, want 503 naming postgres", fds(), code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	closeAll(pf)
	pf = nil
	deadline = time.Now().Add(30 * time.Second)
	for {
		// A connection accepted again brings the listener back.
		if c, err := net.DialTimeout("tcp", pgAddr, 5*time.Second); err == nil {
			c.Close()
		}
		if code, _ := get(); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			code, body := get()
			t.Fatalf("healthz after the flood: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestUpstreamConnectTimeout: an upstream that accepts and never answers
// does not hold the login: the client gets a connection error after the
// connect timeout, on both engines.
func TestUpstreamConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never answered
		}
	}()
	silent := ln.Addr().String()
	t.Run("postgres", func(t *testing.T) {
		db := testenv.NewDB(t)
		a := testenv.Start(t, db, testenv.Options{Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: x}
`, silent, db.Name, testenv.RoleRO)})
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		_, err := pgx.Connect(ctx, a.URL("alice", a.Token("alice", 0), "app"))
		if pgCode(err) != "08001" {
			t.Fatalf("login with a silent upstream: %v, want 08001", err)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		my := testenv.NewMyDB(t)
		a := testenv.StartMySQL(t, my, testenv.Options{Databases: strings.Replace(testenv.MyDatabases(my.Name, ""), testenv.MyAddr, silent, 1)})
		d := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", "timeout=90s"))
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		err := d.PingContext(ctx)
		if code, _ := testenv.MyErr(err); code == 0 || !strings.Contains(err.Error(), "cannot connect") {
			t.Fatalf("login with a silent upstream: %v, want airlock's cannot connect error", err)
		}
	})
}

// TestPermissionWarning: a TLS key readable by others is reported at
// start.
func TestPermissionWarning(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	os.Chmod(key, 0o644)
	a := testenv.Start(t, testenv.NewDB(t), testenv.Options{Extra: fmt.Sprintf("tls: {cert_file: %q, key_file: %q}\n", cert, key)})
	logs := a.Logs()
	if !strings.Contains(logs, "readable or writable by other users") || !strings.Contains(logs, "what=tls.key_file") {
		t.Fatalf("no warning about the TLS key's mode in:\n%s", logs)
	}
	if strings.Contains(logs, "what=config") {
		t.Fatal("the config (mode 0600) was reported")
	}
}

// TestHTTPSlowBody: a client that sends its headers and then its body
// slowly (here: never) is cut off after the request read timeout instead
// of holding the connection for minutes.
func TestHTTPSlowBody(t *testing.T) {
	a := testenv.Start(t, testenv.NewDB(t), testenv.Options{})
	c, err := net.Dial("tcp", a.HTTPAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user\":")
	c.SetReadDeadline(time.Now().Add(3 * time.Minute))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("the slow request was not cut off: %v", err)
	}
}

// TestMySQLFloodUnderLowDescriptorLimit: under a descriptor limit of 256,
// unauthenticated connections flooding the MySQL listener stay within its
// share: a client above it gets ERR 1040 at once, the health check still
// answers, and the listener takes clients again once the flood ends.
func TestMySQLFloodUnderLowDescriptorLimit(t *testing.T) {
	my := testenv.NewMyDB(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "airlock.yaml")
	os.WriteFile(cfgPath, []byte(`listen: {mysql: "127.0.0.1:0", http: "127.0.0.1:0"}
`+testenv.DefaultUsers+testenv.DefaultPolicies+testenv.MyDatabases(my.Name, "")), 0o600)
	admin := "alk_" + testenv.RandHex(24)
	cmd := exec.Command("prlimit", "--nofile=256:256", airlockBin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "AIRLOCK_BOOTSTRAP_TOKEN="+admin)
	addrs, _ := runServe(t, cmd, nil, "MySQL clients", "HTTP")
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() })
	myAddr, httpAddr := addrs["MySQL clients"], addrs["HTTP"]
	tok := strings.TrimSpace(run(t, 30*time.Second, "", []string{"AIRLOCK_SERVER=http://" + httpAddr, "AIRLOCK_TOKEN=" + admin}, airlockBin, "tokens", "issue", "--user", "alice"))
	ping := func() error {
		d := testenv.OpenMy(t, testenv.MyDSN("alice", tok, myAddr, "app", "timeout=20s"))
		defer d.Close()
		var n int
		return d.QueryRow("SELECT 41 + 1").Scan(&n)
	}
	if err := ping(); err != nil {
		t.Fatalf("before the flood: %v", err)
	}
	mf := flood(t, myAddr, 600)
	// Once airlock has taken the flood in, a new client is refused.
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err = ping(); err != nil {
			break
		}
	}
	if code, _ := testenv.MyErr(err); code != 1040 {
		t.Errorf("during a MySQL flood: %v, want ERR 1040 too many connections", err)
	}
	resp, herr := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + httpAddr + "/healthz")
	if herr != nil || resp.StatusCode != 200 {
		t.Errorf("healthz during a MySQL flood: %v %v", herr, resp)
	} else {
		resp.Body.Close()
	}
	closeAll(mf)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := ping()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MySQL listener did not come back after the flood: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHTTPBodyLimit: a request body over 1 MiB is refused with 413 before
// any handler reads it.
func TestHTTPBodyLimit(t *testing.T) {
	a := testenv.Start(t, testenv.NewDB(t), testenv.Options{})
	resp, err := http.Post(a.HTTPURL()+"/api/v1/tokens", "application/json", strings.NewReader(strings.Repeat(" ", 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB body: %d, want 413", resp.StatusCode)
	}
}
