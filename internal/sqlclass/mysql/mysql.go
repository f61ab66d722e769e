package mysql

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values for the parser

	"airlock"
	"airlock/internal/sqlclass"
)

// MySQL classifies MySQL and MariaDB statements into the same facts as
// pg.Postgres, with the same meaning, so that one policy decides both
// dialects. It is safe for concurrent use.
//
// The text is first scanned as MariaDB's own lexer would (mysqllex.go):
// that finds the statements of a multi-statement text and every comment,
// and executable comments (/*! */, /*!NNNNN */, /*M! */) are code. Each
// statement is then parsed by the TiDB parser (github.com/pingcap/tidb/
// pkg/parser, MySQL 8 grammar) from a copy where comments are blanked, so
// the parser sees what the server runs. A few MariaDB statements that the
// TiDB grammar lacks or reads with too little detail are recognized by
// hand with an exact grammar (mysqlhand.go): transaction control, XA,
// HANDLER, SET STATEMENT ... FOR, SET DEFAULT ROLE, EXECUTE IMMEDIATE, and,
// when the parser refuses them, SHOW variants, ANALYZE <statement>, EXPLAIN
// EXTENDED, SELECT ... INTO @var and INTO DUMPFILE, ... RETURNING, CREATE
// OR REPLACE TABLE, table maintenance and server administration
// statements. Anything else the parser refuses is a *sqlclass.ParseError.
//
// The classifier fails closed as pg.Postgres does: a text it cannot read
// exactly as the server would is a *sqlclass.ParseError; a statement kind
// it does not know is airlock.KindUnknown at airlock.LevelAdmin; a
// function that is not a builtin of the server (mysqlbuiltins.go,
// generated from a real MariaDB) is assumed to change data.
type MySQL struct {
	parsers sync.Pool // of *parser.Parser, which is not safe for concurrent use
}

// New returns a MySQL/MariaDB classifier.
func New() *MySQL {
	return &MySQL{parsers: sync.Pool{New: func() any { return parser.New() }}}
}

// myMaxDepth bounds how deep PREPARE ... FROM '...' and SET STATEMENT
// nest.
const myMaxDepth = 4

// myMaxConditional is the most conditional comments (see mysqllex.go) one
// statement may hold: it is classified once for each combination.
const myMaxConditional = 4

// Classify parses text (MySQL/MariaDB dialect, possibly several statements
// separated by ';') and returns the facts of each statement, in order.
//
// An empty text, or one with only comments and ';', returns one Statement
// of kind airlock.KindEmpty at airlock.LevelRead. Text that does not parse,
// or that the server could read otherwise than airlock (see mysqllex.go),
// returns a *sqlclass.ParseError and no statements. Each Statement's Text
// is its own text, comments included, trimmed, without the ';' that ends
// it, with '?' for each byte that is not UTF-8 (only quoted strings may
// hold such bytes; see mysqllex.go).
func (m *MySQL) Classify(text string) ([]airlock.Statement, error) {
	sts, err := m.classify(text, 0)
	if err != nil {
		return nil, err
	}
	return sts, nil
}

// myErr is a parse error at a byte offset of a statement (-1: none).
type myErr struct {
	msg string
	off int
}

func (m *MySQL) classify(text string, depth int) ([]airlock.Statement, *sqlclass.ParseError) {
	if depth > myMaxDepth {
		return nil, &sqlclass.ParseError{Message: "PREPARE and SET STATEMENT nest too deep"}
	}
	sc, lerr := scanMySQL(text)
	if lerr != nil {
		pe := &sqlclass.ParseError{Message: lerr.msg, Position: myCharPos(text, lerr.pos)}
		if lerr.msg == "unterminated quoted string or identifier" || lerr.msg == "unterminated comment" {
			pe.Syntax = true // the server's lexer stops there too
			pe.Near, pe.Line = myNear(text, lerr.pos)
		}
		return nil, pe
	}
	if !utf8.ValidString(text) {
		// Bytes that are not UTF-8, all inside quoted strings: data. The
		// statements are read, and their texts given, with '?' for them.
		text = myValidCopy(text)
		if sc, lerr = scanMySQL(text); lerr != nil {
			return nil, &sqlclass.ParseError{Message: lerr.msg, Position: myCharPos(text, lerr.pos)}
		}
	}
	var out []airlock.Statement
	from, first := 0, 0
	for _, to := range append(sc.semis, len(text)) {
		// The comments of this statement (they never hold a ';').
		for first < len(sc.comments) && sc.comments[first].end <= from {
			first++
		}
		last := first
		for last < len(sc.comments) && sc.comments[last].start < to {
			last++
		}
		st, ok, err := m.piece(text, sc.comments[first:last], from, to, depth)
		if err != nil {
			pe := &sqlclass.ParseError{Message: err.msg}
			if err.off >= 0 {
				pe.Position = myCharPos(text, from+err.off)
			}
			if strings.HasPrefix(err.msg, "syntax error") && err.off >= 0 && myServerRejects(text[from:to]) {
				pe.Syntax = true
				pe.Near, pe.Line = myNear(text, from+err.off)
			}
			return nil, pe
		}
		if ok {
			st.Text = strings.TrimSpace(text[from:to])
			out = append(out, st)
		}
		from = to + 1
	}
	if len(out) == 0 {
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
	return out, nil
}

// myNear is what MySQL's syntax error (1064) quotes of text at byte offset
// off: the statement from there on, at most 80 characters, and its line.
func myNear(text string, off int) (string, int) {
	off = min(max(off, 0), len(text))
	near, n := text[off:], 0
	for i := range near {
		if n == 80 {
			near = near[:i]
			break
		}
		n++
	}
	return near, strings.Count(text[:off], "\n") + 1
}

// myCharPos is the 1-based character position of byte offset off.
func myCharPos(text string, off int) int {
	off = min(max(off, 0), len(text))
	return utf8.RuneCountInString(text[:off]) + 1
}

// piece classifies the statement text[from:to]; ok is false when it holds
// only whitespace and comments. A statement with conditional comments is
// classified with all of them as code, which gives its facts, and with
// every other combination: the text is refused unless the facts with all
// the code are at least as strict as those of each combination the server
// could run instead.
func (m *MySQL) piece(text string, comments []myComment, from, to, depth int) (airlock.Statement, bool, *myErr) {
	n := myCondCount(comments, from, to)
	if n > myMaxConditional {
		return airlock.Statement{}, false, &myErr{"too many version-dependent comments (/*M! or /*!NNNNN) in one statement", 0}
	}
	all := uint(1)<<n - 1
	b := mySanitize(text, comments, from, to, all)
	if myBlank(b) {
		return airlock.Statement{}, false, nil
	}
	st, err := m.sanitized(b, depth)
	if err != nil {
		if err.off >= 0 && len(err.msg) > 0 && strings.HasPrefix(err.msg, "syntax error") {
			err.msg = mySyntaxMessage(text[from:to], err.off)
		}
		return st, false, err
	}
	for run := uint(0); run < all; run++ {
		vb := mySanitize(text, comments, from, to, run)
		if myBlank(vb) {
			continue
		}
		other, verr := m.sanitized(vb, depth)
		if verr != nil {
			continue // the server would refuse it: nothing runs
		}
		if !myAtLeastAsStrict(st, other) {
			return st, false, &myErr{"a version-dependent comment (/*M! or /*!NNNNN) changes what the statement does on some servers", 0}
		}
	}
	return st, true, nil
}

func myBlank(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r', '\f', '\v':
		default:
			return false
		}
	}
	return true
}

// mySyntaxMessage describes a syntax error at byte offset off of a
// statement, quoting the original text there.
func mySyntaxMessage(stmt string, off int) string {
	near := stmt[min(max(off, 0), len(stmt)):]
	if len(near) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(near[cut]) {
			cut--
		}
		near = near[:cut] + "..."
	}
	if near == "" {
		return "syntax error at the end of the statement"
	}
	return "syntax error at or near \"" + near + "\""
}

// myAtLeastAsStrict reports whether facts a (the statement with all its
// conditional comments as code) would let through no less than facts b
// (the same statement as some server runs it).
func myAtLeastAsStrict(a, b airlock.Statement) bool {
	subset := func(small, big []string) bool {
		for _, s := range small {
			if !slices.Contains(big, s) {
				return false
			}
		}
		return true
	}
	switch {
	case a.Kind != b.Kind, a.Command != b.Command, a.Name != b.Name, a.Txn != b.Txn,
		a.Setting != b.Setting, a.Value != b.Value:
		return false
	case a.Level < b.Level, myEscapeRank[a.Escape] < myEscapeRank[b.Escape], a.ArgsLevel < b.ArgsLevel:
		return false
	case a.HasWhere && !b.HasWhere, a.HasLimit && !b.HasLimit:
		return false
	}
	return subset(b.Tables, a.Tables) && subset(b.WriteTables, a.WriteTables) && subset(b.Functions, a.Functions)
}

// sanitized classifies one statement of sanitized text.
func (m *MySQL) sanitized(b []byte, depth int) (airlock.Statement, *myErr) {
	// Blanking comments must not have made new ones (a "--" just before a
	// comment would start a comment once the comment is spaces).
	sql := string(b) // once, for the scan and the parser
	if sc, lerr := scanMySQL(sql); lerr != nil || len(sc.comments) > 0 || len(sc.semis) > 0 {
		return airlock.Statement{}, &myErr{"a comment right after \"--\" or inside a token", 0}
	}
	var toks []myTok // tokenized only for the statements read by hand
	if myHandWords[myFirstWord(b)] {
		toks = myTokens(b)
		if st, ok, err := m.hand(b, toks, depth); ok || err != nil {
			return st, err
		}
	}
	f := newMyFacts()
	stmt, perr := m.parseText(sql)
	if perr == nil {
		if err := m.stmt(f, stmt, depth); err != nil {
			return airlock.Statement{}, &myErr{err.Message, -1}
		}
		return f.result(), nil
	}
	if toks == nil {
		toks = myTokens(b)
	}
	if st, ok, err := m.fallback(b, toks, depth); ok || err != nil {
		return st, err
	}
	if rb, ok := myMariaRewrite(b, toks); ok {
		if st, err := m.sanitized(rb, depth); err == nil {
			return st, nil
		}
	}
	return airlock.Statement{}, perr
}

// myNearRE finds the text TiDB quotes in a syntax error.
var myNearRE = regexp.MustCompile(`(?s)near "(.*)"`)

// parseOne parses one statement of sanitized text with the TiDB parser. A
// panic of the parser (third-party code, fed untrusted text) is a parse
// error, and that parser is not reused.
func (m *MySQL) parseOne(b []byte) (ast.StmtNode, *myErr) { return m.parseText(string(b)) }

// parseText is parseOne of a string.
func (m *MySQL) parseText(sql string) (stmt ast.StmtNode, perr *myErr) {
	p := m.parsers.Get().(*parser.Parser)
	defer func() {
		if r := recover(); r != nil {
			stmt, perr = nil, &myErr{"the SQL parser failed on this text", 0}
			return
		}
		m.parsers.Put(p)
	}()
	stmts, _, err := p.Parse(sql, "", "")
	if err != nil {
		off := 0
		if mm := myNearRE.FindStringSubmatch(err.Error()); mm != nil && strings.HasSuffix(sql, mm[1]) {
			off = len(sql) - len(mm[1])
		}
		return nil, &myErr{"syntax error", off}
	}
	if len(stmts) != 1 {
		return nil, &myErr{"the parser split the statement otherwise than the server would", 0}
	}
	return stmts[0], nil
}
