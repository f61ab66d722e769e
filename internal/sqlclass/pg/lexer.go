package pg

import "unicode/utf8"

// This file holds the small lexer that turns a text into the key of the
// classification cache (cache.go). It is not a PostgreSQL lexer: it only
// needs to find, exactly as PostgreSQL's scan.l would with
// standard_conforming_strings on, where literals, comments, quoted
// identifiers and top-level ';' begin and end. Everything else is copied
// into the key byte for byte. Whatever it is not sure to lex exactly as
// PostgreSQL does, it refuses, and the text goes to the parser uncached.

// maxKeyedText is the longest text the lexer keys; longer ones are parsed
// every time (they are rare, and their keys would crowd out short ones).
const maxKeyedText = 8 << 10

// Placeholders for literals in a key. The lexer refuses control bytes
// outside literals and comments, so they cannot stand for text.
const (
	keyInt    = 0x01 // a decimal integer PostgreSQL lexes as ICONST (fits in int32)
	keyFloat  = 0x02 // any other numeric literal (FCONST)
	keyString = 0x03 // a '...' string (SCONST)
	// keyComment stands for a run of whitespace and comments holding at
	// least one comment (a run of whitespace alone is a space).
	keyComment = 0x04
)

// span is a byte range [start, end) of a text.
type span struct{ start, end int }

// lexPiece says what a piece of text reported to a visit function is.
type lexPiece uint8

const (
	pieceSpace   lexPiece = iota // a run of whitespace
	pieceComment                 // a -- or /* */ comment
	pieceInt                     // literal keyed as keyInt
	pieceFloat                   // literal keyed as keyFloat
	pieceString                  // literal keyed as keyString
)

// cacheKey appends the cache key of text to key and the spans of its
// top-level statements to stmts, and reports whether text can be keyed at
// all. visit, when not nil, is told every whitespace run, comment and
// literal (for tests).
//
// The key is the text with
//   - each literal replaced by its placeholder (keyInt, keyFloat, keyString);
//   - each run of whitespace and comments replaced by one byte, a space
//     when it holds only whitespace, keyComment when it holds a comment
//     (none at the start or next to ';'): PostgreSQL only separates tokens
//     with them. pg_query's parser hands comments to its one-token
//     lookahead (NOT, NULLS, WITH, WITHOUT, FORMAT), so that "NOT/**/IN"
//     would not parse where "NOT IN" does; parse blanks the comments this
//     lexer finds (blankComments in postgres.go), and the key still keeps
//     the two apart, which costs only cache hits;
//   - everything else (keywords, identifiers, quoted identifiers,
//     parameters, operators, punctuation, ';') kept byte for byte.
//
// So two texts with the same key lex to the same PostgreSQL tokens (and
// comments where pg_query's parser sees them), but for the values of their
// literals and the text of their comments (see cache.go for why that is
// enough).
//
// A statement span runs from after the previous top-level ';' (or the
// start) to the next one (or the end), as the parser's RawStmt location and
// length do; spans holding no token (only whitespace and comments) are not
// statements and are left out.
//
// cacheKey refuses (ok false):
//   - texts longer than maxKeyedText;
//   - zero and other control bytes (but whitespace other than \v) outside
//     literals and comments, and zero bytes anywhere;
//   - bytes that are not ASCII outside literals and comments, and texts
//     that are not valid UTF-8 (pg_query_go cannot pass invalid strings on);
//   - backslashes and other characters PostgreSQL has no token for outside
//     literals; "..";
//   - the strings E'...', B'...', X'...', N'...', U&'...' and the
//     identifiers U&"...", and so any quote right after an identifier
//     character or '&'; a string followed by another string (which
//     PostgreSQL joins across a newline);
//   - dollar quotes and '$' other than a parameter $n, and parameters
//     followed by an identifier character or '.';
//   - numbers in hexadecimal, octal or binary, with '_' separators, or
//     followed by an identifier character or '.';
//   - runs of 63 operator characters ("operator too long");
//   - nested or unterminated comments, unterminated quotes, empty quoted
//     identifiers and those holding anything but printable ASCII;
//   - FLOAT followed by '(' (the grammar checks the precision's value).
func cacheKey(text string, key []byte, stmts []span, visit func(lexPiece, int, int)) ([]byte, []span, bool) {
	n := len(text)
	if n > maxKeyedText {
		return key, stmts, false
	}
	var (
		segStart    int  // start of the current statement span
		segToken    bool // the current span holds a token
		space       byte // ' ' or keyComment: whitespace or a comment since the last token
		afterString bool // the last token was a string literal
		afterFloat  bool // the last token was the keyword FLOAT
		opRun       int  // op_chars in a row up to i
		nonASCII    bool // bytes above 0x7f in literals or comments
	)
	i := 0
	for i < n {
		c := text[i]
		// Whitespace and comments.
		switch {
		case isSpace(c):
			j := i + 1
			for j < n && isSpace(text[j]) {
				j++
			}
			if visit != nil {
				visit(pieceSpace, i, j)
			}
			if space == 0 {
				space = ' '
			}
			i = j
			continue
		case c == '-' && i+1 < n && text[i+1] == '-':
			j := i + 2
			for j < n && text[j] != '\n' && text[j] != '\r' {
				if text[j] == 0 {
					return key, stmts, false
				}
				if text[j] >= 0x80 {
					nonASCII = true
				}
				j++
			}
			if visit != nil {
				visit(pieceComment, i, j)
			}
			i, space = j, keyComment
			continue
		case c == '/' && i+1 < n && text[i+1] == '*':
			j := i + 2
			for {
				if j+1 >= n {
					return key, stmts, false // unterminated
				}
				if text[j] == '*' && text[j+1] == '/' {
					j += 2
					break
				}
				if text[j] == '/' && text[j+1] == '*' {
					return key, stmts, false // nested
				}
				if text[j] == 0 {
					return key, stmts, false
				}
				if text[j] >= 0x80 {
					nonASCII = true
				}
				j++
			}
			if visit != nil {
				visit(pieceComment, i, j)
			}
			i, space = j, keyComment
			continue
		}

		// A token starts at i.
		if c == ';' {
			key = append(key, ';')
			if segToken {
				stmts = append(stmts, span{segStart, i})
			}
			segStart, segToken = i+1, false
			space, afterString, afterFloat, opRun = 0, false, false, 0
			i++
			continue
		}
		if space != 0 {
			opRun = 0 // whitespace and comments end an operator
			if len(key) > 0 && key[len(key)-1] != ';' {
				key = append(key, space)
			}
		}
		space, segToken = 0, true
		wasString, wasFloat := afterString, afterFloat
		afterString, afterFloat = false, false

		switch {
		case c == '\'':
			if wasString || (i > 0 && (isIdentCont(text[i-1]) || text[i-1] == '&')) {
				return key, stmts, false // continuation or prefixed string
			}
			j := i + 1
			for {
				if j >= n {
					return key, stmts, false // unterminated
				}
				b := text[j]
				if b == '\'' {
					if j+1 < n && text[j+1] == '\'' {
						j += 2
						continue
					}
					j++
					break
				}
				if b == 0 {
					return key, stmts, false
				}
				if b >= 0x80 {
					nonASCII = true
				}
				j++
			}
			if visit != nil {
				visit(pieceString, i, j)
			}
			key = append(key, keyString)
			afterString = true
			i = j

		case c == '"':
			if i > 0 && text[i-1] == '&' {
				return key, stmts, false // U&"..."
			}
			j := i + 1
			for {
				if j >= n {
					return key, stmts, false // unterminated
				}
				b := text[j]
				if b == '"' {
					if j+1 < n && text[j+1] == '"' {
						j += 2
						continue
					}
					j++
					break
				}
				if b < 0x20 || b > 0x7e {
					return key, stmts, false
				}
				j++
			}
			if j == i+2 {
				return key, stmts, false // "": PostgreSQL's scanner fails
			}
			key = append(key, text[i:j]...)
			i = j

		case isDigit(c) || (c == '.' && i+1 < n && isDigit(text[i+1])):
			j, piece, ok := lexNumber(text, i)
			if !ok {
				return key, stmts, false
			}
			if visit != nil {
				visit(piece, i, j)
			}
			if piece == pieceInt {
				key = append(key, keyInt)
			} else {
				key = append(key, keyFloat)
			}
			i = j

		case isIdentStart(c):
			j := i + 1
			for j < n && isIdentCont(text[j]) {
				j++
			}
			if j < n && text[j] >= 0x80 {
				return key, stmts, false
			}
			afterFloat = j-i == 5 && equalFoldASCII(text[i:j], "float")
			key = append(key, text[i:j]...)
			i = j

		case c == '$':
			j := i + 1
			for j < n && isDigit(text[j]) {
				j++
			}
			if j == i+1 || (j < n && (isIdentCont(text[j]) || text[j] >= 0x80 || text[j] == '.')) {
				return key, stmts, false // dollar quote, $1abc, $1.5
			}
			key = append(key, text[i:j]...)
			i = j

		case c == '(':
			if wasFloat {
				return key, stmts, false // FLOAT(p): the grammar checks p
			}
			key = append(key, c)
			i++

		case c == '.' && i+1 < n && text[i+1] == '.':
			return key, stmts, false // "..", a token of its own ("..5" is not "." ".5")

		case isOpOrSelf(c):
			key = append(key, c)
			i++
			if isOpChar(c) {
				if opRun++; opRun >= 63 {
					return key, stmts, false // "operator too long" (NAMEDATALEN)
				}
				continue // opRun goes on
			}

		default:
			return key, stmts, false // '\\', '{', control bytes, non-ASCII...
		}
		opRun = 0
	}
	if segToken {
		stmts = append(stmts, span{segStart, n})
	}
	if nonASCII && !utf8.ValidString(text) {
		return key, stmts, false
	}
	return key, stmts, true
}

// lexNumber lexes the numeric literal at text[i:] as PostgreSQL does
// ({decinteger}, {numeric}, {real}) and returns its end and whether it is
// an ICONST (fits in int32) or an FCONST. It refuses the forms it does not
// key: 0x, 0o, 0b prefixes, '_' separators, and numbers followed by an
// identifier character or '.', which PostgreSQL lexes as junk errors, as
// ".." or as a second number.
func lexNumber(text string, i int) (end int, piece lexPiece, ok bool) {
	n := len(text)
	j := i
	isInt := true
	var v int64
	for j < n && isDigit(text[j]) {
		if v <= 1<<31 {
			v = v*10 + int64(text[j]-'0')
		}
		j++
	}
	if j == i+1 && text[i] == '0' && j < n && (text[j] == 'x' || text[j] == 'X' || text[j] == 'o' || text[j] == 'O' || text[j] == 'b' || text[j] == 'B') {
		return 0, 0, false
	}
	if j < n && text[j] == '.' {
		if j+1 < n && text[j+1] == '.' {
			return 0, 0, false // 1..2
		}
		isInt = false
		j++
		for j < n && isDigit(text[j]) {
			j++
		}
	}
	if j < n && (text[j] == 'e' || text[j] == 'E') {
		k := j + 1
		if k < n && (text[k] == '+' || text[k] == '-') {
			k++
		}
		if k < n && isDigit(text[k]) {
			isInt = false
			j = k
			for j < n && isDigit(text[j]) {
				j++
			}
		}
	}
	if j < n && (isIdentCont(text[j]) || text[j] >= 0x80 || text[j] == '.') {
		return 0, 0, false
	}
	if isInt && v <= 1<<31-1 {
		return j, pieceInt, true
	}
	return j, pieceFloat, true
}

// Byte classes, from PostgreSQL's scan.l without the bytes above 0x7f
// (which the lexer refuses outside literals and comments).
const (
	classSpace      = 1 << iota // space: [ \t\n\r\f] (not \v, to be safe)
	classDigit                  // [0-9]
	classIdentStart             // ident_start: [A-Za-z_]
	classIdentCont              // ident_cont: [A-Za-z_0-9$]
	classOp                     // op_chars: [~!@#^&|`?+\-*/%<>=]
	classOpOrSelf               // op_chars and the self characters but '(' and ';'
)

var byteClass = func() (t [256]uint8) {
	for _, c := range " \t\n\r\f" {
		t[c] |= classSpace
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= classIdentStart | classIdentCont
		t[c-'a'+'A'] |= classIdentStart | classIdentCont
	}
	t['_'] |= classIdentStart | classIdentCont
	for c := '0'; c <= '9'; c++ {
		t[c] |= classDigit | classIdentCont
	}
	t['$'] |= classIdentCont
	for _, c := range "~!@#^&|`?+-*/%<>=" {
		t[c] |= classOp | classOpOrSelf
	}
	for _, c := range ",)[].:" {
		t[c] |= classOpOrSelf
	}
	return t
}()

func isSpace(c byte) bool      { return byteClass[c]&classSpace != 0 }
func isDigit(c byte) bool      { return byteClass[c]&classDigit != 0 }
func isIdentStart(c byte) bool { return byteClass[c]&classIdentStart != 0 }
func isIdentCont(c byte) bool  { return byteClass[c]&classIdentCont != 0 }

// isOpChar reports whether c is one of PostgreSQL's op_chars, of which
// operators are made.
func isOpChar(c byte) bool { return byteClass[c]&classOp != 0 }

// isOpOrSelf reports whether c is one of PostgreSQL's op_chars or self
// characters other than '(' and ';', which the lexer handles apart. Runs of
// them are copied into the key as they are, so how PostgreSQL splits them
// into operators does not matter; "--" and "/*" in them start comments,
// as in PostgreSQL.
func isOpOrSelf(c byte) bool { return byteClass[c]&classOpOrSelf != 0 }

func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
