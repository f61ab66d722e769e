package postgres

import (
	"slices"
	"testing"

	"airlock"
	"airlock/internal/store/codec"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TestMigrateEventsToBatches: events stored a row each (migration 0001)
// become batch rows (0003) that list, filter and chain on as before.
func TestMigrateEventsToBatches(t *testing.T) {
	ctx := t.Context()
	url := newDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	must(t, err)
	old := &DB{pool: pool}
	ms, err := migrations()
	must(t, err)
	must(t, old.migrate(ctx, ms[:2]))
	evs := chained(40)
	for _, e := range evs {
		data, err := encodeEvent(e)
		must(t, err)
		var kind, decision, rule any
		if e.StatementKind != "" {
			kind = e.StatementKind
		}
		if e.Decision != "" {
			decision = e.Decision
		}
		if e.Rule != "" {
			rule = e.Rule
		}
		_, err = pool.Exec(ctx, `INSERT INTO events (id, time, type, username, dbname, session_id, statement_kind, decision, rule, data)
			VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9)`, e.ID, codec.FilterTime(e.Time), e.Type, e.User, e.SessionID, kind, decision, rule, string(data))
		must(t, err)
	}
	_, err = pool.Exec(ctx, `UPDATE chain_head SET last_id = 40, hash = $1`, evs[39].Hash)
	must(t, err)
	pool.Close()

	db, err := Open(ctx, url, Options{})
	must(t, err)
	defer db.Close()
	for _, f := range []airlock.EventFilter{{Ascending: true}, {User: "u2"}, {Decision: airlock.DecisionDenied}, {SessionID: "s1", Rule: "level"}} {
		got, err := db.ListEvents(ctx, f)
		must(t, err)
		var ids, want []int64
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		for _, e := range evs {
			if codec.EventMatches(e, &f) {
				want = append(want, e.ID)
			}
		}
		if !f.Ascending {
			slices.Reverse(want)
		}
		if !slices.Equal(ids, want) || len(want) == 0 {
			t.Fatalf("%+v after the migration: %v, want %v", f, ids, want)
		}
	}
	must(t, db.AppendEvents(ctx, chained(41)[40:]))
}
