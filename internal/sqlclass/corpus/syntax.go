package corpus

import (
	"errors"
	"testing"

	"airlock/internal/sqlclass"
)

// SyntaxCase is a text a classifier refuses, and whether (and where) the
// database's own grammar would report a syntax error for it (an unnamed
// struct, so that the dialects' tables list cases positionally).
type SyntaxCase = struct {
	Text      string
	Syntax    bool
	Pos, Line int
	Near      string
}

// CheckSyntaxErrors classifies each case's text with c and checks that it
// is a parse error whose SyntaxError matches the case.
func CheckSyntaxErrors(t *testing.T, c sqlclass.Classifier, cases []SyntaxCase) {
	t.Helper()
	for _, tc := range cases {
		_, err := c.Classify(tc.Text)
		var pe *sqlclass.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: %v, want a parse error", tc.Text, err)
			continue
		}
		se := pe.SyntaxError()
		if (se != nil) != tc.Syntax {
			t.Errorf("%q: syntax error %+v, want %v", tc.Text, se, tc.Syntax)
			continue
		}
		if se == nil {
			continue
		}
		if se.Position != tc.Pos || se.Near != tc.Near || se.Line != tc.Line {
			t.Errorf("%q: %+v, want position %d, near %q, line %d", tc.Text, se, tc.Pos, tc.Near, tc.Line)
		}
	}
}
