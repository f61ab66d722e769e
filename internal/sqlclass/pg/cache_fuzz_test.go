package pg

import (
	"airlock/internal/sqlclass/corpus"

	"math/rand/v2"
	"strings"
	"testing"
)

// Replacements for the pieces the lexer reports, by piece.
var (
	intPool     = []string{"0", "1", "42", "007", "2147483647", "123456"}
	floatPool   = []string{"1.5", ".5", "1.", "1e10", "2147483648", "99999999999", "3.0E-2"}
	spacePool   = []string{" ", "\n", "\t", "  \r\n", "\f"}
	commentPool = []string{"/* c */", "/**/", "/* ; DELETE FROM t; */", "-- x\n", "--\r", "/* ' \" $$ */", "-- ; DROP TABLE t\n"}
)

// lexVariant rewrites text by the pieces the lexer finds: literals become
// other literals (of the same kind, mostly, so that the variant usually
// has the same key), whitespace and comments other whitespace and
// comments. If the lexer refuses text, the literals PostgreSQL's scanner
// finds are substituted instead.
func lexVariant(text string, r *rand.Rand) string {
	var b strings.Builder
	last := 0
	_, _, ok := cacheKey(text, nil, nil, func(p lexPiece, start, end int) {
		var pool []string
		switch p {
		case pieceInt:
			pool = intPool
		case pieceFloat:
			pool = floatPool
		case pieceString:
			pool = stringPool
		case pieceSpace, pieceComment:
			pool = spacePool
			if r.IntN(2) == 0 {
				pool = commentPool
			}
		}
		if p >= pieceInt && r.IntN(8) == 0 {
			pool = [][]string{intPool, floatPool, stringPool}[r.IntN(3)]
		}
		b.WriteString(text[last:start])
		b.WriteString(pool[r.IntN(len(pool))])
		last = end
	})
	if !ok {
		v, _ := substitute(text, r, r.IntN(2) == 0)
		return v
	}
	b.WriteString(text[last:])
	return b.String()
}

// FuzzCacheAgreesWithParser checks that a cache warmed with any text
// answers for a variant of it (other literals, whitespace and comments)
// what the parser answers, and the other way round; and that when the
// lexer keys a text it finds the literals and comments PostgreSQL's
// scanner finds. Seeds are the corpus; crashers found are kept under
// testdata/fuzz/FuzzCacheAgreesWithParser.
func FuzzCacheAgreesWithParser(f *testing.F) {
	for i, c := range corpus.Read(f, pgCorpusFile) {
		f.Add(c.Text, uint64(i))
	}
	f.Fuzz(func(t *testing.T, text string, seed uint64) {
		checkLexerAgainstScanner(t, text)
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		variant := lexVariant(text, r)
		if variant == "" {
			return
		}
		c := newClassCache(64, 1<<20)
		agree(t, c, text)
		agree(t, c, variant)
		c = newClassCache(64, 1<<20)
		agree(t, c, variant)
		agree(t, c, text)
	})
}
