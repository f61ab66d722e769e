package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"airlock"
	"airlock/internal/store/codec"

	"github.com/golang/snappy"
)

// A batch row holds at most batchEvents events and, unless one event is
// larger, batchBytes of their JSON, so that a listing never decodes more
// than that to find the newest events.
const (
	batchEvents = 256
	batchBytes  = 256 << 10
)

const (
	insertBatch = `INSERT INTO event_batches (first_id, last_id, events, min_time, max_time) VALUES (?, ?, ?, ?, ?)`
	insertData  = `INSERT INTO event_data (first_id, enc, data) VALUES (?, ?, ?)`
	// insertKeys stores a batch's keys, given as a JSON array, in one
	// statement: a statement per key made a small durable commit (a
	// write's event) cost more than the row per event did.
	insertKeys = `INSERT OR IGNORE INTO event_keys (key, first_id) SELECT value, ? FROM json_each(?)`
	// lastBatch finds the batch holding the largest stored ID not above ?.
	lastBatch = `SELECT last_id FROM event_batches WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1`
)

// batchBufs are AppendEvents' buffers: the JSON lines of a batch and the
// compressed data of its rows, which the rows' inserts read.
type batchBufs struct{ json, packed []byte }

// maxPooledBuf bounds a buffer kept in batchBufPool.
const maxPooledBuf = 1 << 20

var batchBufPool = sync.Pool{New: func() any { return new(batchBufs) }}

// batchRow is one event_batches row about to be inserted, with its
// event_data and event_keys.
type batchRow struct {
	first, last int64
	events      int
	minT, maxT  any // Unix ns, or nil when no event has a time
	enc         int // encPlain or encSnappy
	data        []byte
	keys        []string
}

// The encodings of event_data.data.
const (
	encPlain  = 0 // the JSON lines as they are
	encSnappy = 1 // Snappy (block format) of them
)

// compress encodes text for event_data, or keeps it as is when that is not
// smaller. Snappy: the JSON of consecutive events shrinks about five times
// at a fraction of what DEFLATE costs (the writer's CPU is the point).
// The data returned is text itself or, when packed is not nil, appended
// to *packed (a new array when it has no room): it must not change until
// it is stored.
func compress(text []byte, packed *[]byte) (int, []byte) {
	var dst []byte
	if n := snappy.MaxEncodedLen(len(text)); packed != nil && n > 0 {
		if cap(*packed)-len(*packed) < n {
			*packed = make([]byte, 0, max(n, 2*cap(*packed)))
		}
		p := *packed
		dst = p[len(p):cap(p)]
	}
	if b := snappy.Encode(dst, text); len(b) < len(text) {
		if packed != nil && len(dst) > 0 {
			*packed = (*packed)[:len(*packed)+len(b)]
		}
		return encSnappy, b
	}
	return encPlain, text
}

// batchText returns the JSON lines that event_data holds as data in enc.
func batchText(enc int, data []byte) (string, error) {
	switch enc {
	case encPlain:
		return string(data), nil
	case encSnappy:
		b, err := snappy.Decode(nil, data)
		if err != nil {
			return "", fmt.Errorf("decode events: %w", err)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("decode events: unknown encoding %d", enc)
}

// AppendEvents stores evs in one transaction: all of them or none. When it
// returns nil the transaction is fsynced (synchronous=FULL) and survives a
// power loss. It fails with ECONFLICT, storing nothing, when an event ID is
// already stored or appears twice in evs, or when evs would interleave with
// stored events (a stored event's ID lies between two of evs' IDs): the
// audit log appends runs of consecutive IDs, and a batch row holds one.
//
// Each event is stored as JSON with the keys of its encoding/json form
// (codec.AppendEventJSON), which decodes back to an event equal
// (reflect.DeepEqual) to the one appended when its strings are valid UTF-8, its time is in UTC without a monotonic clock reading
// (time.Time.UTC strips it) and it holds no empty-but-non-nil slice or map
// (those come back nil). Otherwise it comes back as close as JSON allows,
// and always with the same audit.Canonical encoding, so that the chain
// still verifies: times come back in UTC, each byte of invalid UTF-8 as
// U+FFFD, and a NaN or infinite DurationMS as 0. AppendEvents refuses no
// event for its content: the audit writer retries a refused batch forever,
// so one odd event must not stop the log.
//
// Consecutive events share a row of event_batches (see
// migrations/0006_event_batches.sql): a row and its few keys per batch cost
// the writer far less than a row and eight index entries per event did.
func (db *DB) AppendEvents(ctx context.Context, evs []*airlock.Event) error {
	return db.IndexEvents(ctx, evs, nil)
}

// IndexEvents appends evs as AppendEvents does and applies changes to the
// undo records in the same transaction, in order: the audit segment log
// hands over the events and the undo changes logged among them together,
// so that the store never holds an event without the undo changes logged
// before it. Applying a change twice has the effect of applying it once
// (see airlock.UndoChange), so a replay after a crash is harmless.
func (db *DB) IndexEvents(ctx context.Context, evs []*airlock.Event, changes []*airlock.UndoChange) error {
	if len(evs) == 0 && len(changes) == 0 {
		return nil
	}
	if len(evs) == 0 {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("apply undo changes: %w", err)
		}
		defer tx.Rollback()
		if err := applyUndoChanges(ctx, tx, changes); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("apply undo changes: commit: %w", err)
		}
		return nil
	}
	// Batches hold events in ID order (the chain's order, in which the
	// audit writer appends them).
	if !slices.IsSortedFunc(evs, byID) {
		evs = slices.Clone(evs)
		slices.SortStableFunc(evs, byID)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID == evs[i-1].ID {
			return airlock.Errorf(airlock.ECONFLICT, "event %d appears twice", evs[i].ID)
		}
	}
	// Encode before taking the write connection, so that other writers do
	// not wait for it; one string holds the JSON of the whole batch.
	// The buffers are reused: the rows' data are slices of them until the
	// inserts are done.
	bb := batchBufPool.Get().(*batchBufs)
	defer func() {
		if cap(bb.json) > maxPooledBuf {
			bb.json = nil
		}
		if cap(bb.packed) > maxPooledBuf {
			bb.packed = nil
		}
		batchBufPool.Put(bb)
	}()
	buf := bb.json[:0]
	ends := make([]int, len(evs))
	for i, e := range evs {
		if i > 0 {
			buf = append(buf, '\n')
		}
		buf = codec.AppendEventJSON(buf, e)
		ends[i] = len(buf)
	}
	bb.json, bb.packed = buf, bb.packed[:0]
	rows := batchRows(evs, buf, ends, &bb.packed)

	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	defer tx.Rollback()
	rowCtx := context.WithoutCancel(ctx) // as in insertRows
	// IDs are unique: the stored batch that would hold the largest new ID
	// must end before the first. (Inside the write transaction, which
	// begins IMMEDIATE: no other writer can append in between.)
	var pl int64
	switch err := tx.StmtContext(ctx, db.lastBatch).QueryRowContext(rowCtx, evs[len(evs)-1].ID).Scan(&pl); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("append events: %w", err)
	case pl >= evs[0].ID:
		if len(evs) == 1 {
			return airlock.Errorf(airlock.ECONFLICT, "event %d already exists", evs[0].ID)
		}
		return airlock.Errorf(airlock.ECONFLICT, "an event among %d to %d already exists", evs[0].ID, evs[len(evs)-1].ID)
	}
	if err := db.insertRows(ctx, tx, rows); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	if err := applyUndoChanges(ctx, tx, changes); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append events: commit: %w", err)
	}
	return nil
}

// batchRows cuts evs into event_batches rows. all holds their JSON, one
// per line: event i's ends at ends[i], and the next begins after a newline.
// The rows' data are slices of all or of *packed (see compress).
func batchRows(evs []*airlock.Event, all []byte, ends []int, packed *[]byte) []batchRow {
	var rows []batchRow
	seen := make(map[string]struct{})
	var scratch []byte
	for i, start := 0, 0; i < len(evs); {
		r := batchRow{first: evs[i].ID}
		clear(seen)
		j := i
		for ; j < len(evs) && j-i < batchEvents && (j == i || ends[j]-start <= batchBytes); j++ {
			e := evs[j]
			if !e.Time.IsZero() {
				t := codec.FilterTime(e.Time) // clamped: data keeps the exact time
				if r.minT == nil || t < r.minT.(int64) {
					r.minT = t
				}
				if r.maxT == nil || t > r.maxT.(int64) {
					r.maxT = t
				}
			}
			// Most events of a batch share their keys: a key is made
			// into a string only when it is new to the row.
			eachKey(e.User, e.Database, e.SessionID, e.Rule, e.Type, e.StatementKind, e.Decision, func(prefix, v string) {
				scratch = append(append(scratch[:0], prefix...), v...)
				if _, ok := seen[string(scratch)]; !ok {
					k := string(scratch)
					seen[k] = struct{}{}
					r.keys = append(r.keys, k)
				}
			})
		}
		r.last, r.events = evs[j-1].ID, j-i
		r.enc, r.data = compress(all[start:ends[j-1]], packed)
		rows = append(rows, r)
		start = ends[j-1] + 1 // past the newline
		i = j
	}
	return rows
}

// insertRows inserts rows and their keys in tx, a transaction of the write
// connection.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, rows []batchRow) error {
	batch, data, keys := tx.StmtContext(ctx, db.insertBatch), tx.StmtContext(ctx, db.insertData), tx.StmtContext(ctx, db.insertKeys)
	defer batch.Close()
	defer data.Close()
	defer keys.Close()
	// A row's insert takes microseconds: check ctx between statements
	// instead of handing it to the driver, which watches a cancelable
	// context with a goroutine per statement.
	rowCtx := context.WithoutCancel(ctx)
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := batch.ExecContext(rowCtx, r.first, r.last, r.events, r.minT, r.maxT); err != nil {
			return fmt.Errorf("events %d to %d: %w", r.first, r.last, err)
		}
		if _, err := data.ExecContext(rowCtx, r.first, r.enc, r.data); err != nil {
			return fmt.Errorf("events %d to %d: %w", r.first, r.last, err)
		}
		list := []byte{'['}
		for i, k := range r.keys {
			if i > 0 {
				list = append(list, ',')
			}
			list = codec.AppendJSONString(list, k)
		}
		list = append(list, ']')
		if _, err := keys.ExecContext(rowCtx, r.first, string(list)); err != nil {
			return fmt.Errorf("events %d to %d: %w", r.first, r.last, err)
		}
	}
	return nil
}

func byID(a, b *airlock.Event) int { return cmp.Compare(a.ID, b.ID) }

// keysOf returns the event_keys keys (see
// migrations/0006_event_batches.sql) of these field values: the keys an
// event with them is stored under, and those a filter for them looks up.
// Empty values and the common type, kind and decision have none.
func keysOf(user, database, session, rule, typ, kind, decision string) []string {
	keys := make([]string, 0, 4)
	eachKey(user, database, session, rule, typ, kind, decision, func(prefix, v string) {
		keys = append(keys, prefix+v)
	})
	return keys
}

// eachKey calls f with the prefix and the value of each key keysOf
// returns, in the same order.
func eachKey(user, database, session, rule, typ, kind, decision string, f func(prefix, v string)) {
	add := func(prefix, v, common string) {
		if v != "" && v != common {
			f(prefix, v)
		}
	}
	add("u:", user, "")
	add("d:", database, "")
	add("s:", session, "")
	add("r:", rule, "")
	add("t:", typ, airlock.EventStatement)
	add("k:", kind, string(airlock.KindSelect))
	add("x:", decision, airlock.DecisionAllowed)
}

// LastEvent returns the event with the largest ID, or nil when there is none.
func (db *DB) LastEvent(ctx context.Context) (*airlock.Event, error) {
	var (
		enc  int
		data []byte
	)
	err := db.read.QueryRowContext(ctx, `SELECT enc, data FROM event_data ORDER BY first_id DESC LIMIT 1`).Scan(&enc, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last event: %w", err)
	}
	text, err := batchText(enc, data)
	if err != nil {
		return nil, err
	}
	return decodeEvent(text[strings.LastIndexByte(text, '\n')+1:])
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
// the meaning of ListEvents, reading them one by one. An error from fn stops
// the scan and is returned as is. The scan reads one consistent snapshot: it
// sees no event appended after it started. fn may call the store; a long
// scan delays the WAL checkpoint (the file grows) but blocks no writer.
func (db *DB) ScanEvents(ctx context.Context, f airlock.EventFilter, fn func(*airlock.Event) error) error {
	q, args := eventQuery(f)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			enc  int
			data []byte
		)
		if err := rows.Scan(&enc, &data); err != nil {
			return fmt.Errorf("scan events: %w", err)
		}
		text, err := batchText(enc, data)
		if err != nil {
			return err
		}
		lines := strings.Split(text, "\n")
		if !f.Ascending {
			slices.Reverse(lines)
		}
		for _, line := range lines {
			e, err := decodeEvent(line)
			if err != nil {
				return err
			}
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
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	return nil
}

// eventQuery builds the SELECT of the batches that may hold events
// matching f, in f's order; matches decides for each of their events.
func eventQuery(f airlock.EventFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	for _, k := range keysOf(f.User, f.Database, f.SessionID, f.Rule, f.Type, f.StatementKind, f.Decision) {
		where = append(where, `event_batches.first_id IN (SELECT first_id FROM event_keys WHERE key = ?)`)
		args = append(args, k)
	}
	if !f.Since.IsZero() {
		where = append(where, `max_time >= ?`)
		args = append(args, codec.FilterTime(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `min_time < ?`)
		args = append(args, codec.FilterTime(f.Until))
	}
	if f.AfterID != 0 {
		// The batch holding AfterID (found through the primary key) and
		// those after it.
		where = append(where, `last_id > ?`, `event_batches.first_id >= (SELECT COALESCE(MAX(first_id), ?) FROM event_batches WHERE first_id <= ?)`)
		args = append(args, f.AfterID, f.AfterID, f.AfterID)
	}
	if f.BeforeID != 0 {
		where = append(where, `event_batches.first_id < ?`)
		args = append(args, f.BeforeID)
	}
	q := `SELECT enc, data FROM event_batches JOIN event_data USING (first_id)`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	if f.Ascending {
		q += ` ORDER BY event_batches.first_id ASC`
	} else {
		q += ` ORDER BY event_batches.first_id DESC`
	}
	return q, args
}

func decodeEvent(data string) (*airlock.Event, error) {
	var e airlock.Event
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	return &e, nil
}
