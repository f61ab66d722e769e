package myadmin

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/trash"
	"airlock/internal/undo"
)

type myItem struct {
	item         airlock.TrashItem
	schema, name string
	trashName    string
	triggers     []trash.MyTrigger
}

// trashQuery adapts a connection (or transaction) to trash.Query.
func trashQuery(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) trash.Query {
	return func(s string) ([][]string, error) {
		rows, err := q.QueryContext(ctx, s)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return nil, err
		}
		var out [][]string
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			r := make([]string, len(vals))
			for i, v := range vals {
				r[i] = v.String
			}
			out = append(out, r)
		}
		return out, rows.Err()
	}
}

func trashItems(ctx context.Context, c *sql.DB, db *config.Database, id string) ([]*myItem, error) {
	var n int
	if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'airlock_trash' AND TABLE_NAME = 'items'").Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	q := "SELECT id, kind, schema_name, table_name, trash_name, dropped_by, CAST(dropped_at AS char), triggers FROM airlock_trash.items WHERE schema_name = ?"
	args := []any{db.Database}
	if id != "" {
		q += " AND id = ?"
		args = append(args, id)
	}
	rows, err := c.QueryContext(ctx, q+" ORDER BY dropped_at DESC, id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*myItem
	for rows.Next() {
		var it myItem
		var at, trig string
		if err := rows.Scan(&it.item.ID, &it.item.Kind, &it.schema, &it.name, &it.trashName, &it.item.User, &at, &trig); err != nil {
			return nil, err
		}
		t, err := time.Parse("2006-01-02 15:04:05.999999", at)
		if err != nil {
			return nil, fmt.Errorf("trash item %s: time %q: %w", it.item.ID, at, err)
		}
		if err := json.Unmarshal([]byte(trig), &it.triggers); err != nil {
			return nil, fmt.Errorf("trash item %s: triggers: %w", it.item.ID, err)
		}
		it.item.CreatedAt, it.item.Database = t.UTC(), db.Name
		it.item.Table, it.item.TrashTable = it.schema+"."+it.name, "airlock_trash."+it.trashName
		it.item.Kept = []string{}
		for _, tr := range it.triggers {
			if !strings.HasPrefix(tr.Name, "airlock_") {
				it.item.Kept = append(it.item.Kept, "trigger "+tr.Name)
			}
		}
		out = append(out, &it)
	}
	return out, rows.Err()
}

func trashConn(ctx context.Context, db *config.Database) (*sql.DB, error) {
	lvl, err := adminLevel(db)
	if err != nil {
		return nil, err
	}
	return Connect(ctx, db, lvl)
}

// TrashList returns the items of db's schema in the quarantine database,
// newest first.
func (Admin) TrashList(ctx context.Context, db *config.Database) ([]airlock.TrashItem, error) {
	c, err := trashConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	its, err := trashItems(ctx, c, db, "")
	if err != nil {
		return nil, err
	}
	out := []airlock.TrashItem{}
	for _, it := range its {
		out = append(out, it.item)
	}
	return out, nil
}

func withItem(ctx context.Context, db *config.Database, id string, f func(c *sql.DB, q trash.Query, it *myItem) error) (*airlock.TrashItem, error) {
	c, err := trashConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	its, err := trashItems(ctx, c, db, id)
	if err != nil {
		return nil, err
	}
	if len(its) == 0 {
		return nil, trash.ErrNoItem
	}
	it := its[0]
	if err := f(c, trashQuery(ctx, c), it); err != nil {
		return nil, err
	}
	if _, err := c.ExecContext(ctx, "DELETE FROM airlock_trash.items WHERE id = ?", id); err != nil {
		return nil, err
	}
	return &it.item, nil
}

// TrashRestore puts item id back: a dropped table renamed back into its
// schema (under as, when given) with its triggers (not under another
// name: their text names the table), or a truncated table's rows into it.
func (Admin) TrashRestore(ctx context.Context, db *config.Database, id, as string) (*airlock.TrashItem, error) {
	return withItem(ctx, db, id, func(c *sql.DB, q trash.Query, it *myItem) error {
		name := it.name
		if as != "" {
			name = as
		}
		target := undo.MyQuoteIdent(it.schema) + "." + undo.MyQuoteIdent(name)
		if it.item.Kind == airlock.TrashTruncate {
			cols, err := trash.MyColumns(q, it.schema, name)
			if err != nil {
				return err
			}
			if len(cols) == 0 {
				return fmt.Errorf("table %s.%s does not exist: a truncated table's rows go back into it", it.schema, name)
			}
			cs := strings.Join(cols, ", ")
			if _, err := c.ExecContext(ctx, "INSERT INTO "+target+" ("+cs+") SELECT "+cs+" FROM airlock_trash."+undo.MyQuoteIdent(it.trashName)); err != nil {
				return fmt.Errorf("put the rows back into %s.%s: %w", it.schema, name, err)
			}
			_, err = c.ExecContext(ctx, "DROP TABLE airlock_trash."+undo.MyQuoteIdent(it.trashName))
			return err
		}
		var n int
		if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", it.schema, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s.%s exists again", trash.ErrNameTaken, it.schema, name)
		}
		if _, err := c.ExecContext(ctx, "RENAME TABLE airlock_trash."+undo.MyQuoteIdent(it.trashName)+" TO "+target); err != nil {
			return err
		}
		if as != "" {
			return nil
		}
		for _, tr := range it.triggers {
			if _, err := c.ExecContext(ctx, "SET SESSION sql_mode = "+undo.MyQuoteLiteral(tr.SQLMode)); err != nil {
				return err
			}
			if _, err := c.ExecContext(ctx, tr.SQL); err != nil {
				return fmt.Errorf("re-create trigger %s: %w", tr.Name, err)
			}
		}
		_, err := c.ExecContext(ctx, "SET SESSION sql_mode = "+undo.MyQuoteLiteral(undo.MySQLMode))
		return err
	})
}

// TrashPurge drops item id for good.
func (Admin) TrashPurge(ctx context.Context, db *config.Database, id string) (*airlock.TrashItem, error) {
	return withItem(ctx, db, id, func(c *sql.DB, _ trash.Query, it *myItem) error {
		_, err := c.ExecContext(ctx, "DROP TABLE IF EXISTS airlock_trash."+undo.MyQuoteIdent(it.trashName))
		return err
	})
}
