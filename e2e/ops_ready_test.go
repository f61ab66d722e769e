package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
)

// TestReadyz: /readyz answers 200 while the store and the audit writer
// take writes, and 503 naming which one refuses, using the store's
// fault-injection hook; /healthz is unaffected by a store that only
// refuses writes while the audit writer has nothing to write.
func TestReadyz(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY)`)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get(a.HTTPURL() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitReady := func(want int, body string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, got := get()
			if code == want && strings.Contains(got, body) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz: %d %q, want %d %q", code, got, want, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code, body := get(); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz: %d %q", code, body)
	}

	c := testenv.Connect(t, a.URL("alice", a.Token("alice", time.Hour), "app"))
	// The store refuses writes: not ready, though nothing was written yet.
	a.SetFailWrites(errors.New("injected: disk full"))
	if code, body := get(); code != 503 || !strings.Contains(body, "the store does not accept writes") || strings.Contains(body, "injected") {
		t.Fatalf("/readyz with a failing store: %d %q", code, body)
	}
	// A statement makes the audit writer fail too: it says so first.
	c.Exec(context.Background(), "SELECT 1") // its event cannot be written
	waitReady(503, "the audit log cannot record events")

	// Recovered: ready again once the writer has written what it held.
	a.SetFailWrites(nil)
	waitReady(200, "ready\n")
	if _, err := c.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatalf("select after recovery: %v", err)
	}
}
