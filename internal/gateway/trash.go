package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/config"
	"airlock/internal/trash"
)

// TrashAdmin lists, restores and purges what soft DROP and TRUNCATE kept
// (pgadmin). TrashRestore returns an error wrapping trash.ErrNameTaken
// when a name it needs is used again, trash.ErrNoItem for an unknown id.
type TrashAdmin interface {
	TrashList(ctx context.Context, db *config.Database) ([]airlock.TrashItem, error)
	TrashRestore(ctx context.Context, db *config.Database, id, as string) (*airlock.TrashItem, error)
	TrashPurge(ctx context.Context, db *config.Database, id string) (*airlock.TrashItem, error)
}

// trashDBs are the databases with soft_drop (name: only that one).
func (g *Gateway) trashDBs(name string) ([]*config.Database, error) {
	var out []*config.Database
	cfg := g.config()
	for i := range cfg.Databases {
		db := &cfg.Databases[i]
		if db.SoftDrop == nil || (name != "" && db.Name != name) {
			continue
		}
		if _, ok := g.admins[db.Engine].(TrashAdmin); ok {
			out = append(out, db)
		}
	}
	if name != "" && len(out) == 0 {
		if g.config().DB(name) == nil {
			return nil, airlock.Errorf(airlock.ENOTFOUND, "no database %q", name)
		}
		return nil, airlock.Errorf(airlock.EINVALID, "database %s does not keep dropped tables (soft_drop is not set)", name)
	}
	return out, nil
}

func mayTrash(a *access.Actor) error {
	if !a.IsAdmin() {
		return airlock.Errorf(airlock.EFORBIDDEN, "only admins see, restore and purge the trash")
	}
	return nil
}

// TrashList lists the trash of the database called name ("": every
// database with soft_drop), newest first, with when each item expires.
func (g *Gateway) TrashList(ctx context.Context, a *access.Actor, name string) ([]airlock.TrashItem, error) {
	if err := mayTrash(a); err != nil {
		return nil, err
	}
	dbs, err := g.trashDBs(name)
	if err != nil {
		return nil, err
	}
	out := []airlock.TrashItem{}
	for _, db := range dbs {
		items, err := g.admins[db.Engine].(TrashAdmin).TrashList(ctx, db)
		if err != nil {
			return nil, airlock.Errorf(airlock.EUNAVAILABLE, "list the trash of %s: %v", db.Name, err)
		}
		for _, it := range items {
			it.ExpiresAt = it.CreatedAt.Add(db.SoftDrop.Retention)
			out = append(out, it)
		}
	}
	return out, nil
}

// trashOp runs op on the item id, in whichever database's trash holds it.
func (g *Gateway) trashOp(ctx context.Context, id string, op func(TrashAdmin, *config.Database) (*airlock.TrashItem, error)) (*airlock.TrashItem, *config.Database, error) {
	if !strings.HasPrefix(id, "tr_") {
		return nil, nil, airlock.Errorf(airlock.EINVALID, "%q is not a trash item (tr_...)", id)
	}
	dbs, err := g.trashDBs("")
	if err != nil {
		return nil, nil, err
	}
	for _, db := range dbs {
		it, err := op(g.admins[db.Engine].(TrashAdmin), db)
		switch {
		case errors.Is(err, trash.ErrNoItem):
			continue
		case errors.Is(err, trash.ErrNameTaken):
			return nil, nil, airlock.Errorf(airlock.ECONFLICT, "%v: restore it under another name (--as NAME)", strings.TrimPrefix(err.Error(), trash.ErrNameTaken.Error()+": "))
		case err != nil:
			return nil, nil, airlock.Errorf(airlock.EUNAVAILABLE, "trash of %s: %v", db.Name, err)
		}
		it.ExpiresAt = it.CreatedAt.Add(db.SoftDrop.Retention)
		return it, db, nil
	}
	return nil, nil, airlock.Errorf(airlock.ENOTFOUND, "no trash item %s", id)
}

// TrashRestore puts item id back (a dropped table under the name as, when
// given), audited.
func (g *Gateway) TrashRestore(ctx context.Context, a *access.Actor, id, as string) (*airlock.TrashItem, error) {
	if err := mayTrash(a); err != nil {
		return nil, err
	}
	if strings.Contains(as, ".") {
		return nil, airlock.Errorf(airlock.EINVALID, "--as takes a table name without its schema: the table goes back to its schema")
	}
	it, db, err := g.trashOp(ctx, id, func(t TrashAdmin, db *config.Database) (*airlock.TrashItem, error) {
		return t.TrashRestore(ctx, db, id, as)
	})
	if err != nil {
		return nil, err
	}
	d := map[string]string{"kind": it.Kind, "table": it.Table}
	if as != "" {
		d["as"] = as
	}
	return it, g.audit.Record(ctx, &airlock.Event{Type: airlock.EventSystem, Action: "trash-restored", User: a.User.Name, Database: db.Name, Ref: id, Detail: d})
}

// TrashPurge drops item id for good, audited.
func (g *Gateway) TrashPurge(ctx context.Context, a *access.Actor, id string) (*airlock.TrashItem, error) {
	if err := mayTrash(a); err != nil {
		return nil, err
	}
	return g.purge(ctx, id, a.User.Name, "by hand")
}

func (g *Gateway) purge(ctx context.Context, id, who, why string) (*airlock.TrashItem, error) {
	it, db, err := g.trashOp(ctx, id, func(t TrashAdmin, db *config.Database) (*airlock.TrashItem, error) { return t.TrashPurge(ctx, db, id) })
	if err != nil {
		return nil, err
	}
	return it, g.audit.Record(ctx, &airlock.Event{Type: airlock.EventSystem, Action: "trash-purged", User: who, Database: db.Name, Ref: id,
		Detail: map[string]string{"kind": it.Kind, "table": it.Table, "why": why}})
}

// PurgeExpiredTrash purges every trash item past its database's
// retention at the gateway's clock now, and returns how many.
func (g *Gateway) PurgeExpiredTrash(ctx context.Context) (int, error) {
	dbs, err := g.trashDBs("")
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, db := range dbs {
		items, err := g.admins[db.Engine].(TrashAdmin).TrashList(ctx, db)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, it := range items {
			if g.now().Before(it.CreatedAt.Add(db.SoftDrop.Retention)) {
				continue
			}
			if _, err := g.purge(ctx, it.ID, "", "retention "+db.SoftDrop.Retention.String()); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

// RunTrashRetention purges expired trash items every interval until stop
// is closed.
func (g *Gateway) RunTrashRetention(stop <-chan struct{}, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := g.PurgeExpiredTrash(context.Background()); err != nil {
			g.log.Error("trash retention", "err", err)
		} else if n > 0 {
			g.log.Info("trash retention: purged expired items", "count", n)
		}
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}
