package mysql

import (
	"errors"
	"testing"

	"airlock"
	"airlock/internal/sqlclass"
	"airlock/internal/sqlclass/corpus"
)

const (
	myCorpusFile = "testdata/mysql/corpus.sql"
	myGoldenFile = "testdata/mysql/corpus.golden.json"
)

// TestMySQLCorpus classifies every case of the MySQL/MariaDB corpus and
// compares the facts (and the decisions they lead to at each session
// level) with the golden file; -update rewrites the golden file, to be
// reviewed in the diff. The corpus and golden formats are those of
// package corpus, as for the PostgreSQL corpus.
func TestMySQLCorpus(t *testing.T) {
	cases := corpus.Read(t, myCorpusFile)
	if len(cases) < 200 {
		t.Fatalf("corpus has %d cases, want at least 200", len(cases))
	}
	m := New()
	got := make([]corpus.Golden, 0, len(cases))
	for _, c := range cases {
		sts, err := m.Classify(c.Text)
		if err != nil {
			var pe *sqlclass.ParseError
			if !errors.As(err, &pe) {
				t.Errorf("%s: error %T is not a *sqlclass.ParseError", c.Name, err)
			}
		}
		for i, st := range sts {
			if msg := checkMySQLInvariants(st); msg != "" {
				t.Errorf("%s: statement %d: %s", c.Name, i, msg)
			}
		}
		got = append(got, corpus.ToGolden(c, sts, err))
	}
	corpus.Compare(t, got, myGoldenFile, "TestMySQLCorpus", *update)
}

// checkMySQLInvariants is corpus.CheckInvariants for MySQL facts. The one difference: SET STATEMENT ... FOR keeps the facts of its
// statement (so that rules on DELETE still see a DELETE) and adds the
// escape and the setting of SET STATEMENT, on a kind that is not set.
func checkMySQLInvariants(st airlock.Statement) string {
	if mySetStatementText(st.Text) {
		st.Escape, st.Setting, st.Value = airlock.EscapeNone, "", ""
	}
	if msg := corpus.CheckInvariants(st); msg != "" {
		return msg
	}
	if st.Kind == airlock.KindEmpty {
		return ""
	}
	if st.Text == "" {
		return "no Text"
	}
	return ""
}

// mySetStatementText reports whether a statement's text starts with SET
// STATEMENT (after comments and executable-comment markers).
func mySetStatementText(text string) bool {
	sc, err := scanMySQL(text)
	if err != nil {
		return false
	}
	toks := myTokens(mySanitize(text, sc.comments, 0, len(text), ^uint(0)))
	return myIs(toks, 0, "SET") && myIs(toks, 1, "STATEMENT")
}
