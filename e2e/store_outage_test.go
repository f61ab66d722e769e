package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"airlock/internal/audit"
	"airlock/internal/testenv"
)

// readyz returns the status and body of the gateway's /readyz.
func readyz(t *testing.T, a *testenv.Airlock) (int, string) {
	t.Helper()
	resp, err := http.Get(a.HTTPURL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStoreOutageFailsClosed: a gateway whose PostgreSQL store becomes
// unreachable (the TCP proxy in front of it is cut) denies statements with
// a clear message and says so at /readyz; when the store is back it
// recovers by itself, and the audit chain verifies.
func TestStoreOutageFailsClosed(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec("CREATE TABLE items (id int PRIMARY KEY)")
	storeDB := testenv.NewDB(t)
	proxy := newProxy(t, testenv.PGAddr)
	storeURL := fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&connect_timeout=2", proxy.Addr(), storeDB.Name)
	a := testenv.Start(t, db, testenv.Options{Extra: fmt.Sprintf("store: %q\n", storeURL)})
	ctx := context.Background()
	c := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "INSERT INTO items VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if code, body := readyz(t, a); code != http.StatusOK {
		t.Fatalf("readyz before the outage: %d %s", code, body)
	}

	proxy.Cut()
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err := c.Exec(qctx, "INSERT INTO items VALUES (2)")
	cancel()
	if err == nil || !strings.Contains(err.Error(), "audit log cannot record") {
		t.Fatalf("a write while the store is unreachable: %v, want a denial naming the audit log", err)
	}
	if n := db.QueryInt("SELECT count(*) FROM items WHERE id = 2"); n != 0 {
		t.Fatal("the write reached the database while its event could not be recorded")
	}
	if _, err := c.Exec(ctx, "SELECT count(*) FROM items"); err == nil || !strings.Contains(err.Error(), "audit log cannot record") {
		t.Fatalf("a read while the store is unreachable: %v, want a denial", err)
	}
	code, body := readyz(t, a)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store is unreachable") {
		t.Fatalf("readyz during the outage: %d %s", code, body)
	}

	proxy.Restore()
	var lastErr error
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		if _, lastErr = c.Exec(ctx, "INSERT INTO items VALUES (3)"); lastErr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("the gateway did not recover after the store came back: %v", lastErr)
	}
	t.Logf("recovered %s after the store came back", time.Since(start).Round(time.Millisecond))
	if code, body := readyz(t, a); code != http.StatusOK {
		t.Fatalf("readyz after the outage: %d %s", code, body)
	}
	if err := a.Audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, a.Store)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil {
		t.Fatalf("chain after the outage: %+v", rep.Problem)
	}
}
