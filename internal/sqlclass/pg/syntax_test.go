package pg

import (
	"errors"
	"testing"

	"airlock/internal/sqlclass"
)

// TestSyntaxError: a parse error says whether the database's own grammar
// rejects the text, with what the database would report.
func TestSyntaxError(t *testing.T) {
	c := New()
	for _, tc := range []struct {
		text      string
		syntax    bool
		pos, line int
		near      string
	}{
		{"SELEC 1", true, 1, 0, ""},
		{"SELECT 'é' AS x, FROM t", true, 18, 0, ""},
		{"SELECT 1\x00", false, 9, 0, ""},
	} {
		_, err := c.Classify(tc.text)
		var pe *sqlclass.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: %v, want a parse error", tc.text, err)
			continue
		}
		se := pe.SyntaxError()
		if (se != nil) != tc.syntax {
			t.Errorf("%q: syntax error %+v, want %v", tc.text, se, tc.syntax)
			continue
		}
		if se == nil {
			continue
		}
		if se.Position != tc.pos || se.Near != tc.near || se.Line != tc.line {
			t.Errorf("%q: %+v, want position %d, near %q, line %d", tc.text, se, tc.pos, tc.near, tc.line)
		}
	}
}
