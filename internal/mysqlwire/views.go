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

// maxViewDepth bounds the expansion of views over views.
const maxViewDepth = 16

// checkViews denies, in a read session, reading a view whose definition
// (as information_schema.VIEWS gives it, names qualified) needs more than
// read, or that airlock cannot read (the read account lacks SHOW VIEW).
func (c *conn) checkViews(ch *gateway.Check) (*airlock.Decision, error) {
	reads := false
	for i := range ch.Stmts {
		st := &ch.Stmts[i]
		if st.Level >= airlock.LevelDDL || st.Kind == airlock.KindDDL || st.Kind == airlock.KindDrop {
			c.srv.viewsGen.Add(1)
		}
		if len(st.Tables) > 0 {
			reads = true
		}
	}
	level := c.sess.Level()
	if !reads || level >= airlock.LevelWrite {
		return nil, nil
	}
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
	for i := range ch.Stmts {
		for _, t := range ch.Stmts[i].Tables {
			if d := c.expandView(t, t, level, 0); d != nil {
				return d, nil
			}
		}
	}
	return nil, nil
}

// expandView classifies the definition of view (reached from top) and the
// views it reads in turn.
func (c *conn) expandView(top, view string, level airlock.Level, depth int) *airlock.Decision {
	key := strings.ToLower(view)
	if !strings.Contains(key, ".") {
		key = strings.ToLower(c.sess.Database().Database) + "." + key
	}
	def, ok := c.views[key]
	if !ok {
		return nil
	}
	deny := func(why string, need airlock.Level) *airlock.Decision {
		d := gateway.ViewWrite(top, view, why, need, level)
		return &d
	}
	if def == "" {
		return deny("has a definition airlock cannot read (the read account needs SHOW VIEW)", airlock.LevelAdmin)
	}
	if depth >= maxViewDepth {
		return deny("nests views too deep to check", airlock.LevelAdmin)
	}
	stmts, err := c.sess.Classify(def)
	if err != nil {
		return deny("is defined as a query airlock cannot parse", airlock.LevelAdmin)
	}
	for i := range stmts {
		st := &stmts[i]
		if st.Level > level {
			return deny("is defined as a query that "+strings.TrimSpace(st.Why), st.Level)
		}
		for _, t := range st.Tables {
			if d := c.expandView(top, t, level, depth+1); d != nil {
				return d
			}
		}
	}
	return nil
}
