package pgadmin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/trash"

	"github.com/jackc/pgx/v5"
)

// ErrNameTaken is returned by TrashRestore when a name the restore needs
// is used again: the caller asks for another name.
var ErrNameTaken = trash.ErrNameTaken

// ErrNoItem is returned when the trash has no such item.
var ErrNoItem = trash.ErrNoItem

type renamed struct {
	Kind   string `json:"kind"`
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Trash  string `json:"trash"`
}

type fkey struct {
	Table string `json:"table"`
	Name  string `json:"name"`
	Def   string `json:"def"`
}

type trashRow struct {
	item    airlock.TrashItem
	schema  string
	name    string
	trash   string
	renamed []renamed
	fkeys   []fkey
}

const trashColumns = `id, kind, schema_name, table_name, trash_name, dropped_by, dropped_at, renamed::text, fkeys::text`

func scanTrash(rows pgx.Row, db string) (*trashRow, error) {
	var r trashRow
	var ren, fk string
	if err := rows.Scan(&r.item.ID, &r.item.Kind, &r.schema, &r.name, &r.trash, &r.item.User, &r.item.CreatedAt, &ren, &fk); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ren), &r.renamed); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fk), &r.fkeys); err != nil {
		return nil, err
	}
	r.item.Database = db
	r.item.Table = r.schema + "." + r.name
	r.item.TrashTable = "airlock_trash." + r.trash
	r.item.CreatedAt = r.item.CreatedAt.UTC()
	r.item.Kept = []string{}
	for _, v := range r.renamed {
		if v.Kind == "VIEW" || v.Kind == "MATERIALIZED VIEW" {
			r.item.Kept = append(r.item.Kept, fmt.Sprintf("%s %s.%s", lower(v.Kind), v.Schema, v.Name))
		}
	}
	for _, f := range r.fkeys {
		r.item.Kept = append(r.item.Kept, fmt.Sprintf("foreign key %s of %s", f.Name, f.Table))
	}
	return &r, nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func qi(s string) string { return pgx.Identifier{s}.Sanitize() }

// TrashList returns the items in db's trash, newest first.
func (Admin) TrashList(ctx context.Context, db *config.Database) ([]airlock.TrashItem, error) {
	lvl, err := adminLevel(db)
	if err != nil {
		return nil, err
	}
	c, err := Connect(ctx, db, lvl)
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	var exists bool
	if err := c.QueryRow(ctx, "SELECT pg_catalog.to_regclass('airlock_trash.items') IS NOT NULL").Scan(&exists); err != nil || !exists {
		return []airlock.TrashItem{}, err
	}
	rows, err := c.Query(ctx, "SELECT "+trashColumns+" FROM airlock_trash.items ORDER BY dropped_at DESC, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []airlock.TrashItem{}
	for rows.Next() {
		r, err := scanTrash(rows, db.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, r.item)
	}
	return out, rows.Err()
}

// trashTx runs f on item id of db's trash in one transaction with the
// ddl (or admin) credential, and commits when f succeeds.
func trashTx(ctx context.Context, db *config.Database, id string, f func(tx pgx.Tx, r *trashRow) error) (*airlock.TrashItem, error) {
	lvl, err := adminLevel(db)
	if err != nil {
		return nil, err
	}
	c, err := Connect(ctx, db, lvl)
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT pg_catalog.to_regclass('airlock_trash.items') IS NOT NULL").Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, ErrNoItem
	}
	r, err := scanTrash(tx.QueryRow(ctx, "SELECT "+trashColumns+" FROM airlock_trash.items WHERE id = $1 FOR UPDATE", id), db.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoItem
	}
	if err != nil {
		return nil, err
	}
	if err := f(tx, r); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM airlock_trash.items WHERE id = $1", id); err != nil {
		return nil, err
	}
	return &r.item, tx.Commit(ctx)
}

func taken(ctx context.Context, tx pgx.Tx, schema, name string) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", qi(schema)+"."+qi(name)).Scan(&ok)
	return ok, err
}

// TrashRestore puts item id of db's trash back: a dropped table (under
// the name as, when given) with its indexes, sequences, dependent views
// and other tables' foreign keys to it; a truncated table's rows, into
// the table. A name that is used again gives ErrNameTaken.
func (Admin) TrashRestore(ctx context.Context, db *config.Database, id, as string) (*airlock.TrashItem, error) {
	return trashTx(ctx, db, id, func(tx pgx.Tx, r *trashRow) error {
		name := r.name
		if as != "" {
			name = as
		}
		if r.item.Kind == airlock.TrashTruncate {
			return restoreRows(ctx, tx, r, name)
		}
		if t, err := taken(ctx, tx, r.schema, name); err != nil {
			return err
		} else if t {
			return fmt.Errorf("%w: %s.%s exists again", ErrNameTaken, r.schema, name)
		}
		for _, v := range r.renamed {
			if v.Schema == "" {
				continue
			}
			if t, err := taken(ctx, tx, v.Schema, v.Name); err != nil {
				return err
			} else if t {
				return fmt.Errorf("%w: the view %s.%s that depended on the table exists again", ErrNameTaken, v.Schema, v.Name)
			}
		}
		stmts := []string{
			fmt.Sprintf("ALTER TABLE airlock_trash.%s SET SCHEMA %s", qi(r.trash), qi(r.schema)),
			fmt.Sprintf("ALTER TABLE %s.%s RENAME TO %s", qi(r.schema), qi(r.trash), qi(name)),
		}
		for _, x := range stmts {
			if _, err := tx.Exec(ctx, x); err != nil {
				return err
			}
		}
		for _, v := range r.renamed {
			switch v.Kind {
			case "INDEX", "SEQUENCE":
				// An index or sequence name used again meanwhile keeps its
				// name from the trash.
				if t, err := taken(ctx, tx, r.schema, v.Name); err != nil || t {
					if err != nil {
						return err
					}
					continue
				}
				if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER %s %s.%s RENAME TO %s", v.Kind, qi(r.schema), qi(v.Trash), qi(v.Name))); err != nil {
					return err
				}
			case "VIEW", "MATERIALIZED VIEW":
				if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER %s airlock_trash.%s SET SCHEMA %s", v.Kind, qi(v.Trash), qi(v.Schema))); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER %s %s.%s RENAME TO %s", v.Kind, qi(v.Schema), qi(v.Trash), qi(v.Name))); err != nil {
					return err
				}
			}
		}
		if as == "" {
			for _, f := range r.fkeys {
				if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", f.Table, qi(f.Name), f.Def)); err != nil {
					return fmt.Errorf("re-create foreign key %s of %s: %w", f.Name, f.Table, err)
				}
			}
		}
		return nil
	})
}

// restoreRows inserts a truncated table's kept rows back into it.
func restoreRows(ctx context.Context, tx pgx.Tx, r *trashRow, name string) error {
	target := qi(r.schema) + "." + qi(name)
	var cols *string
	if err := tx.QueryRow(ctx, `SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		AND a.attname IN (SELECT b.attname FROM pg_catalog.pg_attribute b WHERE b.attrelid = pg_catalog.to_regclass($2) AND b.attnum > 0 AND NOT b.attisdropped)`,
		target, "airlock_trash."+qi(r.trash)).Scan(&cols); err != nil {
		return err
	}
	if cols == nil {
		return fmt.Errorf("table %s.%s does not exist (or has none of the kept columns): its rows go back into it", r.schema, name)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM airlock_trash.%s", target, *cols, *cols, qi(r.trash))); err != nil {
		return fmt.Errorf("put the rows back into %s.%s: %w", r.schema, name, err)
	}
	_, err := tx.Exec(ctx, "DROP TABLE airlock_trash."+qi(r.trash))
	return err
}

// TrashPurge drops item id of db's trash for good (with the views kept
// with it).
func (Admin) TrashPurge(ctx context.Context, db *config.Database, id string) (*airlock.TrashItem, error) {
	return trashTx(ctx, db, id, func(tx pgx.Tx, r *trashRow) error {
		_, err := tx.Exec(ctx, "DROP TABLE IF EXISTS airlock_trash."+qi(r.trash)+" CASCADE")
		return err
	})
}
