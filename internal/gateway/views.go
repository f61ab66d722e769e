package gateway

import (
	"strings"

	"airlock"
)

// ViewLookup returns the definition of the view a statement names as
// name (as the statement writes it), and whether it is a view at all. An
// adapter reads the definitions from its database's catalog, the one
// thing of the view-write rule only it can do; "" is a view whose
// definition the catalog does not show.
type ViewLookup func(name string) (def string, ok bool)

// maxViewDepth bounds the expansion of views over views.
const maxViewDepth = 16

// CheckViews decides the view-write rule (airlock.RuleViewWrite) for an
// allowed check: in a read session, reading a view whose definition needs
// more than the session's level (a view over a function that may write)
// is denied. The upstream's read-only setting would stop the write too,
// but airlock decides before forwarding. views is asked only when the
// check reads tables in a session below write; its error (the catalog
// could not be read) is returned, and the adapter's veto denies with it.
// A nil lookup from views means the database has no views.
func (s *Session) CheckViews(c *Check, views func() (ViewLookup, error)) (*airlock.Decision, error) {
	reads := false
	for i := range c.Stmts {
		if len(c.Stmts[i].Tables) > 0 {
			reads = true
		}
	}
	level := s.Level()
	if !reads || level >= airlock.LevelWrite {
		return nil, nil
	}
	lookup, err := views()
	if err != nil || lookup == nil {
		return nil, err
	}
	for i := range c.Stmts {
		for _, t := range c.Stmts[i].Tables {
			if d := s.expandView(lookup, t, t, level, 0); d != nil {
				return d, nil
			}
		}
	}
	return nil, nil
}

// expandView classifies the definition of view (reached from top, the
// view the statement names) and the views it reads in turn, and returns a
// denial when any needs more than level. The wording differs by engine as
// it always has: PostgreSQL's reasons all read "is defined as a query
// that ...".
func (s *Session) expandView(lookup ViewLookup, top, view string, level airlock.Level, depth int) *airlock.Decision {
	def, ok := lookup(view)
	if !ok {
		return nil
	}
	pg := s.Database().Engine != "mysql"
	deny := func(why string, need airlock.Level) *airlock.Decision {
		if pg {
			why = "is defined as a query that " + why
		}
		d := ViewWrite(top, view, why, need, level)
		return &d
	}
	if def == "" && !pg {
		return deny("has a definition airlock cannot read (the read account needs SHOW VIEW)", airlock.LevelAdmin)
	}
	if depth >= maxViewDepth {
		return deny("nests views too deep to check", airlock.LevelAdmin)
	}
	stmts, err := s.Classify(def)
	if err != nil {
		if pg {
			return deny("airlock cannot parse", airlock.LevelAdmin)
		}
		return deny("is defined as a query airlock cannot parse", airlock.LevelAdmin)
	}
	for i := range stmts {
		st := &stmts[i]
		if st.Level > level {
			why := st.Why
			if pg {
				if why == "" {
					why = "needs more"
				}
				return deny(strings.TrimSpace(why), st.Level)
			}
			return deny("is defined as a query that "+strings.TrimSpace(why), st.Level)
		}
		for _, t := range st.Tables {
			if d := s.expandView(lookup, top, t, level, depth+1); d != nil {
				return d
			}
		}
	}
	return nil
}
