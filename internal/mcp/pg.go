package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/pgadmin"
	"airlock/internal/undo"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// pgDialer serves PostgreSQL databases with pgx.
type pgDialer struct{}

type pgUp struct{ conn *pgx.Conn }

func (pgDialer) dial(ctx context.Context, sess *gateway.Session, timeout time.Duration) (upstream, error) {
	lvl := sess.Level()
	cred, ok := sess.Credential(lvl)
	if !ok {
		return nil, fmt.Errorf("database %s has no %s credential", sess.Database().Name, lvl)
	}
	connStr, err := sess.Database().PGConnString(cred.User)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(connStr)
	if err != nil {
		return nil, err
	}
	cfg.Password = cred.Password
	// As the wire adapter: the upstream names the person and session, a
	// read session is read-only on the database too, and lexing settings
	// keep their pinned values.
	cfg.RuntimeParams["application_name"] = fmt.Sprintf("airlock:%s:%s", sess.User().Name, sess.ID())
	cfg.RuntimeParams["client_encoding"] = "UTF8"
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(timeout.Milliseconds(), 10)
	if lvl <= airlock.LevelRead {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &pgUp{conn: c}, nil
}

func (u *pgUp) veto(*gateway.Check) (*airlock.Decision, error) { return nil, nil }

func (u *pgUp) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	u.conn.Close(ctx)
}

func (u *pgUp) read(ctx context.Context, text string, maxRows int, maxBytes int64) (*Result, error) {
	rows, err := u.conn.Query(ctx, text, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	r := &Result{Columns: []Column{}, Rows: [][]any{}}
	for _, fd := range rows.FieldDescriptions() {
		typ := strconv.FormatUint(uint64(fd.DataTypeOID), 10)
		if t, ok := u.conn.TypeMap().TypeForOID(fd.DataTypeOID); ok {
			typ = t.Name
		}
		r.Columns = append(r.Columns, Column{Name: fd.Name, Type: typ})
	}
	fds := rows.FieldDescriptions()
	for rows.Next() {
		raw := rows.RawValues()
		vals := make([]any, len(raw))
		for i, b := range raw {
			vals[i] = pgValue(fds[i].DataTypeOID, fds[i].Format, b)
		}
		if !r.add(vals, maxRows, maxBytes) {
			// Stop the statement rather than read what is not sent.
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			u.conn.PgConn().CancelRequest(cctx)
			cancel()
			rows.Close()
			return r, nil
		}
	}
	rows.Close()
	return r, rows.Err()
}

func (u *pgUp) write(ctx context.Context, sess *gateway.Session, ch *gateway.Check) (*WriteResult, *airlock.Decision, error) {
	bg := context.WithoutCancel(ctx)
	fail := func(err error) (*WriteResult, *airlock.Decision, error) {
		u.conn.Exec(bg, "ROLLBACK")
		sess.Done(ch, 0, gateway.Outcome{Err: errText(err)})
		sess.TxnEnded(false)
		return nil, nil, writeFailed(sess, err)
	}
	tx, err := u.conn.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	g := ch.Guard
	var before int64
	prepared := false
	if g != nil {
		if err := tx.QueryRow(ctx, undo.ChangedRows).Scan(&before); err != nil {
			return fail(err)
		}
		if g.Capture {
			if err := tx.QueryRow(ctx, undo.Prepared).Scan(&prepared); err != nil {
				return fail(err)
			}
			if _, err := tx.Exec(ctx, undo.StartCapture(g.UndoID)); err != nil {
				return fail(err)
			}
		}
	}
	tag, err := tx.Exec(ctx, ch.Text, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return fail(err)
	}
	changed := tag.RowsAffected()
	if g != nil {
		var after int64
		if err := tx.QueryRow(ctx, undo.ChangedRows).Scan(&after); err != nil {
			return fail(err)
		}
		changed = after - before
		var images []airlock.UndoImage
		if prepared {
			if images, err = pgadmin.ReadCaptured(ctx, tx, g.UndoID); err != nil {
				return fail(err)
			}
		}
		deny := sess.RowsChanged(ch, changed)
		if deny == nil && g.Capture {
			deny = sess.Captured(ch, images, changed, prepared)
		}
		if deny != nil {
			u.conn.Exec(bg, "ROLLBACK")
			sess.TxnEnded(false)
			return nil, deny, nil
		}
	}
	if reason := sess.EndReason(); reason != "" {
		return fail(errors.New("the session ended (" + reason + ") before the write could commit"))
	}
	sess.Done(ch, 0, gateway.Outcome{Rows: tag.RowsAffected(), Tag: tag.String()})
	if err := sess.SyncAudit(); err != nil {
		u.conn.Exec(bg, "ROLLBACK")
		sess.TxnEnded(false)
		return nil, nil, errors.New("airlock: denied: audit: the audit log cannot record this write; it was rolled back, try again shortly")
	}
	if err := tx.Commit(ctx); err != nil {
		sess.TxnEnded(false)
		return nil, nil, fmt.Errorf("database error: the commit failed (%s); nothing was changed", errText(err))
	}
	sess.TxnEnded(true)
	res := &WriteResult{RowsChanged: changed, Command: tag.String(), Session: sess.ID()}
	res.UndoID, res.UndoNote = ch.UndoID()
	return res, nil, nil
}

func (pgDialer) describe(db *config.Database, schema, table string) []describeQuery {
	if table != "" {
		if schema == "" {
			schema = "public"
			if s, t, ok := strings.Cut(table, "."); ok {
				schema, table = s, t
			}
		}
		rel := undo.QuoteLiteral(pgIdent(schema) + "." + pgIdent(table))
		return []describeQuery{
			{"", "SELECT * FROM " + pgIdent(schema) + "." + pgIdent(table) + " LIMIT 0"},
			{"table", `SELECT n.nspname AS schema, c.relname AS table, greatest(c.reltuples, 0)::bigint AS row_estimate
				FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ` + rel + `::regclass`},
			{"columns", `SELECT a.attname AS column, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
				pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default
				FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
				WHERE a.attrelid = ` + rel + `::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`},
			{"keys", `SELECT conname AS name, CASE contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' ELSE 'foreign key' END AS kind,
				pg_catalog.pg_get_constraintdef(oid) AS definition
				FROM pg_catalog.pg_constraint WHERE conrelid = ` + rel + `::regclass AND contype IN ('p', 'u', 'f') ORDER BY contype DESC, conname`},
		}
	}
	where := ""
	if schema != "" {
		where = " AND n.nspname = " + undo.QuoteLiteral(schema)
	}
	return []describeQuery{{"tables", `SELECT n.nspname AS schema, c.relname AS table,
		CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind,
		greatest(c.reltuples, 0)::bigint AS row_estimate
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'airlock')
		AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'` + where + ` ORDER BY 1, 2`}}
}

// pgIdent quotes a PostgreSQL identifier.
func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// pgValue is a value as the database wrote it (the simple protocol's text
// form), as JSON: numbers and booleans as such, json as JSON, anything
// else (uuid, timestamps, numeric, arrays...) as its text, which is exact.
func pgValue(oid uint32, format int16, b []byte) any {
	if b == nil {
		return nil
	}
	if format != pgtype.TextFormatCode {
		return b // not sent by the simple protocol; base64 in JSON
	}
	t := string(b)
	switch oid {
	case pgtype.BoolOID:
		return t == "t"
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID:
		return json.Number(t)
	case pgtype.Float4OID, pgtype.Float8OID:
		if _, err := strconv.ParseFloat(t, 64); err == nil && t != "NaN" && !strings.Contains(t, "Infinity") {
			return json.Number(t)
		}
	case pgtype.JSONOID, pgtype.JSONBOID:
		if json.Valid(b) {
			return json.RawMessage(b)
		}
	}
	return t
}
