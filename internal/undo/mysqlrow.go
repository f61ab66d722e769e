package undo

import (
	"fmt"
	"strings"
)

// MyField is one column of a captured MySQL row: its name and its value as
// an SQL literal.
type MyField struct {
	Name, Value string
}

// ParseMyRow reads a row in the text form the capture triggers write
// (MyRowExpr). Every value must be one of the literal forms they produce
// (NULL, a number, a quoted string, X'..', b'..', _charset X'..',
// FROM_UNIXTIME(n), ST_GeomFromWKB(X'..', n)), so that SQL built from a
// row can only put values back, whatever the stored text says.
func ParseMyRow(s string) ([]MyField, error) {
	p := &rowScanner{s: s}
	var out []MyField
	for {
		name, err := p.ident()
		if err != nil {
			return nil, err
		}
		if !p.lit("=") {
			return nil, p.fail("want = after the column name")
		}
		start := p.i
		if err := p.value(); err != nil {
			return nil, err
		}
		out = append(out, MyField{Name: name, Value: s[start:p.i]})
		if p.i == len(s) {
			return out, nil
		}
		if !p.lit(", ") {
			return nil, p.fail("want , between columns")
		}
	}
}

type rowScanner struct {
	s string
	i int
}

func (p *rowScanner) fail(why string) error {
	return fmt.Errorf("captured row, at byte %d: %s", p.i, why)
}

func (p *rowScanner) lit(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *rowScanner) ident() (string, error) {
	if !p.lit("`") {
		return "", p.fail("want a quoted column name")
	}
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		if c != '`' {
			b.WriteByte(c)
			continue
		}
		if p.lit("`") {
			b.WriteByte('`')
			continue
		}
		return b.String(), nil
	}
	return "", p.fail("unterminated column name")
}

// span advances over bytes in set and reports how many there were.
func (p *rowScanner) span(set string) int {
	n := 0
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
		n++
	}
	return n
}

const (
	digits    = "0123456789"
	hexDigits = "0123456789ABCDEFabcdef"
)

func (p *rowScanner) number() error {
	p.lit("-")
	if p.span(digits) == 0 {
		return p.fail("want a number")
	}
	if p.lit(".") && p.span(digits) == 0 {
		return p.fail("want digits after the decimal point")
	}
	return nil
}

func (p *rowScanner) hexString() error {
	if !p.lit("X'") {
		return p.fail("want X'")
	}
	if p.span(hexDigits)%2 != 0 || !p.lit("'") {
		return p.fail("want an even number of hex digits and '")
	}
	return nil
}

// quoted reads a string as QUOTE() writes it: backslash escapes, no
// doubled quotes.
func (p *rowScanner) quoted() error {
	p.i++ // the opening quote
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\\':
			p.i += 2
		case '\'':
			p.i++
			return nil
		default:
			p.i++
		}
	}
	return p.fail("unterminated string")
}

func (p *rowScanner) value() error {
	if p.i >= len(p.s) {
		return p.fail("want a value")
	}
	switch c := p.s[p.i]; {
	case p.lit("NULL"):
		return nil
	case c == '\'':
		return p.quoted()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case strings.HasPrefix(p.s[p.i:], "X'"):
		return p.hexString()
	case p.lit("b'"):
		p.span("01")
		if !p.lit("'") {
			return p.fail("want bits and '")
		}
		return nil
	case c == '_':
		p.i++
		if p.span("abcdefghijklmnopqrstuvwxyz0123456789_") == 0 || !p.lit(" ") {
			return p.fail("want a character set name")
		}
		return p.hexString()
	case p.lit("FROM_UNIXTIME("):
		if err := p.number(); err != nil {
			return err
		}
		if !p.lit(")") {
			return p.fail("want )")
		}
		return nil
	case p.lit("ST_GeomFromWKB("):
		if err := p.hexString(); err != nil {
			return err
		}
		if !p.lit(", ") || p.span(digits) == 0 || !p.lit(")") {
			return p.fail("want , SRID)")
		}
		return nil
	}
	return p.fail("not a value airlock writes")
}
