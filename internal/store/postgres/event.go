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
	"airlock/internal/store/codec"

	"github.com/golang/snappy"
	"github.com/jackc/pgx/v5"
)

// A batch row holds at most batchEvents events and, unless one event is
// larger, batchBytes of their JSON, so that a listing never decodes more
// than that to find the newest events.
const (
	batchEvents = 256
	batchBytes  = 256 << 10
)

// The encodings of event_batches.data.
const (
	encPlain  = 0
	encSnappy = 1
)

// batchColumns are the columns AppendEvents copies into.
var batchColumns = []string{"first_id", "last_id", "events", "min_time", "max_time", "keys", "enc", "data"}

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
	rows, err := batchRows(evs)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	first, last := evs[0], evs[len(evs)-1]
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
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
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"event_batches"}, batchColumns, pgx.CopyFromRows(rows)); err != nil {
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

// batchRows cuts evs (in ID order) into event_batches rows, in
// batchColumns' order.
func batchRows(evs []*airlock.Event) ([][]any, error) {
	var out [][]any
	var buf []byte
	seen := map[string]bool{}
	for i := 0; i < len(evs); {
		buf = buf[:0]
		clear(seen)
		var (
			keys       = []string{}
			minT, maxT *int64
			j          = i
		)
		for ; j < len(evs) && j-i < batchEvents && (j == i || len(buf) <= batchBytes); j++ {
			e := evs[j]
			data, err := encodeEvent(e)
			if err != nil {
				return nil, err
			}
			if j > i {
				buf = append(buf, '\n')
			}
			buf = append(buf, data...)
			if !e.Time.IsZero() {
				t := codec.FilterTime(e.Time)
				if minT == nil || t < *minT {
					minT = &t
				}
				if maxT == nil || t > *maxT {
					maxT = &t
				}
			}
			for _, k := range eventKeys(e) {
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
		enc, data := compress(buf)
		out = append(out, []any{evs[i].ID, evs[j-1].ID, j - i, minT, maxT, keys, enc, data})
		i = j
	}
	return out, nil
}

// compress encodes the JSON lines for event_batches.data, or keeps them
// as they are when that is not smaller.
func compress(text []byte) (int16, []byte) {
	if b := snappy.Encode(nil, text); len(b) < len(text) {
		return encSnappy, b
	}
	return encPlain, slices.Clone(text)
}

// batchEventsOf decodes the events of one event_batches row, in ID order.
func batchEventsOf(enc int16, data []byte) ([]*airlock.Event, error) {
	switch enc {
	case encPlain:
	case encSnappy:
		b, err := snappy.Decode(nil, data)
		if err != nil {
			return nil, fmt.Errorf("decode events: %w", err)
		}
		data = b
	default:
		return nil, fmt.Errorf("decode events: unknown encoding %d", enc)
	}
	lines := strings.Split(string(data), "\n")
	evs := make([]*airlock.Event, len(lines))
	for i, line := range lines {
		e, err := decodeEvent(line)
		if err != nil {
			return nil, err
		}
		evs[i] = e
	}
	return evs, nil
}

// encodeEvent returns the JSON of e as stored.
func encodeEvent(e *airlock.Event) ([]byte, error) {
	c := *e
	c.Time = c.Time.UTC()
	if math.IsNaN(c.DurationMS) || math.IsInf(c.DurationMS, 0) {
		c.DurationMS = 0
	}
	return json.Marshal(&c)
}

// eventKeys returns the keys event_batches.keys holds for e.
func eventKeys(e *airlock.Event) []string {
	return keysOf(e.User, e.Database, e.SessionID, e.Rule, e.Type, e.StatementKind, e.Decision)
}

// keysOf returns the keys of these field values: those an event with them
// is stored under, and those a filter for them looks up. Empty values and
// the common type, kind and decision have none. Values are made valid
// UTF-8 without NUL (PostgreSQL text holds neither), the same way on both
// sides, so that equal strings meet; the decoded events are checked again.
func keysOf(user, database, session, rule, typ, kind, decision string) []string {
	keys := make([]string, 0, 4)
	add := func(prefix, v, common string) {
		if v != "" && v != common {
			keys = append(keys, prefix+strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "\uFFFD"))
		}
	}
	add("u:", user, "")
	add("d:", database, "")
	add("s:", session, "")
	add("r:", rule, "")
	add("t:", typ, airlock.EventStatement)
	add("k:", kind, string(airlock.KindSelect))
	add("x:", decision, airlock.DecisionAllowed)
	return keys
}

// LastEvent returns the event with the largest ID, or nil when there is none.
func (db *DB) LastEvent(ctx context.Context) (*airlock.Event, error) {
	var (
		enc  int16
		data []byte
	)
	err := db.pool.QueryRow(ctx, `SELECT enc, data FROM event_batches ORDER BY first_id DESC LIMIT 1`).Scan(&enc, &data)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last event: %w", err)
	}
	evs, err := batchEventsOf(enc, data)
	if err != nil {
		return nil, err
	}
	return evs[len(evs)-1], nil
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

// scanPage is how many batch rows ScanEvents reads per query.
const scanPage = 16

// ScanEvents calls fn for each event that matches f, in the order and with
// the meaning of ListEvents. It reads batches a page at a time, holding no
// connection while fn runs (fn may call the store), and sees no event
// appended after it started. An error from fn stops the scan and is
// returned as is.
func (db *DB) ScanEvents(ctx context.Context, f airlock.EventFilter, fn func(*airlock.Event) error) error {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if keys := keysOf(f.User, f.Database, f.SessionID, f.Rule, f.Type, f.StatementKind, f.Decision); len(keys) > 0 {
		add(`keys @> $%d::text[]`, keys)
	}
	if !f.Since.IsZero() {
		add(`max_time >= $%d`, codec.FilterTime(f.Since))
	}
	if !f.Until.IsZero() {
		add(`min_time < $%d`, codec.FilterTime(f.Until))
	}
	if f.AfterID != 0 {
		add(`last_id > $%d`, f.AfterID)
	}
	if f.BeforeID != 0 {
		add(`first_id < $%d`, f.BeforeID)
	}
	// The scan's snapshot: batches stored when it starts.
	var top *int64
	if err := db.pool.QueryRow(ctx, `SELECT max(first_id) FROM event_batches`).Scan(&top); err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	if top == nil {
		return nil
	}
	add(`first_id <= $%d`, *top)
	order, cmpOp := `ASC`, `>`
	if !f.Ascending {
		order, cmpOp = `DESC`, `<`
	}
	cursor := len(args) + 1
	q := `SELECT first_id, enc, data FROM event_batches WHERE ` + strings.Join(where, ` AND `) +
		fmt.Sprintf(` AND first_id %s $%d ORDER BY first_id %s LIMIT %d`, cmpOp, cursor, order, scanPage)
	var after int64 = math.MinInt64
	if !f.Ascending {
		after = math.MaxInt64
	}
	n := 0
	for {
		type batch struct {
			first int64
			enc   int16
			data  []byte
		}
		var page []batch
		rows, err := db.pool.Query(ctx, q, append(args, after)...)
		if err != nil {
			return fmt.Errorf("scan events: %w", err)
		}
		for rows.Next() {
			var b batch
			if err := rows.Scan(&b.first, &b.enc, &b.data); err != nil {
				rows.Close()
				return fmt.Errorf("scan events: %w", err)
			}
			page = append(page, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("scan events: %w", err)
		}
		for _, b := range page {
			evs, err := batchEventsOf(b.enc, b.data)
			if err != nil {
				return err
			}
			if !f.Ascending {
				slices.Reverse(evs)
			}
			for _, e := range evs {
				if !codec.EventMatches(e, &f) {
					continue
				}
				if err := fn(e); err != nil {
					return err
				}
				if n++; f.Limit > 0 && n >= f.Limit {
					return nil
				}
			}
			after = b.first
		}
		if len(page) < scanPage {
			return nil
		}
	}
}

// DeleteEventsBefore deletes the events with an ID below id (retention)
// and returns how many it deleted. The chain head stays.
func (db *DB) DeleteEventsBefore(ctx context.Context, id int64) (int64, error) {
	var total int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM event_batches WHERE last_id < $1 RETURNING events)
			SELECT COALESCE(sum(events), 0)::bigint FROM d`, id).Scan(&total); err != nil {
			return err
		}
		// The batch that holds id keeps its events from id on.
		var (
			first int64
			enc   int16
			data  []byte
		)
		err := tx.QueryRow(ctx, `SELECT first_id, enc, data FROM event_batches WHERE first_id < $1 AND last_id >= $1`, id).Scan(&first, &enc, &data)
		if notFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		evs, err := batchEventsOf(enc, data)
		if err != nil {
			return err
		}
		kept := slices.DeleteFunc(evs, func(e *airlock.Event) bool { return e.ID < id })
		total += int64(len(evs) - len(kept))
		if _, err := tx.Exec(ctx, `DELETE FROM event_batches WHERE first_id = $1`, first); err != nil {
			return err
		}
		rows, err := batchRows(kept)
		if err != nil {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"event_batches"}, batchColumns, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	return total, nil
}

func decodeEvent(data string) (*airlock.Event, error) {
	var e airlock.Event
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	return &e, nil
}
