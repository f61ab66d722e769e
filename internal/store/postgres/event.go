package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"airlock"

	"github.com/jackc/pgx/v5"
)

// eventColumns are the columns AppendEvents copies into.
var eventColumns = []string{"id", "time", "type", "username", "dbname", "session_id", "statement_kind", "decision", "rule", "data"}

// AppendEvents stores evs in one transaction: all of them or none. When it
// returns nil the transaction is committed with synchronous_commit=on.
//
// The store keeps the head of the audit chain (the last ID and hash) and
// appends only after it: under the head's row lock, evs' first event must
// have the next ID and, when events exist, link to the head's hash; IDs
// must not repeat. Otherwise AppendEvents fails with ECONFLICT and stores
// nothing: another gateway appended meanwhile, and the caller (the audit
// log) re-reads the head with LastEvent and chains its events after it.
// So gateways sharing the store append to one chain in one global order,
// without gaps or forks.
//
// Each event is stored as its encoding/json form and decodes back to an
// equal event when its strings are valid UTF-8, its time is in UTC and it
// holds no empty-but-non-nil slice or map; a NaN or infinite DurationMS is
// stored as 0. AppendEvents refuses no event for its content.
func (db *DB) AppendEvents(ctx context.Context, evs []*airlock.Event) error {
	if err := db.injected(); err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	if !slices.IsSortedFunc(evs, byID) {
		evs = slices.Clone(evs)
		slices.SortStableFunc(evs, byID)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID == evs[i-1].ID {
			return airlock.Errorf(airlock.ECONFLICT, "event %d appears twice", evs[i].ID)
		}
	}
	rows := make([][]any, len(evs))
	for i, e := range evs {
		data, err := encodeEvent(e)
		if err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		var t any
		if !e.Time.IsZero() {
			t = filterTime(e.Time)
		}
		rows[i] = []any{e.ID, t, column(e.Type), column(e.User), column(e.Database), column(e.SessionID),
			column(e.StatementKind), column(e.Decision), column(e.Rule), data}
		if rows[i][2] == nil {
			rows[i][2] = ""
		}
	}
	first, last := evs[0], evs[len(evs)-1]
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var (
			headID   int64
			headHash string
		)
		if err := tx.QueryRow(ctx, `SELECT last_id, hash FROM chain_head FOR UPDATE`).Scan(&headID, &headHash); err != nil {
			return err
		}
		if first.ID <= headID || headID > 0 && (first.ID != headID+1 || first.PrevHash != headHash) {
			return errChainMoved
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE chain_head SET last_id = $1, hash = $2`, last.ID, last.Hash)
		return err
	})
	switch {
	case errors.Is(err, errChainMoved) && len(evs) == 1:
		return airlock.Errorf(airlock.ECONFLICT, "event %d does not follow the stored chain head", first.ID)
	case errors.Is(err, errChainMoved):
		return airlock.Errorf(airlock.ECONFLICT, "events %d to %d do not follow the stored chain head", first.ID, last.ID)
	case pgCode(err) == codeUniqueViolation:
		return airlock.Errorf(airlock.ECONFLICT, "an event among %d to %d already exists", first.ID, last.ID)
	case err != nil:
		return fmt.Errorf("append events: %w", err)
	}
	return nil
}

// errChainMoved ends an append transaction whose events do not follow
// the stored head.
var errChainMoved = errors.New("events do not follow the chain head")

func byID(a, b *airlock.Event) int { return cmp.Compare(a.ID, b.ID) }

// encodeEvent returns the JSON that events.data holds for e.
func encodeEvent(e *airlock.Event) (string, error) {
	c := *e
	c.Time = c.Time.UTC()
	if math.IsNaN(c.DurationMS) || math.IsInf(c.DurationMS, 0) {
		c.DurationMS = 0
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// column returns the value of a filter column for s: NULL for "", and
// otherwise s made valid UTF-8 without NUL (which PostgreSQL text cannot
// hold). Filter values go through the same function, so that equal
// strings meet; the decoded event is checked again (matches).
func column(s string) any {
	if s == "" {
		return nil
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// LastEvent returns the event with the largest ID, or nil when there is none.
func (db *DB) LastEvent(ctx context.Context) (*airlock.Event, error) {
	var data string
	err := db.pool.QueryRow(ctx, `SELECT data FROM events ORDER BY id DESC LIMIT 1`).Scan(&data)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last event: %w", err)
	}
	return decodeEvent(data)
}

// ListEvents returns the events that match f, by ID, newest first unless
// f.Ascending. Since is inclusive and Until exclusive; Contains matches a
// substring of the statement text, case-insensitively for ASCII letters; a
// Limit of 0 or less means no limit.
func (db *DB) ListEvents(ctx context.Context, f airlock.EventFilter) ([]*airlock.Event, error) {
	var evs []*airlock.Event
	err := db.ScanEvents(ctx, f, func(e *airlock.Event) error {
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// ScanEvents calls fn for each event that matches f, in the order and with
// the meaning of ListEvents, reading them as they arrive. An error from fn
// stops the scan and is returned as is. The scan reads one snapshot; fn
// may call the store (the scan holds one connection of the pool).
func (db *DB) ScanEvents(ctx context.Context, f airlock.EventFilter, fn func(*airlock.Event) error) error {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	for _, c := range []struct{ col, v string }{
		{"type", f.Type}, {"username", f.User}, {"dbname", f.Database}, {"session_id", f.SessionID},
		{"statement_kind", f.StatementKind}, {"decision", f.Decision}, {"rule", f.Rule},
	} {
		if c.v != "" {
			add(c.col+` = $%d`, column(c.v))
		}
	}
	if !f.Since.IsZero() {
		add(`time >= $%d`, filterTime(f.Since))
	}
	if !f.Until.IsZero() {
		add(`time < $%d`, filterTime(f.Until))
	}
	if f.AfterID != 0 {
		add(`id > $%d`, f.AfterID)
	}
	if f.BeforeID != 0 {
		add(`id < $%d`, f.BeforeID)
	}
	q := `SELECT data FROM events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	if f.Ascending {
		q += ` ORDER BY id ASC`
	} else {
		q += ` ORDER BY id DESC`
	}
	if f.Limit > 0 && f.Contains == "" {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return fmt.Errorf("scan events: %w", err)
		}
		e, err := decodeEvent(data)
		if err != nil {
			return err
		}
		if !matches(e, &f) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
		if n++; f.Limit > 0 && n >= f.Limit {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	return nil
}

// DeleteEventsBefore deletes the events with an ID below id (retention)
// and returns how many it deleted. The chain head stays.
func (db *DB) DeleteEventsBefore(ctx context.Context, id int64) (int64, error) {
	if err := db.injected(); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM events WHERE id < $1`, id)
	if err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	return tag.RowsAffected(), nil
}

// matches reports whether e passes f: an empty filter field matches
// anything, a set one only an equal value; Since and Until compare clamped
// times and never match an event without one; Contains is a substring of
// the text, case-insensitive for ASCII letters only.
func matches(e *airlock.Event, f *airlock.EventFilter) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	if !eq(f.User, e.User) || !eq(f.Database, e.Database) || !eq(f.SessionID, e.SessionID) ||
		!eq(f.Rule, e.Rule) || !eq(f.Type, e.Type) || !eq(f.StatementKind, e.StatementKind) ||
		!eq(f.Decision, e.Decision) {
		return false
	}
	if f.AfterID != 0 && e.ID <= f.AfterID || f.BeforeID != 0 && e.ID >= f.BeforeID {
		return false
	}
	if !f.Since.IsZero() && (e.Time.IsZero() || filterTime(e.Time) < filterTime(f.Since)) {
		return false
	}
	if !f.Until.IsZero() && (e.Time.IsZero() || filterTime(e.Time) >= filterTime(f.Until)) {
		return false
	}
	return f.Contains == "" || containsFoldASCII(e.Text, f.Contains)
}

// containsFoldASCII reports whether sub is in s, ASCII letters matching
// either case and every other byte only itself.
func containsFoldASCII(s, sub string) bool {
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
outer:
	for i := 0; i+len(sub) <= len(s); i++ {
		for j := 0; j < len(sub); j++ {
			if lower(s[i+j]) != lower(sub[j]) {
				continue outer
			}
		}
		return true
	}
	return false
}

func decodeEvent(data string) (*airlock.Event, error) {
	var e airlock.Event
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	return &e, nil
}
