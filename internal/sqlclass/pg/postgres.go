package pg

import (
	"errors"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"

	"airlock"
	"airlock/internal/sqlclass"
)

// Postgres classifies PostgreSQL statements with the real PostgreSQL grammar
// (pg_query_go/v6, the parser of PostgreSQL 17, which accepts every statement
// of the versions before it). It is safe for concurrent use. The zero value
// classifies without a cache.
type Postgres struct {
	cache *classCache // nil: parse every text
}

// New returns a PostgreSQL classifier with a classification cache
// (cache.go) of DefaultCacheEntries entries and DefaultCacheBytes bytes,
// unless options say otherwise.
func New(opts ...Option) *Postgres {
	p := &Postgres{cache: newClassCache(DefaultCacheEntries, DefaultCacheBytes)}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Classify parses text, which may hold several statements separated by ';',
// and returns the facts of each, in order.
//
// An empty text or one with only comments (or only ';') returns one
// Statement of kind airlock.KindEmpty at airlock.LevelRead. Text that does
// not parse (including text holding a zero byte, which the PostgreSQL
// protocol cannot carry) returns a *sqlclass.ParseError and no statements.
//
// The returned slice is the caller's own: its Statements may be changed.
// The slices they hold (Tables, WriteTables, Functions) may be shared with
// the cache and other callers and must be treated as read-only: copy one
// before changing it. With a cache, a text whose shape (its text with
// literals, whitespace and comments normalized) was classified before
// gets the facts found then, with its own statement texts; the cache
// never changes the facts (see cache.go).
func (p *Postgres) Classify(text string) ([]airlock.Statement, error) {
	if p.cache != nil {
		sts, _, err := p.cache.classify(text)
		return sts, err
	}
	return parse(text)
}

// parse classifies text with the parser, without the cache.
func parse(text string) ([]airlock.Statement, error) {
	if i := strings.IndexByte(text, 0); i >= 0 {
		return nil, &sqlclass.ParseError{Message: "query text contains a zero byte", Position: utf8.RuneCountInString(text[:i]) + 1}
	}
	tree, err := pg.Parse(blankComments(text))
	if err != nil {
		var pe *parser.Error
		if errors.As(err, &pe) {
			return nil, &sqlclass.ParseError{Message: pe.Message, Position: pe.Cursorpos, Syntax: true}
		}
		return nil, &sqlclass.ParseError{Message: err.Error()}
	}
	if len(tree.Stmts) == 0 {
		return []airlock.Statement{{
			Kind:        airlock.KindEmpty,
			Level:       airlock.LevelRead,
			Why:         "an empty query does nothing",
			Tables:      []string{},
			WriteTables: []string{},
			Functions:   []string{},
			Text:        strings.TrimSpace(text),
		}}, nil
	}
	out := make([]airlock.Statement, 0, len(tree.Stmts))
	for _, raw := range tree.Stmts {
		st := classifyPGStmt(raw.Stmt)
		st.Text = stmtText(text, raw)
		out = append(out, st)
	}
	return out, nil
}

// blankComments returns text with each comment replaced by as many spaces,
// byte for byte (so the parser's locations still point into text), when
// the lexer finds the comments exactly; otherwise text itself. PostgreSQL
// reads a comment as whitespace, but pg_query's parser hands comments to
// its one-token lookahead (after NOT, NULLS, WITH, WITHOUT, FORMAT), so
// that "a NOT/**/IN (1)", which PostgreSQL runs, would not parse and be
// denied.
func blankComments(text string) string {
	if !strings.Contains(text, "--") && !strings.Contains(text, "/*") {
		return text
	}
	var comments []span
	_, _, ok := cacheKey(text, nil, nil, func(p lexPiece, i, j int) {
		if p == pieceComment {
			comments = append(comments, span{i, j})
		}
	})
	if !ok || len(comments) == 0 {
		return text
	}
	b := []byte(text)
	for _, c := range comments {
		for k := c.start; k < c.end; k++ {
			b[k] = ' '
		}
	}
	return string(b)
}

// stmtText cuts one statement's text out of the whole text. RawStmt
// locations are byte offsets; a length of 0 means "to the end".
func stmtText(text string, raw *pg.RawStmt) string {
	start, n := int(raw.StmtLocation), int(raw.StmtLen)
	if start < 0 || start > len(text) {
		start = 0
	}
	end := len(text)
	if n > 0 && start+n <= len(text) {
		end = start + n
	}
	// The parser ends a statement before its ';' (and a last statement
	// without ';' at the end of the text), so only whitespace is left to trim.
	return strings.TrimSpace(text[start:end])
}
