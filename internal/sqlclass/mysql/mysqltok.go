package mysql

import "strings"

// This file holds a small tokenizer for the statements that the TiDB
// parser does not know (or reads with less detail than airlock needs) and
// that mysqlhand.go recognizes by hand. It runs on sanitized text (no
// comments left, see mysqllex.go), so it only needs to know quoted tokens,
// words and punctuation.

// myTokKind is the kind of a token.
type myTokKind int8

const (
	myTokWord    myTokKind = iota // keyword, identifier or number: letters, digits, _ and $ (and non-ASCII)
	myTokIdent                    // `quoted identifier`
	myTokString                   // 'string' or "string"
	myTokUserVar                  // @name, @'name', @`name`
	myTokSysVar                   // @@name, @@session.name
	myTokPunct                    // one punctuation byte, or <=, >=, <>, !=, :=, <=>
)

// myTok is one token of a sanitized statement, at [start, end).
type myTok struct {
	kind       myTokKind
	start, end int
	up         string // upper-case text of a word; the punctuation itself
}

// myTokens splits sanitized text into tokens. A quoted token that does not
// end (which the scanner already refused) ends at the end of the text.
func myTokens(b []byte) []myTok {
	var toks []myTok
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '\'' || c == '"' || c == '`':
			end, _, _ := myQuotedEnd(string(b), i)
			kind := myTokString
			if c == '`' {
				kind = myTokIdent
			}
			toks = append(toks, myTok{kind: kind, start: i, end: end})
			i = end
		case c == '@':
			j := i + 1
			kind := myTokUserVar
			if j < len(b) && b[j] == '@' {
				kind, j = myTokSysVar, j+1
			}
			if kind == myTokUserVar && j < len(b) && (b[j] == '\'' || b[j] == '"' || b[j] == '`') {
				j, _, _ = myQuotedEnd(string(b), j)
			} else {
				for j < len(b) && (myWordByte(b[j]) || (kind == myTokSysVar && b[j] == '.')) {
					j++
				}
			}
			toks = append(toks, myTok{kind: kind, start: i, end: j})
			i = j
		case myWordByte(c):
			j := i + 1
			for j < len(b) && myWordByte(b[j]) {
				j++
			}
			toks = append(toks, myTok{kind: myTokWord, start: i, end: j, up: strings.ToUpper(string(b[i:j]))})
			i = j
		default:
			j := i + 1
			if j < len(b) {
				switch two := string(b[i : j+1]); two {
				case "<=", ">=", "<>", "!=", ":=":
					j++
					if two == "<=" && j < len(b) && b[j] == '>' {
						j++
					}
				}
			}
			toks = append(toks, myTok{kind: myTokPunct, start: i, end: j, up: string(b[i:j])})
			i = j
		}
	}
	return toks
}

func myWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// is reports whether toks[i] is the word w (upper case).
func myIs(toks []myTok, i int, w string) bool {
	return i < len(toks) && toks[i].kind == myTokWord && toks[i].up == w
}

// myIsPunct reports whether toks[i] is the punctuation p.
func myIsPunct(toks []myTok, i int, p string) bool {
	return i < len(toks) && toks[i].kind == myTokPunct && toks[i].up == p
}

// myIdentAt returns the identifier at toks[i] (a word or a quoted
// identifier), lower-cased, and whether there is one.
func myIdentAt(b []byte, toks []myTok, i int) (string, bool) {
	if i >= len(toks) {
		return "", false
	}
	t := toks[i]
	switch t.kind {
	case myTokWord:
		return strings.ToLower(string(b[t.start:t.end])), true
	case myTokIdent:
		return strings.ToLower(myUnquote(string(b[t.start:t.end]))), true
	}
	return "", false
}

// myNameAt reads a name, possibly qualified (db.name), at toks[i]; it
// returns the name and the index of the token after it.
func myNameAt(b []byte, toks []myTok, i int) (string, int, bool) {
	name, ok := myIdentAt(b, toks, i)
	if !ok {
		return "", i, false
	}
	if myIsPunct(toks, i+1, ".") {
		second, ok := myIdentAt(b, toks, i+2)
		if !ok {
			return "", i, false
		}
		return name + "." + second, i + 3, true
	}
	return name, i + 1, true
}

// myUnquote removes the quotes of a quoted identifier (doubled quotes
// stand for one).
func myUnquote(s string) string {
	if len(s) < 2 {
		return s
	}
	q := s[:1]
	return strings.ReplaceAll(s[1:len(s)-1], q+q, q)
}

// myMatchParen returns the index of the token closing the parenthesis
// opened at toks[i], or -1.
func myMatchParen(toks []myTok, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch {
		case myIsPunct(toks, j, "("):
			depth++
		case myIsPunct(toks, j, ")"):
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// myTopLevel returns the index of the first token from i that is the word
// w outside parentheses, or -1.
func myTopLevel(toks []myTok, i int, w string) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch {
		case myIsPunct(toks, j, "("):
			depth++
		case myIsPunct(toks, j, ")"):
			depth--
		case depth == 0 && myIs(toks, j, w):
			return j
		}
	}
	return -1
}
