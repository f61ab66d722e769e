package sqlclass

import (
	"errors"
	"testing"
)

// TestSyntaxError: a parse error says whether the database's own grammar
// rejects the text, with what the database would report.
func TestSyntaxError(t *testing.T) {
	pg, my := NewPostgres(), NewMySQL()
	for _, tc := range []struct {
		dialect, text string
		syntax        bool
		pos, line     int
		near          string
	}{
		{"pg", "SELEC 1", true, 1, 0, ""},
		{"pg", "SELECT 'é' AS x, FROM t", true, 18, 0, ""},
		{"pg", "SELECT 1\x00", false, 9, 0, ""},
		{"my", "SELEC 1", true, 1, 1, "SELEC 1"},
		{"my", "-- c\n  ＤELETE FROM t", true, 8, 2, "ＤELETE FROM t"},
		{"my", "SELECT 1;\nfoo bar", true, 11, 2, "foo bar"},
		{"my", "SELECT 'x", true, 8, 1, "'x"},
		{"my", "lbl: LOOP LEAVE lbl; END LOOP", false, 0, 0, ""},
		{"my", "SELECT 1 FROM WHERE", false, 0, 0, ""},
		{"my", "(SELECT 1 FROM WHERE)", false, 0, 0, ""},
		{"my", "/*!99999 SELECT */ 1 +", false, 0, 0, ""},
	} {
		var err error
		if tc.dialect == "pg" {
			_, err = pg.Classify(tc.text)
		} else {
			_, err = my.Classify(tc.text)
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s %q: %v, want a parse error", tc.dialect, tc.text, err)
			continue
		}
		se := pe.SyntaxError()
		if (se != nil) != tc.syntax {
			t.Errorf("%s %q: syntax error %+v, want %v", tc.dialect, tc.text, se, tc.syntax)
			continue
		}
		if se == nil {
			continue
		}
		if se.Position != tc.pos || se.Near != tc.near || se.Line != tc.line {
			t.Errorf("%s %q: %+v, want position %d, near %q, line %d", tc.dialect, tc.text, se, tc.pos, tc.near, tc.line)
		}
	}
}
