package pg

import (
	"testing"

	"airlock/internal/sqlclass/corpus"
)

// TestSyntaxError: a parse error says whether the database's own grammar
// rejects the text, with what the database would report.
func TestSyntaxError(t *testing.T) {
	c := New()
	corpus.CheckSyntaxErrors(t, c, []corpus.SyntaxCase{
		{"SELEC 1", true, 1, 0, ""},
		{"SELECT 'é' AS x, FROM t", true, 18, 0, ""},
		{"SELECT 1\x00", false, 9, 0, ""},
	})
}
