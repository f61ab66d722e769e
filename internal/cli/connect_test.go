package cli_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock"
	"airlock/internal/cli"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// buf is a buffer the CLI writes while the test reads.
type buf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// connect runs `airlock connect` in the background with stdin as the
// client's script.
func connect(t *testing.T, a *testenv.Airlock, token, stdin string, args ...string) (out, errb *buf, done <-chan int) {
	t.Helper()
	out, errb = &buf{}, &buf{}
	dir := t.TempDir()
	app := &cli.App{Stdout: out, Stderr: errb, Stdin: strings.NewReader(stdin), Getenv: func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return dir
		}
		return ""
	}}
	ch := make(chan int, 1)
	go func() {
		ch <- cli.Execute(app, append([]string{"connect", "--server", a.HTTPURL(), "--token", token}, args...))
	}()
	return out, errb, ch
}

func wait(t *testing.T, errb *buf, done <-chan int) int {
	t.Helper()
	select {
	case c := <-done:
		return c
	case <-time.After(60 * time.Second):
		t.Fatalf("airlock connect did not finish:\n%s", errb)
	}
	return -1
}

// connectTokens returns the tokens issued for `airlock connect` to user.
func connectTokens(t *testing.T, a *testenv.Airlock, user string) []*airlock.Token {
	t.Helper()
	toks, err := a.Store.ListTokens(context.Background(), airlock.TokenFilter{User: user})
	if err != nil {
		t.Fatal(err)
	}
	var out []*airlock.Token
	for _, tk := range toks {
		if strings.HasPrefix(tk.Note, "airlock connect") {
			out = append(out, tk)
		}
	}
	return out
}

// approveWhenAsked approves the first pending request as approver.
func approveWhenAsked(t *testing.T, a *testenv.Airlock, approver string, errb *buf) {
	t.Helper()
	bob := a.Actor(a.Token(approver, 0))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rs, err := a.Access.ListRequests(context.Background(), bob, airlock.RequestFilter{State: airlock.RequestPending})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) > 0 && strings.Contains(errb.String(), "waiting for 1 approval(s) from sre") {
			if _, err := a.Access.ApproveRequest(context.Background(), bob, rs[0].ID); err != nil {
				t.Fatal(err)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no request was created, or no progress shown while waiting:\n%s", errb)
}

func TestConnectPostgres(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL); INSERT INTO items VALUES (1, 'a'), (2, 'b')`)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	token := a.Token("alice", 0)

	t.Run("psql", func(t *testing.T) {
		out, errb, done := connect(t, a, token, "SELECT 'rows:' || count(*) AS n FROM items;\nSELECT current_user;\n", "app", "--", "-At")
		if code := wait(t, errb, done); code != 0 {
			t.Fatalf("exit %d:\n%s\n%s", code, out, errb)
		}
		if !strings.Contains(out.String(), "rows:2") {
			t.Fatalf("psql printed:\n%s\n%s", out, errb)
		}
		toks := connectTokens(t, a, "alice")
		if len(toks) != 1 || toks[0].RevokedAt == nil {
			t.Fatalf("connect tokens = %+v, want one, revoked after psql exited", toks)
		}
		if strings.Contains(out.String()+errb.String(), "alk_") {
			t.Fatal("a token was printed")
		}
	})

	t.Run("client exit status", func(t *testing.T) {
		out, errb, done := connect(t, a, token, "SELECT * FROM nosuchtable;\n", "app", "--", "-v", "ON_ERROR_STOP=1")
		if code := wait(t, errb, done); code != 3 {
			t.Fatalf("exit %d, want psql's 3:\n%s\n%s", code, out, errb)
		}
	})

	t.Run("print", func(t *testing.T) {
		out, errb, done := connect(t, a, token, "", "app", "--print")
		if code := wait(t, errb, done); code != 0 {
			t.Fatalf("exit %d:\n%s", code, errb)
		}
		dsn := strings.TrimSpace(out.String())
		if !strings.HasPrefix(dsn, "postgres://alice:alk_") || !strings.HasSuffix(dsn, "@"+a.PostgresAddr.String()+"/app") {
			t.Fatalf("printed %q", dsn)
		}
		c, err := pgx.Connect(context.Background(), dsn+"?sslmode=disable")
		if err != nil {
			t.Fatalf("connect with the printed URL: %v", err)
		}
		c.Close(context.Background())
	})

	t.Run("level write waits for approval", func(t *testing.T) {
		out, errb, done := connect(t, a, token, "INSERT INTO items VALUES (3, 'c');\n", "app", "--level", "write", "--reason", "fix item 3", "--duration", "10m")
		approveWhenAsked(t, a, "bob", errb)
		if code := wait(t, errb, done); code != 0 {
			t.Fatalf("exit %d:\n%s\n%s", code, out, errb)
		}
		if !strings.Contains(errb.String(), "approved: write on app") || !strings.Contains(out.String(), "INSERT 0 1") {
			t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errb)
		}
		if n := db.QueryInt("SELECT count(*) FROM items"); n != 3 {
			t.Fatalf("items = %d, want 3", n)
		}
	})

	t.Run("level write denied", func(t *testing.T) {
		out, errb, done := connect(t, a, token, "INSERT INTO items VALUES (4, 'd');\n", "app", "--level", "write", "--reason", "again")
		bob := a.Actor(a.Token("bob", 0))
		var id string
		for deadline := time.Now().Add(30 * time.Second); id == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			rs, _ := a.Access.ListRequests(context.Background(), bob, airlock.RequestFilter{State: airlock.RequestPending})
			if len(rs) > 0 {
				id = rs[0].ID
			}
		}
		if _, err := a.Access.DenyRequest(context.Background(), bob, id, "not now"); err != nil {
			t.Fatal(err)
		}
		if code := wait(t, errb, done); code == 0 || !strings.Contains(errb.String(), "was denied: not now") {
			t.Fatalf("exit %d:\n%s\n%s", code, out, errb)
		}
		if n := db.QueryInt("SELECT count(*) FROM items"); n != 3 {
			t.Fatalf("items = %d, want 3", n)
		}
	})

	t.Run("unknown database", func(t *testing.T) {
		_, errb, done := connect(t, a, token, "", "nope")
		if code := wait(t, errb, done); code == 0 || !strings.Contains(errb.String(), `no database "nope"`) {
			t.Fatalf("exit %d:\n%s", code, errb)
		}
	})
}

func TestConnectMariaDB(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL) ENGINE=InnoDB")
	db.Exec("INSERT INTO items VALUES (1, 'a'), (2, 'b')")
	a := testenv.StartMySQL(t, db, testenv.Options{LogLevel: "info"})
	token := a.Token("alice", 0)

	t.Run("mariadb", func(t *testing.T) {
		out, errb, done := connect(t, a, token, "SELECT CONCAT('rows:', COUNT(*)) FROM items;\n", "app", "--", "--batch", "--skip-column-names")
		if code := wait(t, errb, done); code != 0 {
			t.Fatalf("exit %d:\n%s\n%s", code, out, errb)
		}
		if strings.TrimSpace(out.String()) != "rows:2" {
			t.Fatalf("mariadb printed:\n%s\n%s", out, errb)
		}
		if toks := connectTokens(t, a, "alice"); len(toks) != 1 || toks[0].RevokedAt == nil {
			t.Fatalf("connect tokens = %+v", toks)
		}
	})

	t.Run("level write", func(t *testing.T) {
		out, errb, done := connect(t, a, token, "INSERT INTO items VALUES (3, 'c');\n", "app", "--level", "write", "--reason", "fix")
		approveWhenAsked(t, a, "bob", errb)
		if code := wait(t, errb, done); code != 0 {
			t.Fatalf("exit %d:\n%s\n%s", code, out, errb)
		}
		if n := db.QueryInt("SELECT COUNT(*) FROM items"); n != 3 {
			t.Fatalf("items = %d, want 3\n%s", n, errb)
		}
	})

	t.Run("print", func(t *testing.T) {
		out, errb, done := connect(t, a, token, "", "app", "--print")
		if code := wait(t, errb, done); code != 0 {
			t.Fatalf("exit %d:\n%s", code, errb)
		}
		u, err := url.Parse(strings.TrimSpace(out.String()))
		if err != nil || u.Scheme != "mysql" || u.Host != a.MySQLAddr.String() || u.Path != "/app" {
			t.Fatalf("printed %q", out)
		}
		pw, _ := u.User.Password()
		pool := testenv.OpenMy(t, testenv.MyDSN(u.User.Username(), pw, u.Host, "app", ""))
		var n int
		if err := pool.QueryRow("SELECT COUNT(*) FROM items").Scan(&n); err != nil || n != 3 {
			t.Fatalf("query with the printed URL: %d %v", n, err)
		}
	})
}
