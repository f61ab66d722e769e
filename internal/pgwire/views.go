package pgwire

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/gateway"

	"github.com/jackc/pgx/v5/pgconn"
)

// viewsTTL is how long a database's view definitions are trusted before
// they are read again (views created or replaced outside airlock).
const viewsTTL = 30 * time.Second

// viewsSettle is how long after a DDL statement passed through airlock the
// definitions read are used for one check only and not kept: the DDL may
// not have run, or committed, when they were read.
const viewsSettle = 5 * time.Second

// viewCatalog is the view definitions of one database, read from its
// catalog on a connection of airlock's own (the read credential) and
// kept for viewsTTL.
type viewCatalog struct {
	mu       sync.Mutex
	views    map[string]string // "schema.name" → definition (names fully qualified)
	loaded   time.Time
	unsettle time.Time // until then, what is read is not kept
}

// invalidate drops the definitions: a DDL statement passed through airlock.
func (v *viewCatalog) invalidate() {
	v.mu.Lock()
	v.views = nil
	v.unsettle = time.Now().Add(viewsSettle)
	v.mu.Unlock()
}

// get returns the view definitions, reading them when they are missing
// or older than viewsTTL.
func (v *viewCatalog) get(ctx context.Context, db *config.Database, cred config.Credential) (map[string]string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	if v.views != nil && now.Sub(v.loaded) < viewsTTL {
		return v.views, nil
	}
	views, err := loadViews(ctx, db, cred)
	if err != nil {
		return nil, err
	}
	if now.After(v.unsettle) {
		v.views, v.loaded = views, now
	}
	return views, nil
}

// loadViews reads every view's definition with names fully qualified.
func loadViews(ctx context.Context, db *config.Database, cred config.Credential) (map[string]string, error) {
	connStr, err := db.PGConnString(cred.User)
	if err != nil {
		return nil, err
	}
	cfg, err := pgconn.ParseConfig(connStr)
	if err != nil {
		return nil, fmt.Errorf("view catalog config: %w", err)
	}
	cfg.Password = cred.Password
	cfg.RuntimeParams = map[string]string{"search_path": "", "application_name": "airlock-catalog"}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("read view definitions: %w", err)
	}
	defer pc.Close(context.Background())
	res := pc.ExecParams(ctx, `SELECT n.nspname || '.' || c.relname, pg_catalog.pg_get_viewdef(c.oid)
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema')`, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, fmt.Errorf("read view definitions: %w", res.Err)
	}
	views := make(map[string]string, len(res.Rows))
	for _, r := range res.Rows {
		views[string(r[0])] = string(r[1])
	}
	return views, nil
}

// catalog returns the view catalog of database name.
func (s *Server) catalog(name string) *viewCatalog {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.viewCats == nil {
		s.viewCats = map[string]*viewCatalog{}
	}
	v := s.viewCats[name]
	if v == nil {
		v = &viewCatalog{}
		s.viewCats[name] = v
	}
	return v
}

// Veto is the session's last word on an allowed check (gateway.Adapter):
// the view-write rule, decided by the core (Session.CheckViews) on the
// view definitions read here. DDL passing through airlock makes the
// database's view definitions be read again.
func (c *conn) Veto(ch *gateway.Check) (*airlock.Decision, error) {
	db := c.sess.Database()
	cat := c.srv.catalog(db.Name)
	for i := range ch.Stmts {
		st := &ch.Stmts[i]
		switch {
		case st.Level >= airlock.LevelDDL || st.Kind == airlock.KindDDL || st.Kind == airlock.KindDrop:
			c.ddlInTx = true
			cat.invalidate()
		case st.Txn == airlock.TxnCommit || st.Txn == airlock.TxnRollback:
			if c.ddlInTx {
				c.ddlInTx = false
				cat.invalidate()
			}
		}
	}
	return c.sess.CheckViews(ch, func() (gateway.ViewLookup, error) {
		cred, ok := c.sess.Credential(airlock.LevelRead)
		if !ok {
			return nil, fmt.Errorf("no read credential to read view definitions")
		}
		views, err := cat.get(c.ctx, db, cred)
		if err != nil || len(views) == 0 {
			return nil, err
		}
		return func(name string) (string, bool) {
			def, ok := views[name]
			if !ok {
				def, ok = views[strings.ToLower(name)]
			}
			return def, ok
		}, nil
	})
}
