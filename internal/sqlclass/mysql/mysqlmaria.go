package mysql

import (
	"strings"
)

// MariaDB syntax the TiDB parser does not know is rewritten, token by
// token, into text it reads as the same statement with the same facts
// (tables, functions, kind, locks), and classified from there (see
// sanitized). A rewrite never drops a part that could name a table or
// call a function: a region it would blank that holds SELECT is left
// alone, and the statement stays unparseable (denied). The rewrites:
//
//	VALUES (1, 'a'), (2, 'b')          SELECT 1, 'a' UNION ALL SELECT 2, 'b'
//	  (table value constructors: as a statement, a derived table, a union part)
//	... LOCK IN SHARE MODE SKIP LOCKED  ... LOCK IN SHARE MODE
//	LIMIT n ROWS EXAMINED m             LIMIT n
//	OFFSET n ROWS FETCH NEXT m ROWS ONLY / WITH TIES   LIMIT m OFFSET n
//	PREVIOUS VALUE FOR s                LASTVAL(s)
//	VALUE(col)                          VALUES(col)
//	a SOUNDS LIKE b                     a LIKE b
//	GROUP_CONCAT(x LIMIT n)             GROUP_CONCAT(x)
//	MEDIAN(x) OVER (...)                MEDIAN(x)
//	PERCENTILE_CONT(f) WITHIN GROUP (ORDER BY x) OVER (...)   PERCENTILE_CONT(f, x)
//	JSON_TABLE(j, path COLUMNS (...)) AS t   (SELECT JSON_EXTRACT(j, path)) AS t
//	  (a table function with its own syntax: it reads j as JSON_EXTRACT does)
//	t FOR SYSTEM_TIME AS OF x / BETWEEN x AND y / FROM x TO y / ALL   t
//	  (system-versioned tables: which rows of t, not which tables)
//	EXECUTE q USING 4, 'a'              EXECUTE q USING @_, @_
//	  (literals only: the facts of EXECUTE are those of q's PREPARE)

// myMariaRewrite returns b rewritten, and whether anything changed.
func myMariaRewrite(b []byte, toks []myTok) ([]byte, bool) {
	var out []byte
	last := 0 // b[:last] is in out
	changed := false
	emit := func(upto int, repl string) {
		out = append(out, b[last:upto]...)
		out = append(out, repl...)
		changed = true
	}
	prevWord := func(i int) string {
		if i == 0 {
			return ""
		}
		return toks[i-1].up
	}
	if myIs(toks, 0, "EXECUTE") && myIs(toks, 2, "USING") {
		if args, ok := myLiteralArgs(toks, 3); ok {
			for _, a := range args {
				emit(toks[a[0]].start, "@_")
				last = toks[a[1]-1].end
			}
			out = append(out, b[last:]...)
			return out, true
		}
		return b, false
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == myTokWord && t.up == "VALUES" && myIsPunct(toks, i+1, "(") &&
			(i == 0 || myIsPunct(toks, i-1, "(") || strings.Contains(" UNION EXCEPT INTERSECT ALL DISTINCT ", " "+prevWord(i)+" ")):
			// A table value constructor: rows (...), (...).
			var rows [][2]int
			j := i + 1
			for myIsPunct(toks, j, "(") {
				k := myClose(toks, j)
				if k < 0 {
					return b, false
				}
				rows = append(rows, [2]int{j, k})
				j = k + 1
				if !myIsPunct(toks, j, ",") || !myIsPunct(toks, j+1, "(") {
					break
				}
				j++
			}
			emit(t.start, "")
			for n, r := range rows {
				if n > 0 {
					out = append(out, " UNION ALL "...)
				}
				out = append(out, "SELECT "...)
				out = append(out, b[toks[r[0]].end:toks[r[1]].start]...)
			}
			out = append(out, ' ')
			last = toks[rows[len(rows)-1][1]].end
			i = rows[len(rows)-1][1]
		case t.up == "FOR" && myIs(toks, i+1, "SYSTEM_TIME"):
			end, ok := mySystemTimeEnd(toks, i+2)
			if !ok || myHolds(toks, i, end, "SELECT") {
				return b, false
			}
			emit(t.start, "")
			last = toks[end-1].end
			i = end - 1
		case t.up == "SKIP" && myIs(toks, i+1, "LOCKED") && prevWord(i) == "MODE" && myIs(toks, i-2, "SHARE"):
			emit(t.start, "")
			last = toks[i+1].end
			i++
		case t.up == "ROWS" && myIs(toks, i+1, "EXAMINED") && i+2 < len(toks) && toks[i+2].kind == myTokWord:
			emit(t.start, "")
			last = toks[i+2].end
			i += 2
		case t.up == "OFFSET" || t.up == "FETCH":
			if repl, end, ok := myFetch(b, toks, i); ok {
				emit(t.start, repl)
				last = toks[end].end
				i = end
			}
		case t.up == "PREVIOUS" && myIs(toks, i+1, "VALUE") && myIs(toks, i+2, "FOR") && i+3 < len(toks):
			end := i + 3
			for myIsPunct(toks, end+1, ".") && end+2 < len(toks) {
				end += 2
			}
			emit(t.start, "LASTVAL("+string(b[toks[i+3].start:toks[end].end])+")")
			last = toks[end].end
			i = end
		case t.kind == myTokWord && t.up == "VALUE" && myIsPunct(toks, i+1, "("):
			emit(t.start, "VALUES")
			last = t.end
		case t.up == "SOUNDS" && myIs(toks, i+1, "LIKE"):
			emit(t.start, "")
			last = t.end
		case t.up == "GROUP_CONCAT" && myIsPunct(toks, i+1, "("):
			k := myClose(toks, i+1)
			if k < 0 {
				return b, false
			}
			if l := myAtDepth(toks, i+1, k, "LIMIT"); l >= 0 && !myHolds(toks, l, k, "SELECT") {
				emit(toks[l].start, "")
				last = toks[k].start
				i = k - 1
			}
		case (t.up == "MEDIAN" || t.up == "PERCENTILE_CONT" || t.up == "PERCENTILE_DISC") && myIsPunct(toks, i+1, "("):
			args := myClose(toks, i+1)
			if args < 0 {
				return b, false
			}
			j := args + 1
			order := ""
			if myIs(toks, j, "WITHIN") && myIs(toks, j+1, "GROUP") && myIsPunct(toks, j+2, "(") && myIs(toks, j+3, "ORDER") && myIs(toks, j+4, "BY") {
				k := myClose(toks, j+2)
				if k < 0 {
					return b, false
				}
				e := k
				if myIs(toks, e-1, "ASC") || myIs(toks, e-1, "DESC") {
					e--
				}
				if e <= j+5 {
					return b, false
				}
				order = ", " + string(b[toks[j+5].start:toks[e-1].end])
				j = k + 1
			}
			end := j - 1
			if myIs(toks, j, "OVER") && myIsPunct(toks, j+1, "(") {
				k := myClose(toks, j+1)
				if k < 0 || myHolds(toks, j, k, "SELECT") {
					return b, false
				}
				end = k
			}
			if end == args {
				break
			}
			emit(toks[args].start, order+")")
			last = toks[end].end
			i = end
		case t.up == "JSON_TABLE" && myIsPunct(toks, i+1, "("):
			k := myClose(toks, i+1)
			if k < 0 {
				return b, false
			}
			c := myAtDepth(toks, i+1, k, "COLUMNS")
			if c < 0 || myHolds(toks, c, k, "SELECT") {
				return b, false
			}
			emit(t.start, "(SELECT JSON_EXTRACT")
			out = append(out, b[toks[i+1].start:toks[c].start]...)
			out = append(out, "))"...)
			last = toks[k].end
			i = k
		}
	}
	if !changed {
		return b, false
	}
	return append(out, b[last:]...), true
}

// myClose returns the index of the ")" matching the "(" at toks[i], or -1.
func myClose(toks []myTok, i int) int {
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

// myAtDepth returns the index of word w directly inside the parentheses
// open at toks[open] and closed at toks[close], or -1.
func myAtDepth(toks []myTok, open, close int, w string) int {
	depth := 0
	for j := open + 1; j < close; j++ {
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

// myHolds reports whether word w is among toks[from:to].
func myHolds(toks []myTok, from, to int, w string) bool {
	for j := from; j < to && j < len(toks); j++ {
		if myIs(toks, j, w) {
			return true
		}
	}
	return false
}

// myFetch reads [OFFSET n ROW[S]] FETCH FIRST|NEXT [m] ROW[S] ONLY|WITH
// TIES at toks[i] and returns the LIMIT clause it means and its last token.
func myFetch(b []byte, toks []myTok, i int) (string, int, bool) {
	offset := ""
	if myIs(toks, i, "OFFSET") {
		if i+2 >= len(toks) || toks[i+1].kind != myTokWord || !(myIs(toks, i+2, "ROWS") || myIs(toks, i+2, "ROW")) {
			return "", 0, false
		}
		offset = string(b[toks[i+1].start:toks[i+1].end])
		i += 3
	}
	if !myIs(toks, i, "FETCH") || !(myIs(toks, i+1, "FIRST") || myIs(toks, i+1, "NEXT")) {
		return "", 0, false
	}
	i += 2
	count := "1"
	if i < len(toks) && toks[i].kind == myTokWord && toks[i].up != "ROW" && toks[i].up != "ROWS" {
		count = string(b[toks[i].start:toks[i].end])
		i++
	}
	if !(myIs(toks, i, "ROWS") || myIs(toks, i, "ROW")) {
		return "", 0, false
	}
	i++
	switch {
	case myIs(toks, i, "ONLY"):
	case myIs(toks, i, "WITH") && myIs(toks, i+1, "TIES"):
		i++
	default:
		return "", 0, false
	}
	limit := "LIMIT " + count
	if offset != "" {
		limit += " OFFSET " + offset
	}
	return limit, i, true
}

// myLiteralArgs reads a list of literal arguments (numbers, strings,
// NULL, TRUE, FALSE, with a sign) and user variables from toks[i] to the
// end, and returns the token ranges of the literals.
func myLiteralArgs(toks []myTok, i int) ([][2]int, bool) {
	var lits [][2]int
	for {
		start := i
		if myIsPunct(toks, i, "-") || myIsPunct(toks, i, "+") {
			i++
		}
		if i >= len(toks) {
			return nil, false
		}
		t := toks[i]
		switch {
		case t.kind == myTokUserVar && start == i:
		case t.kind == myTokString:
			lits = append(lits, [2]int{start, i + 1})
		case t.kind == myTokWord && (t.up[0] >= '0' && t.up[0] <= '9' || t.up == "NULL" || t.up == "TRUE" || t.up == "FALSE"):
			if myIsPunct(toks, i+1, ".") && i+2 < len(toks) && toks[i+2].kind == myTokWord {
				i += 2 // 1.5 is three tokens
			}
			lits = append(lits, [2]int{start, i + 1})
		default:
			return nil, false
		}
		i++
		if i == len(toks) {
			return lits, true
		}
		if !myIsPunct(toks, i, ",") {
			return nil, false
		}
		i++
	}
}

// mySystemTimeStop are the words that end a FOR SYSTEM_TIME clause.
var mySystemTimeStop = map[string]bool{
	"WHERE": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "CROSS": true,
	"NATURAL": true, "STRAIGHT_JOIN": true, "GROUP": true, "ORDER": true, "LIMIT": true,
	"HAVING": true, "WINDOW": true, "UNION": true, "EXCEPT": true, "INTERSECT": true, "ON": true,
	"USING": true, "AS": true, "FOR": true, "LOCK": true, "INTO": true, "SET": true, "USE": true,
	"FORCE": true, "IGNORE": true, "PARTITION": true, "RETURNING": true,
}

// mySystemTimeEnd returns the index just after the FOR SYSTEM_TIME clause
// whose specification starts at toks[i] (ALL, AS OF ..., BETWEEN ... AND
// ..., FROM ... TO ...).
func mySystemTimeEnd(toks []myTok, i int) (int, bool) {
	switch {
	case myIs(toks, i, "ALL"):
		return i + 1, true
	case myIs(toks, i, "AS") && myIs(toks, i+1, "OF"):
		i += 2
	case myIs(toks, i, "BETWEEN"), myIs(toks, i, "FROM"):
		i++
	default:
		return 0, false
	}
	depth, start := 0, i
	for ; i < len(toks); i++ {
		switch {
		case myIsPunct(toks, i, "("):
			depth++
		case myIsPunct(toks, i, ")"):
			if depth == 0 {
				return i, i > start
			}
			depth--
		case depth == 0 && (myIsPunct(toks, i, ",") || myIsPunct(toks, i, ";")):
			return i, i > start
		case depth == 0 && toks[i].kind == myTokWord && mySystemTimeStop[toks[i].up] && i > start:
			// AS is the alias after the clause, but AS OF starts it.
			return i, true
		}
	}
	return i, i > start
}
