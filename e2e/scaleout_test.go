package e2e

import (
	"context"
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
	"airlock/internal/store/postgres"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// gatewayProc is an `airlock serve` subprocess.
type gatewayProc struct {
	cmd          *exec.Cmd
	pg, http, id string
	exited       chan struct{}
}

// startGateway runs `airlock serve --config cfg` and waits until it
// listens; it is stopped when t ends.
func startGateway(t *testing.T, cfg string, env ...string) *gatewayProc {
	t.Helper()
	cmd := exec.Command(airlockBin, "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), env...)
	g := &gatewayProc{cmd: cmd, exited: make(chan struct{})}
	joined := regexp.MustCompile(`msg="joined the gateways sharing the store" gateway=(\S+)`)
	var mu sync.Mutex
	addrs, ended := runServe(t, cmd, func(line string) {
		if m := joined.FindStringSubmatch(line); m != nil {
			mu.Lock()
			g.id = m[1]
			mu.Unlock()
		}
	}, "PostgreSQL clients", "HTTP")
	g.pg, g.http = addrs["PostgreSQL clients"], addrs["HTTP"]
	go func() {
		<-ended
		cmd.Wait()
		close(g.exited)
	}()
	mu.Lock()
	id := g.id
	mu.Unlock()
	if id == "" {
		cmd.Process.Kill()
		t.Fatal("airlock did not start as a gateway of the shared store")
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-g.exited
		}
	})
	return g
}

// sharedConfig writes a config for the upstream db and the PostgreSQL
// store at storeURL and returns its path.
func sharedConfig(t *testing.T, db *testenv.DB, storeURL string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "airlock.yaml")
	err := os.WriteFile(path, []byte(fmt.Sprintf(`listen: {postgres: "127.0.0.1:0", http: "127.0.0.1:0"}
store: %q
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
`, storeURL, testenv.DefaultUsers, testenv.DefaultPolicies, testenv.PGAddr, db.Name, testenv.RoleRO, testenv.RoleRW)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestScaleOutGatewayKilled: three gateway processes share a PostgreSQL
// store behind a TCP balancer; under a write and read load through all of
// them one is killed with SIGKILL. Clients reconnect through the balancer
// to the others, every acknowledged write is in the audit, the chain
// verifies, and once the dead gateway's lease expires its sessions are
// marked ended ("gateway lost").
func TestScaleOutGatewayKilled(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec("CREATE TABLE load (id int PRIMARY KEY, who int)")
	storeDB := testenv.NewDB(t)
	storeURL := testenv.AdminURL(storeDB.Name)
	cfg := sharedConfig(t, db, storeURL)
	admin := "alk_" + testenv.RandHex(24)
	var gws []*gatewayProc
	var backends []string
	for range 3 {
		g := startGateway(t, cfg, "AIRLOCK_BOOTSTRAP_TOKEN="+admin)
		gws = append(gws, g)
		backends = append(backends, g.pg)
	}
	lb := newProxy(t, backends...)
	tok := strings.TrimSpace(run(t, 30*time.Second, "", []string{"AIRLOCK_SERVER=http://" + gws[1].http, "AIRLOCK_TOKEN=" + admin},
		airlockBin, "tokens", "issue", "--user", "wanda"))

	var (
		next       atomic.Int64
		acked      sync.Map // id -> true: the INSERT returned success
		reconnects atomic.Int64
		afterKill  atomic.Int64 // writes acknowledged after the kill
		killed     atomic.Bool
		wg         sync.WaitGroup
	)
	deadline := time.Now().Add(6 * time.Second)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *pgx.Conn
			defer func() {
				if c != nil {
					c.Close(context.Background())
				}
			}()
			for time.Now().Before(deadline) {
				if c == nil {
					cfg, _ := pgx.ParseConfig(fmt.Sprintf("postgres://wanda:%s@%s/app?sslmode=disable&connect_timeout=5", tok, lb.Addr()))
					cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
					var err error
					if c, err = pgx.ConnectConfig(context.Background(), cfg); err != nil {
						c = nil
						time.Sleep(50 * time.Millisecond)
						continue
					}
					reconnects.Add(1)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				id := next.Add(1)
				_, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO load VALUES (%d, %d)", id, w))
				if err == nil {
					acked.Store(id, true)
					if killed.Load() {
						afterKill.Add(1)
					}
					var n int64
					err = c.QueryRow(ctx, "SELECT count(*) FROM load WHERE who = $1", w).Scan(&n)
				}
				cancel()
				if err != nil {
					c.Close(context.Background())
					c = nil
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	victim := gws[0]
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	killed.Store(true)
	killedAt := time.Now()
	wg.Wait()

	nAcked := 0
	acked.Range(func(_, _ any) bool { nAcked++; return true })
	t.Logf("%d writes acknowledged, %d after the kill, %d connections made", nAcked, afterKill.Load(), reconnects.Load())
	if nAcked < 20 || afterKill.Load() == 0 || reconnects.Load() <= 6 {
		t.Fatalf("the load did not carry on through the other gateways (%d acknowledged, %d after the kill, %d connections)",
			nAcked, afterKill.Load(), reconnects.Load())
	}

	// Every acknowledged write has its executed statement event.
	ctx := context.Background()
	st, err := postgres.Open(ctx, storeURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	audited := map[int64]bool{}
	re := regexp.MustCompile(`^INSERT INTO load VALUES \((\d+),`)
	err = st.ScanEvents(ctx, airlock.EventFilter{Type: airlock.EventStatement, Decision: airlock.DecisionAllowed, Contains: "INSERT INTO load"}, func(e *airlock.Event) error {
		if m := re.FindStringSubmatch(e.Text); m != nil && e.Action == airlock.ActionExecuted {
			var id int64
			fmt.Sscan(m[1], &id)
			audited[id] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	acked.Range(func(k, _ any) bool {
		if !audited[k.(int64)] {
			t.Errorf("acknowledged write %d has no executed event in the audit", k)
		}
		return true
	})

	// One chain, verified from the store through the CLI.
	out := run(t, 60*time.Second, "", nil, airlockBin, "audit", "verify", "--config", cfg)
	if !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("audit verify:\n%s", out)
	}
	t.Logf("audit verify: %s", strings.TrimSpace(out))

	// The dead gateway's sessions end once its lease expires.
	pool := st.Pool()
	var open, lost int
	for time.Since(killedAt) < 30*time.Second {
		if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE ended_at IS NULL), count(*) FILTER (WHERE end_reason = 'gateway lost')
			FROM sessions WHERE gateway = $1`, victim.id).Scan(&open, &lost); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if open != 0 || lost == 0 {
		t.Fatalf("the killed gateway's sessions: %d still open, %d ended as lost", open, lost)
	}
	t.Logf("the killed gateway's %d sessions were marked lost %s after the kill", lost, time.Since(killedAt).Round(time.Millisecond))
	closedLost := 0
	for start := time.Now(); closedLost != lost && time.Since(start) < 10*time.Second; time.Sleep(100 * time.Millisecond) {
		evs, err := st.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventSession, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		closedLost = 0
		for _, e := range evs {
			if e.Action == "closed" && e.Detail["reason"] == "gateway lost" {
				closedLost++
			}
		}
	}
	if closedLost != lost {
		t.Fatalf("%d sessions ended as lost, %d audited as closed for it", lost, closedLost)
	}
}
