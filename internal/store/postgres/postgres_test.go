package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"airlock"
	"airlock/internal/store/storetest"

	"github.com/jackc/pgx/v5"
)

// serverURL is the PostgreSQL server the tests use (SPEC §12).
const serverURL = "postgres://postgres@127.0.0.1:5432/%s?sslmode=disable"

// newDatabase creates an empty database, dropped when t ends, and returns
// its URL.
func newDatabase(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "airlock_store_" + hex.EncodeToString(b)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, fmt.Sprintf(serverURL, "postgres"))
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, fmt.Sprintf(serverURL, "postgres"))
		if err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	return fmt.Sprintf(serverURL, name)
}

// open opens a store on a fresh database, closed at the end of t.
func open(t testing.TB, o Options) (*DB, string) {
	t.Helper()
	url := newDatabase(t)
	db, err := Open(context.Background(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, url
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) airlock.Store {
		db, err := Open(t.Context(), newDatabase(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestReopenAndSettings(t *testing.T) {
	db, url := open(t, Options{})
	ctx := t.Context()
	var sync string
	if err := db.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if sync != "on" {
		t.Fatalf("synchronous_commit = %q, want on", sync)
	}
	must(t, db.CreateUser(ctx, &airlock.User{Name: "alice"}))
	// Opening again (and twice at once, as gateways starting together
	// do) applies nothing twice and keeps the data.
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			db2, err := Open(ctx, url, Options{})
			if err == nil {
				_, err = db2.GetUser(ctx, "alice")
				db2.Close()
			}
			errs <- err
		}()
	}
	for range 2 {
		must(t, <-errs)
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, _ := migrations()
	if n != len(ms) {
		t.Fatalf("%d migrations recorded, want %d", n, len(ms))
	}
}

func TestSchemaTooNewRefused(t *testing.T) {
	db, url := open(t, Options{})
	if _, err := db.pool.Exec(t.Context(), `INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), url, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("open a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
