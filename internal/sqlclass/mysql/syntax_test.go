package mysql

import (
	"testing"

	"airlock/internal/sqlclass/corpus"
)

// TestMySQLSyntaxError: a parse error says whether the database's own grammar
// rejects the text, with what the database would report.
func TestMySQLSyntaxError(t *testing.T) {
	c := New()
	corpus.CheckSyntaxErrors(t, c, []corpus.SyntaxCase{
		{"SELEC 1", true, 1, 1, "SELEC 1"},
		{"-- c\n  ＤELETE FROM t", true, 8, 2, "ＤELETE FROM t"},
		{"SELECT 1;\nfoo bar", true, 11, 2, "foo bar"},
		{"SELECT 'x", true, 8, 1, "'x"},
		{"lbl: LOOP LEAVE lbl; END LOOP", false, 0, 0, ""},
		{"SELECT 1 FROM WHERE", false, 0, 0, ""},
		{"(SELECT 1 FROM WHERE)", false, 0, 0, ""},
		{"/*!99999 SELECT */ 1 +", false, 0, 0, ""},
	})
}
