package gateway

import (
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/policy"
)

// Preview is what `airlock policy test` shows: the facts of each
// statement as the gateway sees them and the decision at a level, made
// without any database or store.
type Preview struct {
	Statements []airlock.Statement `json:"statements"`
	Decision   airlock.Decision    `json:"decision"`
	// Guarded reports that the statement would run guarded: its real
	// changed rows counted against Limit before it could commit.
	Guarded bool  `json:"guarded"`
	Limit   int64 `json:"max_rows_changed,omitempty"`
	// Unbounded is, for an UPDATE or DELETE without WHERE that runs
	// guarded, how many rows it may change (unbounded-write).
	Unbounded int64 `json:"unbounded_write_max_rows,omitempty"`
	// ParseError is the classifier's message when the text does not parse.
	ParseError string `json:"parse_error,omitempty"`
}

// PreviewDecision classifies and decides text for user on db at level
// exactly as a session would (the same classifier, qualification, policy
// and guard), without a database. searchPath may be empty.
func PreviewDecision(cfg *config.Config, pol *policy.Engine, cl Classifier, u *airlock.User, db *config.Database, level airlock.Level, text string, now time.Time) Preview {
	g := &Gateway{classifiers: map[airlock.Engine]Classifier{db.Engine: cl}, now: func() time.Time { return now }}
	g.live.Store(&live{cfg: cfg, policy: pol})
	s := &Session{g: g, prepared: map[string]*Prepared{}}
	s.user.Store(u)
	s.db.Store(db)
	s.level.Store(int32(level))
	c := &Check{Text: text}
	stmts, err := s.Classify(text)
	if err != nil {
		c.Decision = s.parseDenial(err)
		return Preview{Decision: c.Decision, ParseError: err.Error()}
	}
	c.Stmts = stmts
	s.substitute(c)
	c.Decision = s.decide(c.Stmts)
	s.guard(c)
	p := Preview{Statements: c.Stmts, Decision: c.Decision}
	if c.Guard != nil {
		p.Guarded, p.Limit, p.Unbounded = true, c.Guard.Limit, c.Guard.Unbounded
	}
	return p
}
