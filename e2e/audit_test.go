package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"

	"github.com/golang/snappy"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"
)

// TestAuditTail: `airlock audit tail` prints a statement promptly after it runs.
func TestAuditTail(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	cmd := exec.Command(airlockBin, "audit", "tail", "--kind", "statement")
	cmd.Env = append(os.Environ(), "AIRLOCK_SERVER="+a.HTTPURL(), "AIRLOCK_TOKEN="+a.AdminToken, "HOME="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
	defer c.Close(ctx)
	time.Sleep(500 * time.Millisecond) // the tail is connected
	for i := range 3 {
		marker := fmt.Sprintf("tail marker %d %s", i, testenv.RandHex(4))
		start := time.Now()
		if _, err := c.Exec(ctx, "SELECT '"+marker+"'"); err != nil {
			t.Fatal(err)
		}
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("tail ended")
				}
				if strings.Contains(l, marker) {
					t.Logf("printed %s after the statement", time.Since(start))
					break wait
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("statement %d not printed within 3s", i)
			}
		}
	}
}

// TestAuditFailsClosed: while the store refuses events, statements are
// denied with a clear error and no write reaches the database; when it
// recovers, sessions go on and every event is there.
func TestAuditFailsClosed(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec("CREATE TABLE t (id int PRIMARY KEY)")
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	c := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}

	a.SetFailWrites(errors.New("injected: disk full"))
	for i, s := range []string{"INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)", "SELECT count(*) FROM t", "UPDATE t SET id = 4 WHERE id = 1"} {
		_, err := c.Exec(ctx, s)
		if i == 2 && err == nil {
			continue // a read may pass before the writer noticed; its event waits
		}
		if pgCode(err) != "42501" || !strings.Contains(err.Error(), "audit") {
			t.Errorf("%s while the store fails: %v", s, err)
		}
	}
	if n := db.QueryInt("SELECT count(*) FROM t"); n != 1 {
		t.Fatalf("%d rows upstream, want 1: a write went through unaudited", n)
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE id = 4"); n != 0 {
		t.Fatal("the update went through")
	}
	// /healthz says so.
	if code := httpStatus(t, a.HTTPURL()+"/healthz"); code != 503 {
		t.Errorf("healthz while failing: %d", code)
	}

	a.SetFailWrites(nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.Exec(ctx, "INSERT INTO t VALUES (5)")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after recovery: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.Audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventStatement, Decision: airlock.DecisionDenied})
	audited := 0
	for _, e := range evs {
		if e.Rule == airlock.RuleAudit {
			audited++
		}
	}
	if audited < 3 {
		t.Errorf("%d audit denials recorded, want the outage's denials kept", audited)
	}
	if out, err := runCLI(t, a, a.AdminToken, "audit", "verify"); err != nil || !strings.Contains(out, "ok:") {
		t.Fatalf("verify: %v %s", err, out)
	}
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := httpGet(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAuditVerifyDetectsTampering: editing, deleting or swapping events in
// the SQLite file makes `airlock audit verify` fail naming the first bad
// event; an untouched log verifies.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
	for i := range 20 {
		c.Exec(ctx, fmt.Sprintf("SELECT %d", i))
	}
	c.Exec(ctx, "DELETE FROM nothing")
	c.Close(ctx)
	cfg := filepath.Join(a.Dir, "airlock.yaml")
	store := filepath.Join(a.Dir, "airlock.db")
	a.Shutdown(ctx, time.Second)

	verify := func() (string, bool) {
		out := run(t, 30*time.Second, "", nil, "sh", "-c", fmt.Sprintf("%s audit verify --config %s; echo exit=$?", airlockBin, cfg))
		return out, strings.Contains(out, "exit=0")
	}
	if out, ok := verify(); !ok || !strings.Contains(out, "ok:") {
		t.Fatalf("untouched log: %s", out)
	}
	backup, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		os.Remove(store + "-wal")
		os.Remove(store + "-shm")
		if err := os.WriteFile(store, backup, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		edit func(evs map[int64]string)
		want string
	}{
		{"edit", func(evs map[int64]string) {
			for id, e := range evs {
				if strings.Contains(e, `SELECT 7"`) {
					evs[id] = strings.Replace(e, "SELECT 7", "SELECT 8", 1)
					return
				}
			}
			t.Fatal("no event of SELECT 7")
		}, "edited"},
		{"delete", func(evs map[int64]string) { delete(evs, 10) }, "event 11"},
		{"swap", func(evs map[int64]string) { evs[12], evs[13] = evs[13], evs[12] }, "event 13"},
		{"insert", func(evs map[int64]string) { evs[1000] = strings.Replace(evs[5], `"id":5,`, `"id":1000,`, 1) }, "event 1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			restore()
			tamperEvents(t, store, tc.edit)
			out, ok := verify()
			if ok || !strings.Contains(out, "audit chain broken at event") || !strings.Contains(out, tc.want) {
				t.Fatalf("verify after %s: %s", tc.name, out)
			}
		})
	}
}

// tamperEvents edits the audit events stored in the SQLite file at path as
// someone with write access to the file could: edit gets every event's JSON
// by its place in the store and changes, deletes or adds entries; the store
// is rewritten with one event per batch (see the store's migration 0006).
func tamperEvents(t *testing.T, path string, edit func(evs map[int64]string)) {
	t.Helper()
	d := openSQLite(t, path)
	defer d.Close()
	rows, err := d.Query(`SELECT enc, data FROM event_data ORDER BY first_id`)
	if err != nil {
		t.Fatal(err)
	}
	evs := map[int64]string{}
	for rows.Next() {
		var (
			enc  int
			data []byte
		)
		if err := rows.Scan(&enc, &data); err != nil {
			t.Fatal(err)
		}
		if enc == 1 {
			if data, err = snappy.Decode(nil, data); err != nil {
				t.Fatal(err)
			}
		}
		for _, line := range strings.Split(string(data), "\n") {
			var e struct{ ID int64 }
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatal(err)
			}
			evs[e.ID] = line
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	edit(evs)
	for _, q := range []string{`DELETE FROM event_keys`, `DELETE FROM event_data`, `DELETE FROM event_batches`} {
		if _, err := d.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for id, line := range evs {
		if _, err := d.Exec(`INSERT INTO event_batches (first_id, last_id, events) VALUES (?, ?, 1)`, id, id); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(`INSERT INTO event_data (first_id, enc, data) VALUES (?, 0, ?)`, id, line); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditSurvivesKill: under a concurrent write load through airlock,
// the gateway is killed with SIGKILL; after a restart, every row committed
// upstream has its statement event in the audit.
func TestAuditSurvivesKill(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec("CREATE TABLE load (id int PRIMARY KEY, who int)")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "airlock.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: {postgres: "127.0.0.1:0", http: "127.0.0.1:0"}
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
	admin := "alk_" + testenv.RandHex(24)
	start := func() (*exec.Cmd, string, string) {
		cmd := exec.Command(airlockBin, "serve", "--config", cfgPath)
		cmd.Env = append(os.Environ(), "AIRLOCK_BOOTSTRAP_TOKEN="+admin)
		addrs, _ := runServe(t, cmd, nil, "PostgreSQL clients", "HTTP")
		return cmd, addrs["PostgreSQL clients"], addrs["HTTP"]
	}
	cmd, pgAddr, httpAddr := start()
	tok := run(t, 30*time.Second, "", []string{"AIRLOCK_SERVER=http://" + httpAddr, "AIRLOCK_TOKEN=" + admin}, airlockBin, "tokens", "issue", "--user", "wanda")
	tok = strings.TrimSpace(tok)

	var next atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg, _ := pgx.ParseConfig(fmt.Sprintf("postgres://wanda:%s@%s/app?sslmode=disable", tok, pgAddr))
			cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
			c, err := pgx.ConnectConfig(context.Background(), cfg)
			if err != nil {
				return
			}
			defer c.Close(context.Background())
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := next.Add(1)
				if _, err := c.Exec(context.Background(), fmt.Sprintf("INSERT INTO load VALUES (%d, %d)", id, w)); err != nil {
					return // the gateway is gone
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	close(stop)
	wg.Wait()
	committed := db.QueryInt("SELECT count(*) FROM load")
	if committed < 20 {
		t.Fatalf("only %d rows committed before the kill; the load did not run", committed)
	}

	cmd, _, httpAddr = start()
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	out := run(t, 60*time.Second, "", []string{"AIRLOCK_SERVER=http://" + httpAddr, "AIRLOCK_TOKEN=" + admin}, airlockBin,
		"audit", "export", "--kind", "statement", "--decision", "allowed", "--contains", "INSERT INTO load")
	audited := map[string]bool{}
	re := regexp.MustCompile(`INSERT INTO load VALUES \((\d+),`)
	for _, line := range strings.Split(out, "\n") {
		if m := re.FindStringSubmatch(line); m != nil && strings.Contains(line, `"action":"executed"`) {
			audited[m[1]] = true
		}
	}
	c := testenv.Connect(t, testenv.AdminURL(db.Name))
	defer c.Close(context.Background())
	rows, err := c.Query(context.Background(), "SELECT id FROM load")
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		if !audited[fmt.Sprint(id)] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d committed rows have no audit event", missing, committed)
	}
	t.Logf("%d rows committed before SIGKILL, all audited (%d insert events)", committed, len(audited))
	if v := run(t, 30*time.Second, "", []string{"AIRLOCK_SERVER=http://" + httpAddr, "AIRLOCK_TOKEN=" + admin}, airlockBin, "audit", "verify"); !strings.Contains(v, "ok:") {
		t.Fatalf("verify after the crash: %s", v)
	}
}

// openSQLite opens a store file directly, as someone tampering with it would.
func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	d, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
