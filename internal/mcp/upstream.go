package mcp

import (
	"context"
	"encoding/json"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/gateway"
)

// dialer is what the MCP server needs of one database engine.
type dialer interface {
	// dial connects to the session's database with the credential of
	// the session's level; a read session's connection is read-only.
	dial(ctx context.Context, sess *gateway.Session, timeout time.Duration) (upstream, error)
	// describe returns the catalog reads that describe db (its tables,
	// or one table's columns and keys).
	describe(db *config.Database, schema, table string) []describeQuery
}

type describeQuery struct {
	// key is the result's field; "" for a probe, a statement on the
	// described table itself (SELECT * ... LIMIT 0), so that the
	// table's guardrails apply and its audit event names it.
	key string
	sql string
}

// upstream is one connection to a database, for one call.
type upstream interface {
	// read runs an allowed read, returning at most maxRows rows and
	// about maxBytes bytes of them (encoded as JSON).
	read(ctx context.Context, text string, maxRows int, maxBytes int64) (*Result, error)
	// write runs an allowed write in a transaction of its own, guarded
	// as the check says (rows changed counted, undo captured), and
	// commits it only once the gateway let it stand and its audit
	// events are durable. A decision is a denial after the fact (the
	// write was rolled back).
	write(ctx context.Context, sess *gateway.Session, ch *gateway.Check) (*WriteResult, *airlock.Decision, error)
	// veto is the call's gateway.Adapter veto: what only the database
	// can tell about an allowed check (MySQL: storage engines, views,
	// cascades; nothing on PostgreSQL).
	veto(ch *gateway.Check) (*airlock.Decision, error)
	close()
}

func dialerFor(engine airlock.Engine) dialer {
	if engine == airlock.EngineMySQL {
		return myDialer{}
	}
	return pgDialer{}
}

// Column is a result column with its database type.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result is what a read returned.
type Result struct {
	Columns []Column `json:"columns"`
	Rows    [][]any  `json:"rows"`
	// RowCount is the number of rows returned (not of rows there were,
	// when truncated).
	RowCount     int    `json:"row_count"`
	Truncated    bool   `json:"truncated"`
	TruncatedWhy string `json:"truncated_reason,omitempty"`
	bytes        int64
}

const (
	whyRows  = "more rows than max_rows; ask for fewer rows (WHERE, LIMIT) or raise max_rows"
	whyBytes = "the result is larger than the bytes airlock returns at once; select fewer columns or rows"
)

// add appends a row unless a bound is reached; it reports whether to
// go on.
func (r *Result) add(row []any, maxRows int, maxBytes int64) bool {
	if len(r.Rows) >= maxRows {
		r.Truncated, r.TruncatedWhy = true, whyRows
		return false
	}
	b, err := json.Marshal(row)
	if err != nil {
		for i, v := range row {
			if _, err := json.Marshal(v); err != nil {
				row[i] = "<not representable>"
			}
		}
		b, _ = json.Marshal(row)
	}
	if maxBytes >= 0 && r.bytes+int64(len(b)) > maxBytes {
		r.Truncated, r.TruncatedWhy = true, whyBytes
		return false
	}
	r.bytes += int64(len(b))
	r.Rows = append(r.Rows, row)
	r.RowCount = len(r.Rows)
	return true
}

// objects returns the rows as objects keyed by column name.
func (r *Result) objects() []map[string]any {
	out := make([]map[string]any, 0, len(r.Rows))
	for _, row := range r.Rows {
		m := make(map[string]any, len(row))
		for i, v := range row {
			if i < len(r.Columns) {
				m[r.Columns[i].Name] = v
			}
		}
		out = append(out, m)
	}
	return out
}

// WriteResult is what execute answers.
type WriteResult struct {
	// RowsChanged is the rows the statement changed, triggers and
	// cascades included where the guard counted them.
	RowsChanged int64  `json:"rows_changed"`
	Command     string `json:"command"`
	// UndoID names the captured change (undo_preview, airlock undo
	// apply); UndoNote says why there is none.
	UndoID   string `json:"undo_id,omitempty"`
	UndoNote string `json:"undo_note,omitempty"`
	Session  string `json:"session"`
}
