package mysql

import (
	"strconv"
	"unicode/utf8"
)

// This file holds the MySQL/MariaDB scanner. It finds, exactly as the
// server's lexer (sql_lex.cc) does with the pinned lexing settings (no
// ANSI_QUOTES, no NO_BACKSLASH_ESCAPES, utf8mb4), where quoted strings and
// identifiers, comments and top-level ';' are. It does not tokenize
// anything else: the TiDB parser does, on a copy of the text where every
// comment is blanked out (comment bytes replaced by spaces) and executable
// comments keep their content but lose their markers. So the parser sees
// the code the server runs, and never decides by itself what a comment is
// (TiDB's lexer ignores MariaDB's /*M! comments and runs /*T! ones, which
// the servers do the other way round).
//
// Executable comments are code:
//
//	/*! ... */         run by every server
//	/*!NNNNN ... */    run by servers at version NNNNN or later; MariaDB
//	                   skips those of MySQL 5.7 and later (50700-99999)
//	/*M! ... */        run by MariaDB, a plain comment for MySQL
//	/*M!NNNNNN ... */  run by MariaDB NNNNNN or later
//
// A comment whose content runs on some servers and not on others is
// "conditional": the statement is classified both ways (see mysql.go) and
// the text is refused unless the facts with the content are at least as
// strict as without it. /*!NNNNNN with six digits is refused (MySQL reads
// five digits and runs the sixth, MariaDB reads six), but for
// /*!99999N, which no server runs (mariadb-dump starts its files with
// /*!999999\- enable the sandbox mode */): that is a plain comment. So is what could be
// read two ways: a ';' or a comment inside an executable comment, a string
// in one that holds "*/", an unterminated comment or string, a "--" followed
// by a non-ASCII byte, a zero byte, and text that is not UTF-8 outside
// quoted strings.
//
// Inside a quoted string, bytes that are not UTF-8 are data (a BLOB value
// a text-protocol driver inlines as _binary'...', text on a connection
// whose client sends other bytes): in utf8mb4, no byte of a multibyte
// character is a quote or a backslash, and the server reads an invalid
// sequence byte by byte, so such bytes never change where a string ends.
// The classifier reads a copy where each of them is '?' (myValidCopy); the
// bytes themselves are forwarded unchanged.

// myCommentKind says what a comment is to the servers.
type myCommentKind int8

const (
	myPlainComment myCommentKind = iota // #, -- , /* */, /*+ */: whitespace everywhere
	myCodeComment                       // /*! */ and /*!NNNNN */ below 50700: code everywhere
	myCondComment                       // /*!NNNNN */ from 50700, /*M! */: code on some servers
)

// myComment is one comment of a text: the whole comment is [start, end),
// and for executable comments the content is [open, close).
type myComment struct {
	kind        myCommentKind
	start, end  int
	open, close int
	version     int  // NNNNN, or 0 when the comment has none
	mariaDB     bool // /*M!
}

// myScan is what the scanner found in a text.
type myScan struct {
	comments []myComment
	semis    []int // byte offsets of the top-level ';'
	// strings are the quoted strings' [start, end), kept only for text
	// that is not UTF-8.
	strings [][2]int
}

// myLexError is why the scanner refused a text, at a byte offset.
type myLexError struct {
	msg string
	pos int
}

// scanMySQL scans text as MariaDB's lexer does (see the top of this file).
func scanMySQL(text string) (myScan, *myLexError) {
	var sc myScan
	valid := utf8.ValidString(text)
	cond := -1 // index in sc.comments of the executable comment we are in
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == 0:
			return sc, &myLexError{"query text contains a zero byte", i}
		case c == '\'' || c == '"' || c == '`':
			end, marker, ok := myQuotedEnd(text, i)
			if !ok {
				return sc, &myLexError{"unterminated quoted string or identifier", i}
			}
			if cond >= 0 && marker {
				return sc, &myLexError{`a quoted string inside an executable comment holds "*/"`, i}
			}
			if !valid && c != '`' {
				sc.strings = append(sc.strings, [2]int{i, end})
			}
			i = end
		case c == '#' || (c == '-' && i+1 < len(text) && text[i+1] == '-' && myDashComment(text, i)):
			if cond >= 0 {
				return sc, &myLexError{"a comment inside an executable comment", i}
			}
			end := i + 1
			for end < len(text) && text[end] != '\n' {
				end++
			}
			sc.comments = append(sc.comments, myComment{kind: myPlainComment, start: i, end: end})
			i = end
		case c == '-' && i+2 < len(text) && text[i+1] == '-' && text[i+2] >= 0x80:
			return sc, &myLexError{`"--" followed by a non-ASCII character`, i}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			if cond >= 0 {
				return sc, &myLexError{"a comment inside an executable comment", i}
			}
			if com, ok := myExecComment(text, i); ok && !(com.version >= 999990 && !com.mariaDB) {
				if com.version >= 100000 && !com.mariaDB {
					return sc, &myLexError{"a /*! comment with a six-digit version (MySQL and MariaDB read it differently)", i}
				}
				sc.comments = append(sc.comments, com)
				cond = len(sc.comments) - 1
				i = com.open
				continue
			}
			end := myIndex(text, i+2, "*/")
			if end < 0 {
				return sc, &myLexError{"unterminated comment", i}
			}
			if i+2 < len(text) && text[i+2] == '+' && myContainsFold(text[i:end], "set_var") {
				// MySQL 8 reads /*+ SET_VAR(...) */ as a setting for the statement.
				return sc, &myLexError{"an optimizer hint that sets a variable (SET_VAR)", i}
			}
			sc.comments = append(sc.comments, myComment{kind: myPlainComment, start: i, end: end + 2})
			i = end + 2
		case c == '*' && cond >= 0 && i+1 < len(text) && text[i+1] == '/':
			sc.comments[cond].close, sc.comments[cond].end = i, i+2
			cond = -1
			i += 2
		case c == ';':
			if cond >= 0 {
				return sc, &myLexError{`";" inside an executable comment`, i}
			}
			sc.semis = append(sc.semis, i)
			i++
		default:
			i++
		}
	}
	if cond >= 0 {
		return sc, &myLexError{"unterminated executable comment", sc.comments[cond].start}
	}
	if !valid {
		if pos := myInvalidOutside(text, sc.strings); pos >= 0 {
			return sc, &myLexError{"query text is not valid UTF-8 outside a quoted string", pos}
		}
	}
	return sc, nil
}

// myInvalidOutside returns the offset of the first byte of text that is
// not UTF-8 and lies outside the quoted strings (sorted [start, end)
// ranges), or -1.
func myInvalidOutside(text string, strs [][2]int) int {
	k := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			for k < len(strs) && strs[k][1] <= i {
				k++
			}
			if k == len(strs) || i < strs[k][0] {
				return i
			}
		}
		i += size
	}
	return -1
}

// myValidCopy returns text with every byte that is not UTF-8 replaced by
// '?': the same length, the same lexing (see the top of this file).
func myValidCopy(text string) string {
	b := []byte(text)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			b[i] = '?'
		}
		i += size
	}
	return string(b)
}

// myDashComment reports whether the "--" at i starts a comment: MariaDB
// wants a space or control character after it, or the end of the text.
func myDashComment(text string, i int) bool {
	if i+2 >= len(text) {
		return true
	}
	b := text[i+2]
	return b <= ' ' || b == 0x7f
}

// myExecComment recognizes an executable comment starting at i ("/*" seen)
// and returns it with its content start; the end is found by the scan.
func myExecComment(text string, i int) (myComment, bool) {
	p := i + 2
	mariaDB := false
	if p+1 < len(text) && text[p] == 'M' && text[p+1] == '!' {
		mariaDB, p = true, p+2
	} else if p < len(text) && text[p] == '!' {
		p++
	} else {
		return myComment{}, false
	}
	com := myComment{kind: myCodeComment, start: i, mariaDB: mariaDB}
	// Exactly five digits, or six, make a version; fewer are content.
	n := 0
	for p+n < len(text) && n < 6 && text[p+n] >= '0' && text[p+n] <= '9' {
		n++
	}
	if n >= 5 {
		com.version, _ = strconv.Atoi(text[p : p+n])
		p += n
	}
	switch {
	case mariaDB:
		com.kind = myCondComment // MySQL does not run /*M!
	case com.version >= 50700:
		com.kind = myCondComment // MySQL 5.7+ runs it if new enough, MariaDB never
	}
	com.open = p
	return com, true
}

// myQuotedEnd returns the end (after the closing quote) of the quoted
// string or identifier starting at i, whether it holds "*/", and whether it
// is terminated. Strings take backslash escapes and doubled quotes;
// backquoted identifiers only doubled backquotes.
func myQuotedEnd(text string, i int) (end int, marker, ok bool) {
	q := text[i]
	for j := i + 1; j < len(text); j++ {
		switch c := text[j]; {
		case c == '\\' && q != '`':
			j++ // the escaped byte (a quote, or the lead byte of a character)
		case c == q:
			if j+1 < len(text) && text[j+1] == q {
				j++
				continue
			}
			return j + 1, marker, true
		case c == '*' && j+1 < len(text) && text[j+1] == '/':
			marker = true
		}
	}
	return len(text), marker, false
}

// myContainsFold reports whether s holds the lower-case ASCII word sub in
// any case.
func myContainsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		k := 0
		for k < len(sub) && myLower(s[i+k]) == sub[k] {
			k++
		}
		if k == len(sub) {
			return true
		}
	}
	return false
}

func myLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func myIndex(s string, from int, sub string) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// mySanitize returns the part [from, to) of text as the parser must see
// it: plain comments blanked, executable comments without their markers,
// and conditional comments as code or blanked as run says (bit k of run is
// the k-th conditional comment in [from, to)). Blanking keeps every byte
// offset and newline. comments are those of the text, or any part of them
// that holds those of [from, to).
func mySanitize(text string, comments []myComment, from, to int, run uint) []byte {
	b := []byte(text[from:to])
	blank := func(s, e int) {
		s, e = max(s, from), min(e, to)
		for k := s; k < e; k++ {
			if b[k-from] != '\n' {
				b[k-from] = ' '
			}
		}
	}
	k := 0
	for _, c := range comments {
		if c.end <= from || c.start >= to {
			continue
		}
		code := c.kind == myCodeComment
		if c.kind == myCondComment {
			code = run&(1<<k) != 0
			k++
		}
		if c.kind == myPlainComment || !code {
			blank(c.start, c.end)
			continue
		}
		blank(c.start, c.open)
		blank(c.close, c.end)
	}
	return b
}

// myCondCount is the number of conditional comments in [from, to).
func myCondCount(comments []myComment, from, to int) int {
	n := 0
	for _, c := range comments {
		if c.kind == myCondComment && c.end > from && c.start < to {
			n++
		}
	}
	return n
}
