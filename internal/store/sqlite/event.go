package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"airlock"

	sqlite3 "modernc.org/sqlite/lib"
)

const insertEvent = `INSERT INTO events (id, time, type, username, dbname, session_id, statement_kind, decision, rule, data)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertChunk is how many rows one INSERT of insertEvents stores.
const insertChunk = 32

// jsonBufs holds AppendEvents' encoding buffers.
var jsonBufs = sync.Pool{New: func() any { return new([]byte) }}

var insertEvents = insertEvent + strings.Repeat(`, (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, insertChunk-1)

// AppendEvents stores evs in one transaction: all of them or none. When it
// returns nil the transaction is fsynced (synchronous=FULL) and survives a
// power loss. It fails with ECONFLICT, storing nothing, when an event ID is
// already stored.
//
// Each event is stored as JSON with the keys of its encoding/json form
// (appendEventJSON), which decodes back to an event equal
// (reflect.DeepEqual) to the one appended when its strings are valid UTF-8, its time is in UTC without a monotonic clock reading
// (time.Time.UTC strips it) and it holds no empty-but-non-nil slice or map
// (those come back nil). Otherwise it comes back as close as JSON allows,
// and always with the same audit.Canonical encoding, so that the chain
// still verifies: times come back in UTC, each byte of invalid UTF-8 as
// U+FFFD, and a NaN or infinite DurationMS as 0. AppendEvents refuses no
// event for its content: the audit writer retries a refused batch forever,
// so one odd event must not stop the log.
func (db *DB) AppendEvents(ctx context.Context, evs []*airlock.Event) error {
	if err := db.injected(); err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	// Encode before taking the write connection, so that other writers do
	// not wait for it; one string holds the JSON of the whole batch.
	bp := jsonBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	ends := make([]int, len(evs))
	for i, e := range evs {
		buf = appendEventJSON(buf, e)
		ends[i] = len(buf)
	}
	all := string(buf)
	if cap(buf) <= 1<<20 {
		*bp = buf
		jsonBufs.Put(bp)
	}
	args := make([][10]any, len(evs))
	start := 0
	for i, e := range evs {
		var t any // the zero time is NULL
		if !e.Time.IsZero() {
			t = filterTime(e.Time) // clamped: data keeps the exact time
		}
		args[i] = [10]any{e.ID, t, e.Type, nullString(e.User), nullString(e.Database), nullString(e.SessionID),
			nullString(e.StatementKind), nullString(e.Decision), nullString(e.Rule), all[start:ends[i]]}
		start = ends[i]
	}

	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	defer tx.Rollback()
	// Rows go in by insertChunk per statement: one statement per row
	// costs a third of the insert in statement overhead. The statements
	// are prepared once on the write connection.
	chunk, single := tx.StmtContext(ctx, db.insertChunk), tx.StmtContext(ctx, db.insertOne)
	defer chunk.Close()
	defer single.Close()
	// A row's insert takes microseconds: check ctx between statements
	// instead of handing it to the driver, which watches a cancelable
	// context with a goroutine per statement.
	rowCtx := context.WithoutCancel(ctx)
	flat := make([]any, 0, insertChunk*10)
	for i := 0; i < len(args); {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		n, stmt := 1, single
		if len(args)-i >= insertChunk {
			n, stmt = insertChunk, chunk
		}
		flat = flat[:0]
		for j := i; j < i+n; j++ {
			flat = append(flat, args[j][:]...)
		}
		if _, err := stmt.ExecContext(rowCtx, flat...); err != nil {
			if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
				if n == 1 {
					return airlock.Errorf(airlock.ECONFLICT, "event %d already exists", evs[i].ID)
				}
				return airlock.Errorf(airlock.ECONFLICT, "an event among %d to %d already exists", evs[i].ID, evs[i+n-1].ID)
			}
			return fmt.Errorf("append events: event %d: %w", evs[i].ID, err)
		}
		i += n
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append events: commit: %w", err)
	}
	return nil
}

// LastEvent returns the event with the largest ID, or nil when there is none.
func (db *DB) LastEvent(ctx context.Context) (*airlock.Event, error) {
	var data string
	err := db.read.QueryRowContext(ctx, `SELECT data FROM events ORDER BY id DESC LIMIT 1`).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
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
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return fmt.Errorf("scan events: %w", err)
		}
		e, err := decodeEvent(data)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	return nil
}

// eventQuery builds the SELECT for f.
func eventQuery(f airlock.EventFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+` = ?`)
			args = append(args, v)
		}
	}
	// rare adds the WHERE term of a partial index over the rare values of
	// col (see migrations/0001_init.sql) when v is one of them: the term is
	// implied by col = v, and repeating it verbatim lets SQLite use the index.
	rare := func(col, v, common string) {
		if v != "" && v != common {
			where = append(where, col+` <> '`+common+`'`)
		}
	}
	eq(`type`, f.Type)
	rare(`type`, f.Type, airlock.EventStatement)
	eq(`username`, f.User)
	eq(`dbname`, f.Database)
	eq(`session_id`, f.SessionID)
	eq(`statement_kind`, f.StatementKind)
	rare(`statement_kind`, f.StatementKind, string(airlock.KindSelect))
	eq(`decision`, f.Decision)
	rare(`decision`, f.Decision, airlock.DecisionAllowed)
	eq(`rule`, f.Rule)
	if f.Contains != "" {
		where = append(where, `json_extract(data, '$.text') LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(f.Contains)+"%")
	}
	if !f.Since.IsZero() {
		where = append(where, `time >= ?`)
		args = append(args, filterTime(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `time < ?`)
		args = append(args, filterTime(f.Until))
	}
	if f.AfterID != 0 {
		where = append(where, `id > ?`)
		args = append(args, f.AfterID)
	}
	if f.BeforeID != 0 {
		where = append(where, `id < ?`)
		args = append(args, f.BeforeID)
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
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return q, args
}

// likeEscaper escapes the LIKE wildcards of a literal substring.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func decodeEvent(data string) (*airlock.Event, error) {
	var e airlock.Event
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	return &e, nil
}
