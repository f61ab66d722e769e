package pg

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"

	"airlock"
	"airlock/internal/sqlclass/corpus"
)

// keyOf returns the cache key of text, or "" and false if it has none.
func keyOf(text string) (string, []span, bool) {
	key, spans, ok := cacheKey(text, nil, nil, nil)
	return string(key), spans, ok
}

func TestCacheKey(t *testing.T) {
	const noKey = "(none)"
	tests := []struct {
		name string
		text string
		key  string // noKey when the lexer must refuse the text
	}{
		{"pgbench", "SELECT abalance FROM pgbench_accounts WHERE aid = 12345;", "SELECT abalance FROM pgbench_accounts WHERE aid = \x01;"},
		{"whitespace runs", "  SELECT\n\t a ,b\r\n", "SELECT a ,b"},
		{"comments are kept apart", "SELECT/* x */a--y\n,b /* z */", "SELECT\x04a\x04,b"},
		{"comment runs", "SELECT /* x */ -- y\n a, \n b", "SELECT\x04a, b"},
		{"no space is kept", "SELECT a,b", "SELECT a,b"},
		{"case kept", `select "Id", Id FROM T`, `select "Id", Id FROM T`},
		{"quoted identifier holds anything printable", `SELECT "a;'--/*""" FROM t`, `SELECT "a;'--/*""" FROM t`},
		{"int and float", "SELECT 1, 2147483647, 2147483648, 1.5, .5, 1., 1e5, 1E-5, 007", "SELECT \x01, \x01, \x02, \x02, \x02, \x02, \x02, \x02, \x01"},
		{"strings", `SELECT 'a', '', 'it''s', 'a\', ';--/*'`, "SELECT \x03, \x03, \x03, \x03, \x03"},
		{"string with unicode", "SELECT 'é'", "SELECT \x03"},
		{"comment with unicode", "SELECT 1 -- é\n", "SELECT \x01"},
		{"comment before lookahead", "SELECT a NOT/**/IN (1), b NOT IN (2)", "SELECT a NOT\x04IN (\x01), b NOT IN (\x01)"},
		{"parameters", "SELECT $1, $23::int", "SELECT $1, $23::int"},
		{"operators", "SELECT a<-1, b||'x', c @> d, e->>'f', -2", "SELECT a<-\x01, b||\x03, c @> d, e->>\x03, -\x01"},
		{"operator then comment", "SELECT 1+/*c*/-2, 3*--c\n4", "SELECT \x01+\x04-\x01, \x01*\x04\x01"},
		{"statements", "BEGIN; UPDATE t SET a = 'x;y' WHERE id = 1 ; /* c */ COMMIT;", "BEGIN;UPDATE t SET a = \x03 WHERE id = \x01;COMMIT;"},
		{"only comments", " -- x\n/* y */ ", ""},
		{"empty", "", ""},
		{"float type without precision", "SELECT 1::float, 2::float8(3)", "SELECT \x01::float, \x01::float8(\x01)"},

		{"E string", `SELECT E'\'; DELETE FROM t; --'`, noKey},
		{"e string", `SELECT e'x'`, noKey},
		{"bit string", `SELECT B'101'`, noKey},
		{"hex string", `SELECT x'1f'`, noKey},
		{"national string", `SELECT N'abc'`, noKey},
		{"unicode string", `SELECT U&'\0041'`, noKey},
		{"unicode identifier", `SELECT U&"d\0061t"`, noKey},
		{"typed literal without space", `SELECT date'2020-01-01'`, noKey},
		{"string continuation", "SELECT 'a'\n'b'", noKey},
		{"strings in a row", "SELECT 'a' /* c */ 'b'", noKey},
		{"dollar quote", "SELECT $$x$$", noKey},
		{"dollar tag", "SELECT $a$x$a$", noKey},
		{"parameter junk", "SELECT $1abc", noKey},
		{"parameter dot", "SELECT $1.5", noKey},
		{"lone dollar", "SELECT $", noKey},
		{"hex integer", "SELECT 0x1F", noKey},
		{"octal integer", "SELECT 0o17", noKey},
		{"binary integer", "SELECT 0b101", noKey},
		{"underscores", "SELECT 1_000", noKey},
		{"number junk", "SELECT 1abc", noKey},
		{"exponent junk", "SELECT 1e", noKey},
		{"number dot", "SELECT 1.5.5", noKey},
		{"dot dot", "SELECT 1..2", noKey},
		{"dot dot number", "SELECT a..5", noKey},
		{"nested comment", "SELECT 1 /* a /* b */ ; DELETE FROM t */", noKey},
		{"unterminated comment", "SELECT 1 /* a", noKey},
		{"unterminated string", "SELECT 'a", noKey},
		{"unterminated identifier", `SELECT "a`, noKey},
		{"backslash", `SELECT 1 \g`, noKey},
		{"brace", "SELECT {1}", noKey},
		{"non-ASCII identifier", "SELECT é FROM t", noKey},
		{"non-ASCII quoted identifier", `SELECT "é" FROM t`, noKey},
		{"newline in quoted identifier", "SELECT \"a\nb\" FROM t", noKey},
		{"zero byte", "SELECT 1\x00", noKey},
		{"zero byte in string", "SELECT '\x00'", noKey},
		{"control byte", "SELECT \x01", noKey},
		{"vertical tab", "SELECT 1\v", noKey},
		{"invalid UTF-8 in string", "SELECT '\xff'", noKey},
		{"invalid UTF-8 in comment", "SELECT 1 -- \xff", noKey},
		{"float precision", "SELECT 1::FLOAT(10)", noKey},
		{"float precision after comment", "SELECT CAST(1 AS float /* p */ (10))", noKey},
		{"too long", "SELECT " + strings.Repeat("a", maxKeyedText), noKey},
		{"operator too long", "SELECT 1 " + strings.Repeat("!", 64) + " 2", noKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, _, ok := keyOf(tt.text)
			switch {
			case tt.key == noKey && ok:
				t.Fatalf("key %q, want none", key)
			case tt.key != noKey && !ok:
				t.Fatalf("no key, want %q", tt.key)
			case ok && key != tt.key:
				t.Fatalf("key %q, want %q", key, tt.key)
			}
		})
	}
}

// TestCacheKeySpans checks the statement spans the lexer records against
// the statement texts of the parser.
func TestCacheKeySpans(t *testing.T) {
	texts := []string{
		"SELECT 1",
		"SELECT 1;",
		"  SELECT 1 ;  ",
		"SELECT 1; SELECT 2",
		"SELECT 1;; ;SELECT 2;",
		"SELECT 1; /* c */ SELECT 2 -- x\n;; -- y",
		"/* a */ SELECT 'x;y' -- ; z\n; SELECT \"a;b\" FROM t",
		"-- only\n;",
		";",
		"",
	}
	for _, text := range texts {
		_, spans, ok := keyOf(text)
		if !ok {
			t.Errorf("%q: no key", text)
			continue
		}
		sts, err := parse(text)
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		var got []string
		for _, s := range spans {
			got = append(got, strings.TrimSpace(text[s.start:s.end]))
		}
		var want []string
		for _, st := range sts {
			if st.Kind != airlock.KindEmpty {
				want = append(want, st.Text)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: spans give %q, parser %q", text, got, want)
		}
	}
}

// scanPieces returns the comments and literals PostgreSQL's own scanner
// finds in text, as the lexer reports them, and whether it finds tokens
// the lexer should have refused.
func scanPieces(text string) (pieces []string, odd string, err error) {
	res, err := pg.Scan(text)
	if err != nil {
		return nil, "", err
	}
	for _, tk := range res.Tokens {
		var p lexPiece
		switch tk.Token {
		case pg.Token_ICONST:
			p = pieceInt
		case pg.Token_FCONST:
			p = pieceFloat
		case pg.Token_SCONST:
			p = pieceString
		case pg.Token_SQL_COMMENT, pg.Token_C_COMMENT:
			p = pieceComment
		case pg.Token_BCONST, pg.Token_XCONST, pg.Token_USCONST, pg.Token_UIDENT, pg.Token_DOT_DOT:
			return nil, tk.Token.String(), nil
		default:
			continue
		}
		pieces = append(pieces, fmt.Sprintf("%d:%d-%d", p, tk.Start, tk.End))
	}
	return pieces, "", nil
}

// lexPieces returns the comments and literals the lexer finds in text.
func lexPieces(text string) ([]string, bool) {
	var pieces []string
	_, _, ok := cacheKey(text, nil, nil, func(p lexPiece, start, end int) {
		if p != pieceSpace {
			pieces = append(pieces, fmt.Sprintf("%d:%d-%d", p, start, end))
		}
	})
	return pieces, ok
}

// checkLexerAgainstScanner fails when the lexer keys text but does not
// find the literals and comments PostgreSQL's scanner finds, with the same
// classes and bounds.
func checkLexerAgainstScanner(t testing.TB, text string) {
	t.Helper()
	mine, ok := lexPieces(text)
	if !ok {
		return
	}
	theirs, odd, err := scanPieces(text)
	switch {
	case err != nil:
		t.Fatalf("lexer keys %q, PostgreSQL's scanner fails: %v", text, err)
	case odd != "":
		t.Fatalf("lexer keys %q, PostgreSQL's scanner finds a %s", text, odd)
	case !slices.Equal(mine, theirs):
		t.Fatalf("lexer and PostgreSQL's scanner disagree on %q:\nlexer   %q\nscanner %q", text, mine, theirs)
	}
}

func TestLexerMatchesScanner(t *testing.T) {
	keyed := 0
	for _, c := range corpus.Read(t, pgCorpusFile) {
		checkLexerAgainstScanner(t, c.Text)
		if _, _, ok := keyOf(c.Text); ok {
			keyed++
		}
	}
	t.Logf("%d corpus cases keyed", keyed)
	if keyed < 300 {
		t.Errorf("only %d corpus cases keyed", keyed)
	}
}

// Literals substituted into texts: numbers and strings, some holding
// quotes, semicolons, comment markers, keywords and values the classifier
// reads (setting names and values, queries, file names, languages).
var (
	numberPool = []string{
		"0", "1", "7", "42", "007", "2147483647", "2147483648", "99999999999", "1.5", "0.0", ".5", "1.",
		"1e10", "1E-3", "3.14159", "65", "54",
	}
	stringPool = []string{
		"''", "'x'", "'it''s'", "'; DELETE FROM t; --'", "'/* */ DROP TABLE t'", "'*/'", "'-- x'",
		"'$$'", `'\'`, `'\'';'`, "'é'", "'SELECT 1; SELECT 2'", "'\n'", `'"'`, "'e''x'", "'on'", "'off'",
		"'true'", "'0'", "'search_path'", "'role'", "'standard_conforming_strings'", "'default_transaction_read_only'",
		"'select set_config(''role'',''x'',false)'", "'delete from t'", "'/tmp/x'", "'c'", "'sql'", "'internal'",
		"'NULL'", "'\xff'", "'UTF8'", "'LATIN1'", "'1 day'", "'2020-01-01'", "'{1,2}'", "'pg_settings'",
	}
)

// substitute replaces the literals of text found by PostgreSQL's scanner
// (ICONST, FCONST, SCONST) with others drawn by r: of the same kind when
// sameKind, of any kind otherwise.
func substitute(text string, r *rand.Rand, sameKind bool) (string, bool) {
	res, err := pg.Scan(text)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	last, n := 0, 0
	for _, tk := range res.Tokens {
		var pool []string
		switch tk.Token {
		case pg.Token_ICONST, pg.Token_FCONST:
			pool = numberPool
		case pg.Token_SCONST:
			pool = stringPool
		default:
			continue
		}
		if !sameKind && r.IntN(3) == 0 {
			pool = map[bool][]string{true: numberPool, false: stringPool}[tk.Token == pg.Token_SCONST]
		}
		b.WriteString(text[last:tk.Start])
		b.WriteString(pool[r.IntN(len(pool))])
		last = int(tk.End)
		n++
	}
	b.WriteString(text[last:])
	return b.String(), n > 0
}

// agree classifies text with the cache and with the parser alone; the
// facts (statement texts included) and errors must be the same.
func agree(t testing.TB, c *classCache, text string) outcome {
	t.Helper()
	got, how, gerr := c.classify(text)
	want, werr := parse(text)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("%q: cache (%d) says error %v, parser %v", text, how, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: cache (%d) and parser differ:\ncache  %+v\nparser %+v", text, how, got, want)
	}
	return how
}

// TestCacheSubstitutedLiterals is the property test: for every corpus case
// and many substitutions of its literals, the cache warmed with the
// original answers what the parser answers for the substituted text.
func TestCacheSubstitutedLiterals(t *testing.T) {
	variants := 16
	if testing.Short() {
		variants = 4
	}
	c := newClassCache(DefaultCacheEntries, DefaultCacheBytes)
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[outcome]int{}
	substituted := 0
	for _, cs := range corpus.Read(t, pgCorpusFile) {
		agree(t, c, cs.Text)
		for i := range variants {
			v, ok := substitute(cs.Text, r, i%2 == 0)
			if !ok {
				break // no literal
			}
			substituted++
			counts[agree(t, c, v)]++
		}
	}
	t.Logf("%d substituted texts: %d hits, %d stored, %d marked, %d not keyed",
		substituted, counts[outcomeHit], counts[outcomeStored], counts[outcomeMarked], counts[outcomeUnkeyed])
	if counts[outcomeHit] < substituted/5 {
		t.Errorf("only %d of %d substituted texts hit the cache", counts[outcomeHit], substituted)
	}
}

// TestCacheAdversarial warms the cache with one text and classifies
// another designed to share its key while meaning something else: the
// second must be refused by the lexer, marked, or get the parser's facts.
func TestCacheAdversarial(t *testing.T) {
	type want int
	const (
		any     want = iota // only agreement with the parser
		hit                 // the second text must be answered from the cache
		notHit              // the second text must not be answered from the cache
		unkeyed             // the lexer must refuse the second text
	)
	tests := []struct {
		name        string
		warm, probe string
		want        want
	}{
		{"pgbench", "SELECT abalance FROM pgbench_accounts WHERE aid = 1;", "SELECT abalance FROM pgbench_accounts WHERE aid = 99999;", hit},
		{"string holding statements", "SELECT * FROM t WHERE a = 'x'", "SELECT * FROM t WHERE a = '''; DELETE FROM t; --'", hit},
		{"string holding comment", "SELECT * FROM t WHERE a = 'x'", "SELECT * FROM t WHERE a = '/*' -- '*/'", any},
		{"comment hides statement", "SELECT 1 ; DELETE FROM t", "SELECT 1 /* ; DELETE FROM t */", any},
		{"line comment hides statement", "SELECT 1 \n; DELETE FROM t", "SELECT 1 --\n; DELETE FROM t", any},
		{"carriage return ends comment", "SELECT 1 -- x\r; DELETE FROM t", "SELECT 2 -- y\r; DELETE FROM u", any},
		{"nested comment", "SELECT 1 /* a */ ; DELETE FROM t", "SELECT 1 /* a /* b */ ; DELETE FROM t */", unkeyed},
		{"E string escaped quote", "SELECT 'a', 'b'", `SELECT E'a\', ''; DELETE FROM t; --'`, unkeyed},
		{"E string backslash", `SELECT 'a\'; DELETE FROM t; --'`, `SELECT E'a\'; DELETE FROM t; --'`, unkeyed},
		{"standard string backslash", `SELECT 'a\'; SELECT 2`, `SELECT 'b\'; SELECT 3`, hit},
		{"dollar quote body", "SELECT 'x' AS a", "SELECT $$x'; DELETE FROM t; --$$ AS a", unkeyed},
		{"dollar quote tag", "SELECT 'x'", "SELECT $q$;DELETE FROM t$q$", unkeyed},
		{"U& identifier", `SELECT * FROM "dat"`, `SELECT * FROM U&"d\0061t"`, unkeyed},
		{"U& string", `SELECT 'x'`, `SELECT U&'\0027; DELETE FROM t; --'`, unkeyed},
		{"unicode escape with UESCAPE", `SELECT 'x'`, `SELECT U&'!0041' UESCAPE '!'`, unkeyed},
		{"string holding ';", "SELECT 'a';", "SELECT 'b'';';", hit},
		{"string continuation", "SELECT 'a' AS x", "SELECT 'a'\n'; DELETE FROM t' AS x", unkeyed},
		{"bit string", "SELECT 'x'", "SELECT B'1'", notHit},
		{"set_config name", "SELECT set_config('search_path', 'x', false)", "SELECT set_config('role', 'x', false)", notHit},
		{"set_config value", "SELECT set_config('default_transaction_read_only', 'on', false)", "SELECT set_config('default_transaction_read_only', 'off', false)", notHit},
		{"qualified set_config", "SELECT pg_catalog.set_config('search_path', 'x', false)", "SELECT pg_catalog.set_config('role', 'x', false)", notHit},
		{"pg_settings row", "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'search_path'",
			"SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'role'", notHit},
		{"SET value", "SET default_transaction_read_only = 'on'", "SET default_transaction_read_only = 'off'", notHit},
		{"SET pinned", "SET standard_conforming_strings = 'on'", "SET standard_conforming_strings = 'off'", notHit},
		{"query_to_xml", "SELECT query_to_xml('select 1', true, false, '')", "SELECT query_to_xml('delete from t', true, false, '')", notHit},
		{"ts_stat", "SELECT * FROM ts_stat('select v from t')", "SELECT * FROM ts_stat('delete from t returning v')", notHit},
		{"ts_rewrite", "SELECT ts_rewrite('a'::tsquery, 'select 1')", "SELECT ts_rewrite('a'::tsquery, 'delete from t')", notHit},
		{"EXPLAIN ANALYZE value", "EXPLAIN (ANALYZE 0) DELETE FROM t", "EXPLAIN (ANALYZE 1) DELETE FROM t", notHit},
		{"EXPLAIN ANALYZE string", "EXPLAIN (ANALYZE 'off') DELETE FROM t", "EXPLAIN (ANALYZE 'on') DELETE FROM t", notHit},
		{"COPY file", "COPY t TO '/tmp/a'", "COPY t TO '/tmp/b'", notHit},
		{"CREATE FUNCTION language", "CREATE FUNCTION f() RETURNS int LANGUAGE 'sql' AS 'select 1'",
			"CREATE FUNCTION f() RETURNS int LANGUAGE 'c' AS 'select 1'", notHit},
		{"EXECUTE", "EXECUTE p(1)", "EXECUTE p(2)", notHit},
		{"FLOAT precision", "SELECT 1::float(10)", "SELECT 1::float(0)", unkeyed},
		{"integer too big", "FETCH 5 FROM c", "FETCH 99999999999 FROM c", notHit},
		{"integer limit", "FETCH 2147483647 FROM c", "FETCH 2147483648 FROM c", notHit},
		{"column number", "ALTER TABLE t ALTER COLUMN 1 SET STATISTICS 5", "ALTER TABLE t ALTER COLUMN 0 SET STATISTICS 5", notHit},
		{"invalid UTF-8", "SELECT 'é'", "SELECT '\xff'", unkeyed},
		{"LIMIT NULL", "SELECT * FROM t LIMIT 5", "SELECT * FROM t LIMIT NULL", notHit},
		{"number and string", "SELECT * FROM t LIMIT 5", "SELECT * FROM t LIMIT '5'", notHit},
		{"negative number", "SELECT a<-1", "SELECT a<-'x'", notHit},
		{"BEGIN ATOMIC body", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 3; SELECT 4; END", notHit},
		{"multi-statement", "BEGIN; UPDATE t SET a = 1 WHERE id = 2; COMMIT;", "BEGIN;\nUPDATE t SET a = 3 WHERE id = 4 ;\n-- done\nCOMMIT ;", hit},
		{"multi-statement with SET", "SET search_path = a; SELECT 1", "SET search_path = b; SELECT 1", any},
		{"BEGIN READ WRITE", "BEGIN READ ONLY", "BEGIN READ WRITE", notHit},
		{"quoted identifier case", `SELECT * FROM "T" WHERE a = 1`, `SELECT * FROM "t" WHERE a = 2`, notHit},
		{"identifier case", "SELECT * FROM T WHERE a = 1", "SELECT * FROM t WHERE a = 2", notHit},
		{"empty", "", "  ", any},
		{"only comments", "/* a */", "-- b\n; ;", any},
		{"comment markers in quoted identifier", `SELECT "--" FROM t WHERE a = 1`, `SELECT "--" FROM t WHERE a = 2`, hit},
		{"syntax error", "SELECT 1 1", "SELECT 2 2", notHit},
		{"typed literal", "SELECT date '2020-01-01'", "SELECT date '2021-02-03'", hit},
		{"prepare", "PREPARE p AS SELECT * FROM t WHERE a = 1", "PREPARE p AS SELECT * FROM t WHERE a = 2", hit},
		{"lock mode", "LOCK t IN ACCESS SHARE MODE", "LOCK t IN ACCESS EXCLUSIVE MODE", notHit},
		{"for update", "SELECT * FROM t WHERE a = 1", "SELECT * FROM t WHERE a = 1 FOR UPDATE", notHit},
		{"comment after NOT", "SELECT * FROM t WHERE a NOT IN (1)", "SELECT * FROM t WHERE a NOT/* c */IN (1)", notHit},
		{"comment after NULLS", "SELECT * FROM t ORDER BY a NULLS FIRST", "SELECT * FROM t ORDER BY a NULLS -- c\nFIRST", notHit},
		{"comment after WITH", "SELECT * FROM generate_series(1, 2) WITH ORDINALITY", "SELECT * FROM generate_series(1, 2) WITH/**/ORDINALITY", notHit},
		{"comment content", "SELECT * FROM t /* x */ WHERE a NOT IN (1)", "SELECT * FROM t -- y;\n WHERE a NOT IN (2)", hit},
		{"trace comment", "SELECT * FROM t WHERE id = 1 /* traceparent='00-aa-01' */", "SELECT * FROM t WHERE id = 2 /* traceparent='00-bb-01' */", hit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClassCache(100, 1<<20)
			agree(t, c, tt.warm)
			how := agree(t, c, tt.probe)
			switch {
			case tt.want == hit && how != outcomeHit:
				t.Errorf("outcome %d, want a hit", how)
			case tt.want == notHit && how == outcomeHit:
				t.Errorf("the cache answered")
			case tt.want == unkeyed && how != outcomeUnkeyed:
				t.Errorf("outcome %d, want the lexer to refuse the text", how)
			}
			// The other way round too.
			c = newClassCache(100, 1<<20)
			agree(t, c, tt.probe)
			agree(t, c, tt.warm)
		})
	}
}

func TestCacheMarkerStays(t *testing.T) {
	c := newClassCache(100, 1<<20)
	if how := agree(t, c, "SELECT set_config('search_path', 'x', false)"); how != outcomeMarked {
		t.Fatalf("outcome %d, want a marker", how)
	}
	if how := agree(t, c, "SELECT set_config('search_path', 'y', false)"); how != outcomeMarked {
		t.Fatalf("outcome %d, want the marker", how)
	}
	if how := agree(t, c, "SELECT 1 1"); how != outcomeMarked {
		t.Fatalf("syntax error: outcome %d, want a marker", how)
	}
	// A marker is never replaced by facts.
	key, spans, _ := keyOf("SELECT 1")
	sts, _ := parse("SELECT 1")
	sh := &c.shards[0]
	c.put(sh, []byte(key), &cacheEntry{cost: 1})
	c.put(sh, []byte(key), newCacheEntry("SELECT 1", []byte(key), spans, sts, nil))
	if e := sh.m[key]; e == nil || e.stmts != nil {
		t.Fatalf("marker replaced: %+v", e)
	}
}

// TestCacheResultIsFresh checks that callers may change the statements
// they get without changing what the cache gives the next caller.
func TestCacheResultIsFresh(t *testing.T) {
	p := New()
	const q = "UPDATE accounts SET balance = balance + 1 WHERE id = 2"
	first, err := p.Classify(q)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := parse(q)
	first[0].Level, first[0].Kind, first[0].Text = airlock.LevelAdmin, airlock.KindUnknown, "changed"
	first[0].Tables = append(first[0].Tables, "other")
	for range 2 {
		got, err := p.Classify(q)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("after a caller changed its facts: %+v, %v; want %+v", got, err, want)
		}
		got[0].Kind = airlock.KindUnknown
		got[0].Tables = append(got[0].Tables, "more") // a clipped list: append copies
	}
}

// TestCacheBounds floods the cache with new shapes: it keeps to its bounds
// and keeps a shape that is hit all along.
func TestCacheBounds(t *testing.T) {
	const entries, bytes = 160, 64 << 10
	c := newClassCache(entries, bytes)
	const hot = "SELECT abalance FROM pgbench_accounts WHERE aid = 1"
	agree(t, c, hot)
	for i := range 5000 {
		q := fmt.Sprintf("SELECT c%d FROM t%d WHERE id = %d", i, i, i)
		if i%3 == 0 {
			q = fmt.Sprintf("SELECT %s FROM t WHERE a = 1", strings.Repeat(fmt.Sprintf("col%d, ", i), 50)+"x")
		}
		agree(t, c, q)
		if how := agree(t, c, hot); how != outcomeHit {
			t.Fatalf("after %d new shapes, the hot shape is gone (outcome %d)", i+1, how)
		}
		if n, b := c.len(), c.bytes(); n > entries+cacheShards || b > bytes+cacheShards {
			t.Fatalf("after %d new shapes: %d entries, %d bytes; bounds %d, %d", i+1, n, b, entries, bytes)
		}
	}
	t.Logf("%d entries, %d bytes", c.len(), c.bytes())
}

// TestCacheConcurrent classifies from many goroutines through a small
// cache (run with -race).
func TestCacheConcurrent(t *testing.T) {
	c := newClassCache(64, 1<<20)
	texts := []string{
		"SELECT abalance FROM pgbench_accounts WHERE aid = %d",
		"UPDATE pgbench_accounts SET abalance = abalance + %d WHERE aid = 7",
		"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%d, 2, 3, 4, CURRENT_TIMESTAMP)",
		"BEGIN; DELETE FROM t WHERE id = %d; COMMIT",
		"SELECT set_config('search_path', '%d', false)",
		"SELECT c%d FROM t",
	}
	want := map[string][]airlock.Statement{}
	var all []string
	for i := range 40 {
		for _, f := range texts {
			q := fmt.Sprintf(f, i)
			sts, err := parse(q)
			if err != nil {
				t.Fatal(err)
			}
			want[q] = sts
			all = append(all, q)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 0))
			for range 500 {
				q := all[r.IntN(len(all))]
				got, _, err := c.classify(q)
				if err != nil || !reflect.DeepEqual(got, want[q]) {
					t.Errorf("%q: %+v, %v; want %+v", q, got, err, want[q])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestWithoutCache(t *testing.T) {
	if New(WithoutCache()).cache != nil || New(WithCache(0, 0)).cache != nil {
		t.Fatal("cache made")
	}
	if New().cache == nil || New(WithCache(10, 1000)).cache == nil {
		t.Fatal("no cache")
	}
	var zero Postgres
	if _, err := zero.Classify("SELECT 1"); err != nil {
		t.Fatal(err)
	}
}

// TestCacheable checks the facts the cache refuses to keep, whatever the
// rest of them.
func TestCacheable(t *testing.T) {
	base := airlock.Statement{Kind: airlock.KindSelect, Level: airlock.LevelRead, Why: "SELECT reads rows", Command: "SELECT",
		Tables: []string{"t"}, WriteTables: []string{}, Functions: []string{"lower"}}
	if !cacheable(&base) {
		t.Fatal("a plain SELECT is not cacheable")
	}
	tests := map[string]func(*airlock.Statement){
		"set_config":                 func(s *airlock.Statement) { s.Functions = []string{"lower", "set_config"} },
		"pg_catalog.set_config":      func(s *airlock.Statement) { s.Functions = []string{"pg_catalog.set_config"} },
		"query_to_xml":               func(s *airlock.Statement) { s.Functions = []string{"query_to_xml"} },
		"query_to_xmlschema":         func(s *airlock.Statement) { s.Functions = []string{"pg_catalog.query_to_xmlschema"} },
		"query_to_xml_and_xmlschema": func(s *airlock.Statement) { s.Functions = []string{"query_to_xml_and_xmlschema"} },
		"ts_stat":                    func(s *airlock.Statement) { s.Functions = []string{"ts_stat"} },
		"ts_rewrite":                 func(s *airlock.Statement) { s.Functions = []string{"ts_rewrite"} },
		"setting":                    func(s *airlock.Statement) { s.Setting = "search_path" },
		"value":                      func(s *airlock.Statement) { s.Value = "x" },
		"escape":                     func(s *airlock.Statement) { s.Escape = airlock.EscapeReadOnly },
		"kind set":                   func(s *airlock.Statement) { s.Kind = airlock.KindSet },
		"kind unknown":               func(s *airlock.Statement) { s.Kind = airlock.KindUnknown },
		"args level":                 func(s *airlock.Statement) { s.ArgsLevel = airlock.LevelWrite },
		"EXECUTE":                    func(s *airlock.Statement) { s.Command = "EXECUTE" },
		"EXPLAIN":                    func(s *airlock.Statement) { s.Command = "EXPLAIN" },
		"COPY":                       func(s *airlock.Statement) { s.Command = "COPY" },
		"SET":                        func(s *airlock.Statement) { s.Command = "SET" },
		"CREATE FUNCTION":            func(s *airlock.Statement) { s.Command = "CREATE FUNCTION" },
		"ALTER TABLE":                func(s *airlock.Statement) { s.Command = "ALTER TABLE" },
		"DO":                         func(s *airlock.Statement) { s.Command = "DO" },
		"empty with a command":       func(s *airlock.Statement) { s.Kind = airlock.KindEmpty },
	}
	for name, change := range tests {
		st := base
		change(&st)
		if cacheable(&st) {
			t.Errorf("%s: cacheable", name)
		}
	}
}

// TestCacheEntryChecksTexts checks that facts whose statement texts are not
// those the lexer's spans give are not kept.
func TestCacheEntryChecksTexts(t *testing.T) {
	const text = "SELECT 1; SELECT 2"
	key, spans, _ := keyOf(text)
	sts, err := parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if e := newCacheEntry(text, []byte(key), spans, sts, nil); e.stmts == nil {
		t.Fatal("facts not kept")
	}
	wrong := slices.Clone(sts)
	wrong[1].Text = "SELECT 1; SELECT 2"
	if e := newCacheEntry(text, []byte(key), spans, wrong, nil); e.stmts != nil {
		t.Error("facts kept with other statement texts")
	}
	if e := newCacheEntry(text, []byte(key), spans[:1], sts, nil); e.stmts != nil {
		t.Error("facts kept with fewer spans than statements")
	}
	if e := newCacheEntry(text, []byte(key), nil, sts, nil); e.stmts != nil {
		t.Error("facts kept without spans")
	}
}
