package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/cputime"
	"airlock/internal/store/codec"
	"airlock/internal/store/storetest"
)

// open opens a fresh store in t's temporary directory, closed at the end of t.
func open(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "airlock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) airlock.Store {
		db, err := Open(t.Context(), filepath.Join(t.TempDir(), "airlock.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestPragmas(t *testing.T) {
	db := open(t)
	for _, c := range []struct {
		pool   string
		pragma string
		want   string
	}{
		{"write", "journal_mode", "wal"},
		{"write", "synchronous", "2"}, // FULL
		{"write", "foreign_keys", "1"},
		{"write", "busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
		{"write", "query_only", "0"},
		{"read", "journal_mode", "wal"},
		{"read", "busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
		{"read", "query_only", "1"},
	} {
		pool := db.write
		if c.pool == "read" {
			pool = db.read
		}
		var got string
		if err := pool.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s connection: PRAGMA %s = %s, want %s", c.pool, c.pragma, got, c.want)
		}
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "airlock.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	u := &airlock.User{Name: "alice", Groups: []string{}, CreatedAt: time.Now().UTC()}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		db, err = Open(t.Context(), path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		got, err := db.GetUser(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, u) {
			t.Fatalf("user after reopen: %+v, want %+v", got, u)
		}
		var n, max int
		if err := db.read.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		ms, _ := migrations()
		if n != len(ms) || max != len(ms) {
			t.Fatalf("schema_migrations holds %d rows up to %d, want %d", n, max, len(ms))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSchemaTooNewRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "airlock.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(t.Context(), path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{"version 999", "newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	db := open(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	bad := migration{version: len(ms) + 1, name: "bad.sql", sql: `CREATE TABLE half (a); INSERT INTO nosuchtable VALUES (1);`}
	if err := db.migrate(t.Context(), append(ms, bad)); err == nil {
		t.Fatal("a failing migration was applied")
	}
	var n int
	if err := db.write.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the failed migration's first statement was kept")
	}
	if err := db.write.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, bad.version).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the failed migration was recorded")
	}
}

func TestMigrationFilesNumbered(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
}

func TestPathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?#%")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "air lock?.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateUser(t.Context(), &airlock.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the given path: %v", err)
	}
}

func TestTokenNeedsUser(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	err := db.CreateToken(ctx, &airlock.Token{ID: "tok_1", User: "ghost", Hash: []byte("h")})
	if code := airlock.ErrorCode(err); code != airlock.ENOTFOUND {
		t.Fatalf("token of an unknown user: %v, want ENOTFOUND", err)
	}
	if err := db.CreateUser(ctx, &airlock.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(ctx, &airlock.Token{ID: "tok_1", User: "alice", Hash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TokenByHash(ctx, []byte("h")); airlock.ErrorCode(err) != airlock.ENOTFOUND {
		t.Fatalf("token of a deleted user: %v, want ENOTFOUND", err)
	}
	err = db.CreateToken(ctx, &airlock.Token{ID: "tok_2", User: "alice"})
	if code := airlock.ErrorCode(err); code != airlock.EINVALID {
		t.Fatalf("token without hash: %v, want EINVALID", err)
	}
}

func TestUserEmptyListsRoundTrip(t *testing.T) {
	db := open(t)
	for _, u := range []*airlock.User{
		{Name: "nil"},
		{Name: "empty", Groups: []string{}, Roles: []string{}, ScramSalt: []byte("s")},
	} {
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetUser(t.Context(), u.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, u) {
			t.Errorf("got %#v, want %#v", got, u)
		}
	}
}

// TestAppendEventsStoresOddEvents checks that events JSON cannot carry
// exactly are stored anyway (the audit writer would retry a refused batch
// forever) and come back with the same chain hash.
func TestAppendEventsStoresOddEvents(t *testing.T) {
	db := open(t)
	berlin := time.FixedZone("CET", 3600)
	for i, c := range []struct {
		name      string
		ev, want  airlock.Event
		filterHit airlock.EventFilter
		// newHash: audit.Canonical writes "duration_ms":0 for a NaN, which
		// no storable event reproduces; the audit log should not hash one.
		newHash bool
	}{
		{
			name:      "invalid_utf8",
			ev:        airlock.Event{Type: airlock.EventStatement, Text: "select '\xff'", Params: []string{"ok", "\xc3("}, Detail: map[string]string{"k\x80": "v"}},
			want:      airlock.Event{Type: airlock.EventStatement, Text: "select '\ufffd'", Params: []string{"ok", "\ufffd("}, Detail: map[string]string{"k\ufffd": "v"}},
			filterHit: airlock.EventFilter{Contains: "select '"},
		},
		{
			name:    "nan_duration",
			ev:      airlock.Event{Type: airlock.EventStatement, DurationMS: math.NaN()},
			want:    airlock.Event{Type: airlock.EventStatement},
			newHash: true,
		},
		{
			name:    "infinite_duration",
			ev:      airlock.Event{Type: airlock.EventStatement, DurationMS: math.Inf(-1)},
			want:    airlock.Event{Type: airlock.EventStatement},
			newHash: true,
		},
		{
			name:      "far_future",
			ev:        airlock.Event{Type: airlock.EventSystem, Time: time.Date(3000, 1, 1, 0, 0, 0, 1, time.UTC)},
			want:      airlock.Event{Type: airlock.EventSystem, Time: time.Date(3000, 1, 1, 0, 0, 0, 1, time.UTC)},
			filterHit: airlock.EventFilter{Since: time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
		{
			name:      "not_utc",
			ev:        airlock.Event{Type: airlock.EventSystem, Time: time.Date(2025, 6, 1, 12, 0, 0, 5, berlin)},
			want:      airlock.Event{Type: airlock.EventSystem, Time: time.Date(2025, 6, 1, 11, 0, 0, 5, time.UTC)},
			filterHit: airlock.EventFilter{Since: time.Date(2025, 6, 1, 11, 0, 0, 5, time.UTC), Until: time.Date(2025, 6, 1, 11, 0, 0, 6, time.UTC)},
		},
		{
			name: "zero_time",
			ev:   airlock.Event{Type: airlock.EventSystem},
			want: airlock.Event{Type: airlock.EventSystem},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := int64(i + 1)
			ev, want := c.ev, c.want
			ev.ID, want.ID = id, id
			if ev.Time.IsZero() && c.name != "zero_time" {
				ev.Time, want.Time = time.Unix(1700000000, 0).UTC(), time.Unix(1700000000, 0).UTC()
			}
			ev.Hash = audit.ChainHash("", &ev)
			want.Hash = ev.Hash
			if err := db.AppendEvents(t.Context(), []*airlock.Event{&ev}); err != nil {
				t.Fatal(err)
			}
			got, err := db.ListEvents(t.Context(), airlock.EventFilter{AfterID: id - 1, BeforeID: id + 1})
			if err != nil || len(got) != 1 {
				t.Fatalf("read back: %v, %v", got, err)
			}
			if !reflect.DeepEqual(got[0], &want) {
				t.Errorf("stored %+v\n     want %+v", got[0], &want)
			}
			if h := audit.ChainHash("", got[0]); h != ev.Hash && !c.newHash {
				t.Errorf("the stored event hashes to %s, the appended one to %s", h, ev.Hash)
			}
			if c.filterHit != (airlock.EventFilter{}) {
				f := c.filterHit
				f.AfterID, f.BeforeID = id-1, id+1
				if got, err := db.ListEvents(t.Context(), f); err != nil || len(got) != 1 {
					t.Errorf("filter %+v finds %d events, %v; want it", f, len(got), err)
				}
			}
		})
	}
}

// TestConcurrentAccess runs writers and readers at once (run it with -race):
// none of them may see an error, SQLITE_BUSY above all.
func TestConcurrentAccess(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	const (
		writers   = 6
		readers   = 4
		batches   = 10
		batchSize = 16
	)
	var (
		wg     sync.WaitGroup
		nextID atomic.Int64
		errs   = make(chan error, writers+readers+4)
		done   = make(chan struct{})
	)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				// Each batch a run of IDs, as the audit writer appends.
				evs := make([]*airlock.Event, batchSize)
				base := nextID.Add(batchSize) - batchSize
				for i := range evs {
					evs[i] = statementEvent(base+int64(i)+1, time.Now().UTC())
				}
				if err := db.AppendEvents(ctx, evs); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				name := fmt.Sprintf("user-%d-%d", w, b)
				if err := db.CreateUser(ctx, &airlock.User{Name: name}); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				if err := db.CreateSession(ctx, &airlock.Session{ID: name, User: name, StartedAt: time.Now().UTC()}); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				if _, err := db.EndOpenSessions(ctx, time.Now().UTC(), "test"); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	var rg sync.WaitGroup
	for r := range readers {
		rg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				var err error
				switch r % 4 {
				case 0:
					_, err = db.ListEvents(ctx, airlock.EventFilter{Limit: 50, User: "alice"})
				case 1:
					_, err = db.LastEvent(ctx)
				case 2:
					err = db.ScanEvents(ctx, airlock.EventFilter{Ascending: true, Limit: 100, Contains: "pgbench"}, func(*airlock.Event) error { return nil })
				case 3:
					_, err = db.ListUsers(ctx)
					if err == nil {
						_, err = db.ListSessions(ctx, airlock.SessionFilter{Active: true})
					}
				}
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	stored, err := db.ListEvents(ctx, airlock.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n, want := len(stored), writers*batches*batchSize; n != want {
		t.Errorf("%d events stored, want %d", n, want)
	}
}

// TestTwoStoresOneFile opens the same file twice, as two processes would:
// the busy timeout, not an error, resolves their lock contention.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "airlock.db")
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, db := range dbs {
		wg.Go(func() {
			for j := range 50 {
				err := db.CreateSession(context.Background(), &airlock.Session{ID: fmt.Sprintf("s_%d_%d", i, j), StartedAt: time.Now().UTC()})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// statementEvent is a typical statement event, as the gateway logs for a
// simple OLTP query.
func statementEvent(id int64, t time.Time) *airlock.Event {
	return &airlock.Event{
		ID:            id,
		Time:          t,
		Type:          airlock.EventStatement,
		Action:        airlock.ActionExecuted,
		User:          "alice",
		Database:      "shop",
		SessionID:     "s_k3j4h5g6f7",
		ClientAddr:    "10.0.3.17:53122",
		Application:   "pgbench",
		Text:          "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
		StatementKind: "select",
		Level:         "read",
		Tables:        []string{"public.pgbench_accounts"},
		Decision:      "allowed",
		Rows:          1,
		DurationMS:    0.231,
		Params:        []string{fmt.Sprint(id * 7919 % 100000)},
		PrevHash:      fakeHash(id - 1),
		Hash:          fakeHash(id),
	}
}

// fakeHash is a hash-like, incompressible stand-in for event id's hash.
func fakeHash(id int64) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d", id))
	return hex.EncodeToString(h[:])
}

// BenchmarkAppendEvents appends batches of 256 typical statement events,
// each batch one fsynced transaction, and reports events/s.
//
//	go test -run '^$' -bench AppendEvents -benchtime 20000x ./internal/store/sqlite
func BenchmarkAppendEvents(b *testing.B) {
	const batchSize = 256
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "airlock.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	batch := make([]*airlock.Event, batchSize)
	var id int64
	start := time.Now().UTC()
	var cpu time.Duration
	for b.Loop() {
		for i := range batch {
			id++
			batch[i] = statementEvent(id, start.Add(time.Duration(id)*time.Microsecond))
		}
		c := cputime.Process()
		if err := db.AppendEvents(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
		cpu += cputime.Process() - c
	}
	var size int64
	db.read.QueryRow(`SELECT SUM(length(data)) FROM event_data`).Scan(&size)
	b.ReportMetric(float64(size)/float64(id), "bytes/event")
	b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batchSize), "cpu-ns/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/event")
}

// TestEventQueriesUseIndexes guards the keys of the event batches: a
// filter on a user, database, session, rule or rare value must narrow the
// batches through event_keys, or a listing would decode the whole audit
// log; a filter on a common value scans batches newest first.
func TestEventQueriesUseIndexes(t *testing.T) {
	db := open(t)
	for _, c := range []struct {
		f    airlock.EventFilter
		uses string // a term the plan must hold
	}{
		{airlock.EventFilter{User: "alice"}, "SEARCH event_keys USING PRIMARY KEY (key=?)"},
		{airlock.EventFilter{Database: "shop"}, "SEARCH event_keys USING PRIMARY KEY (key=?)"},
		{airlock.EventFilter{SessionID: "s_1"}, "SEARCH event_keys USING PRIMARY KEY (key=?)"},
		{airlock.EventFilter{Rule: airlock.RuleLevel}, "SEARCH event_keys USING PRIMARY KEY (key=?)"},
		{airlock.EventFilter{Type: airlock.EventToken}, "SEARCH event_keys USING PRIMARY KEY (key=?)"},
		{airlock.EventFilter{Decision: airlock.DecisionDenied}, "SEARCH event_keys USING PRIMARY KEY (key=?)"},
		{airlock.EventFilter{StatementKind: string(airlock.KindDelete)}, "SEARCH event_keys USING PRIMARY KEY (key=?)"},
		{airlock.EventFilter{AfterID: 1000, Ascending: true}, "SEARCH event_batches USING INTEGER PRIMARY KEY (rowid>?)"},
		{airlock.EventFilter{BeforeID: 1000}, "SEARCH event_batches USING INTEGER PRIMARY KEY (rowid<?)"},
		{airlock.EventFilter{Since: time.Now().Add(-time.Hour), Until: time.Now()}, "event_batches"},
		{airlock.EventFilter{Type: airlock.EventStatement, Limit: 50}, "SCAN event_batches"},
		{airlock.EventFilter{Decision: airlock.DecisionAllowed, Limit: 50}, "SCAN event_batches"},
	} {
		q, args := eventQuery(c.f)
		rows, err := db.read.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		if !strings.Contains(got, c.uses) {
			t.Errorf("%+v: plan %q does not hold %q", c.f, got, c.uses)
		}
		// The data of a batch is read by its primary key, for the batches
		// chosen, never scanned.
		if strings.Contains(got, "SCAN event_data") || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("%+v: plan %q scans event_data or sorts", c.f, got)
		}
	}
}

// TestDeleteEventsBefore prunes a log of several batches at IDs inside a
// batch, at a batch's first event and past the end: what is left lists as
// before, keys included, and the count is exact.
func TestDeleteEventsBefore(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	start := time.Now().UTC().Truncate(time.Second)
	var all []*airlock.Event
	for b := range 4 { // batches of batchEvents, the last one short
		var evs []*airlock.Event
		for range batchEvents - 10*b/3 {
			e := statementEvent(int64(len(all)+len(evs)+1), start.Add(time.Duration(len(all)+len(evs))*time.Millisecond))
			if e.ID%3 == 0 {
				e.User = "bob"
			}
			evs = append(evs, e)
		}
		if err := db.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
	}
	check := func(from int64) {
		t.Helper()
		got, err := db.ListEvents(ctx, airlock.EventFilter{Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(all)-int(from)+1 || got[0].ID != from || got[len(got)-1].ID != int64(len(all)) {
			t.Fatalf("after deleting below %d: %d events from %d", from, len(got), got[0].ID)
		}
		bob, err := db.ListEvents(ctx, airlock.EventFilter{User: "bob", Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(len(all))/3 - (from-1)/3; int64(len(bob)) != want || bob[0].ID < from {
			t.Fatalf("after deleting below %d: %d events of bob from %d, want %d", from, len(bob), bob[0].ID, want)
		}
		var stale int
		if err := db.read.QueryRow(`SELECT COUNT(*) FROM event_keys WHERE first_id NOT IN (SELECT first_id FROM event_batches)`).Scan(&stale); err != nil {
			t.Fatal(err)
		}
		if stale != 0 {
			t.Fatalf("%d keys of deleted batches are left", stale)
		}
	}
	prev := int64(1)
	for _, id := range []int64{100, batchEvents + 1, 2*batchEvents + 17, 2*batchEvents + 18} {
		n, err := db.DeleteEventsBefore(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if n != id-prev {
			t.Errorf("deleting below %d: %d deleted, want %d", id, n, id-prev)
		}
		prev = id
		check(id)
	}
	if n, err := db.DeleteEventsBefore(ctx, 5); err != nil || n != 0 {
		t.Errorf("deleting what is gone: %d, %v", n, err)
	}
}

// TestMigrateEventsToBatches opens a store whose events were stored a row
// each (before migration 6): they list, filter and chain on as before.
func TestMigrateEventsToBatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "airlock.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	// Back to schema 5, with three events as version 5 stored them.
	start := time.Now().UTC()
	evs := []*airlock.Event{statementEvent(1, start), statementEvent(2, start.Add(time.Second)), statementEvent(3, start.Add(2*time.Second))}
	evs[1].User, evs[1].Decision, evs[1].Rule = "bob", airlock.DecisionDenied, airlock.RuleLevel
	for _, q := range []string{
		`DROP TABLE event_keys`, `DROP TABLE event_data`, `DROP TABLE event_batches`,
		`ALTER TABLE users DROP COLUMN kind`,           // migration 7
		`ALTER TABLE requests DROP COLUMN script_json`, // migration 8
		`DELETE FROM schema_migrations WHERE version >= 6`,
		`CREATE TABLE events (id INTEGER PRIMARY KEY, time INTEGER, type TEXT NOT NULL, username TEXT, dbname TEXT,
			session_id TEXT, statement_kind TEXT, decision TEXT, rule TEXT, data TEXT NOT NULL)`,
	} {
		if _, err := db.write.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range evs {
		if _, err := db.write.Exec(`INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.Time.UnixNano(), e.Type,
			nullString(e.User), nullString(e.Database), nullString(e.SessionID), nullString(e.StatementKind),
			nullString(e.Decision), nullString(e.Rule), string(codec.AppendEventJSON(nil, e))); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if len(ms) < 6 {
		t.Fatal("no migration 6")
	}
	if db, err = Open(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.ListEvents(t.Context(), airlock.EventFilter{Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, evs) {
		t.Fatalf("migrated events differ:\n%+v\nwant\n%+v", got, evs)
	}
	for _, f := range []airlock.EventFilter{{User: "bob"}, {Decision: airlock.DecisionDenied}, {Rule: airlock.RuleLevel}, {Since: start.Add(time.Second), Until: start.Add(2 * time.Second)}} {
		got, err := db.ListEvents(t.Context(), f)
		if err != nil || len(got) != 1 || got[0].ID != 2 {
			t.Errorf("%+v: %d events, %v", f, len(got), err)
		}
	}
	if err := db.AppendEvents(t.Context(), []*airlock.Event{statementEvent(3, start)}); airlock.ErrorCode(err) != airlock.ECONFLICT {
		t.Errorf("appending a migrated ID again: %v", err)
	}
	if err := db.AppendEvents(t.Context(), []*airlock.Event{statementEvent(4, start)}); err != nil {
		t.Fatal(err)
	}
}

func TestFileMode(t *testing.T) {
	db := open(t)
	if err := db.AppendEvents(t.Context(), []*airlock.Event{statementEvent(1, time.Now().UTC())}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{db.Path(), db.Path() + "-wal", db.Path() + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s: mode %v, want no access for group and others", filepath.Base(name), mode)
		}
	}
}

// TestPruneOnBatches prunes an audit log kept in this store at a time that
// falls inside a batch: the chain verifies from the new first event, and
// the events before it are gone.
func TestPruneOnBatches(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	l, err := audit.Open(ctx, db, audit.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 600 {
		clock = now.Add(time.Duration(i) * time.Minute)
		if err := l.Record(ctx, &airlock.Event{Type: airlock.EventStatement, Action: airlock.ActionExecuted, User: "alice",
			Text: fmt.Sprintf("SELECT %d", i), StatementKind: "select", Decision: "allowed"}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := l.Prune(ctx, db, now.Add(300*time.Minute))
	if err != nil || n != 300 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, db)
	if err != nil || rep.Problem != nil || rep.FirstID != 301 {
		t.Fatalf("after pruning: %+v %+v %v", rep, rep.Problem, err)
	}
	evs, err := db.ListEvents(ctx, airlock.EventFilter{User: "alice", Ascending: true})
	if err != nil || len(evs) != 300 || evs[0].Text != "SELECT 300" {
		t.Fatalf("alice's events after pruning: %d, %v", len(evs), err)
	}
}
