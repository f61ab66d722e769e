package mysqlwire

import (
	"strings"
	"time"

	"airlock"
	"airlock/internal/gateway"
)

// viewsTTL is how long a session trusts the view definitions it read
// (views created or replaced outside airlock).
const viewsTTL = 30 * time.Second

// checkViews asks the core to decide the view-write rule
// (Session.CheckViews) on the view definitions as information_schema.VIEWS
// gives them (names qualified; "" when the read account lacks SHOW VIEW),
// read here and kept for viewsTTL or until DDL passes through airlock.
func (c *conn) checkViews(ch *gateway.Check) (*airlock.Decision, error) {
	for i := range ch.Stmts {
		st := &ch.Stmts[i]
		if st.Level >= airlock.LevelDDL || st.Kind == airlock.KindDDL || st.Kind == airlock.KindDrop {
			c.srv.viewsGen.Add(1)
		}
	}
	return c.sess.CheckViews(ch, func() (gateway.ViewLookup, error) {
		if gen := c.srv.viewsGen.Load(); c.views == nil || time.Since(c.viewsAt) > viewsTTL || gen != c.viewsGen {
			r, err := c.internal(`SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME), IFNULL(VIEW_DEFINITION, '') FROM information_schema.VIEWS
			WHERE TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')`)
			if err != nil {
				return nil, err
			}
			c.views = make(map[string]string, len(r.rows))
			for _, row := range r.rows {
				if len(row) == 2 {
					c.views[strings.ToLower(row[0])] = row[1]
				}
			}
			c.viewsAt, c.viewsGen = time.Now(), gen
		}
		if len(c.views) == 0 {
			return nil, nil
		}
		schema := strings.ToLower(c.sess.Database().Database)
		return func(name string) (string, bool) {
			key := strings.ToLower(name)
			if !strings.Contains(key, ".") {
				key = schema + "." + key
			}
			def, ok := c.views[key]
			return def, ok
		}, nil
	})
}
