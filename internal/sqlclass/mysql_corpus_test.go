package sqlclass

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"airlock"
)

const (
	myCorpusFile = "testdata/mysql/corpus.sql"
	myGoldenFile = "testdata/mysql/corpus.golden.json"
)

// TestMySQLCorpus classifies every case of the MySQL/MariaDB corpus and
// compares the facts (and the decisions they lead to at each session
// level) with the golden file; -update rewrites the golden file, to be
// reviewed in the diff. The corpus and golden formats are those of the
// PostgreSQL corpus (corpus_test.go).
func TestMySQLCorpus(t *testing.T) {
	cases := readCorpus(t, myCorpusFile)
	if len(cases) < 200 {
		t.Fatalf("corpus has %d cases, want at least 200", len(cases))
	}
	m := NewMySQL()
	got := make([]goldenCase, 0, len(cases))
	for _, c := range cases {
		sts, err := m.Classify(c.Text)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("%s: error %T is not a *ParseError", c.Name, err)
			}
		}
		for i, st := range sts {
			if msg := checkMySQLInvariants(st); msg != "" {
				t.Errorf("%s: statement %d: %s", c.Name, i, msg)
			}
		}
		got = append(got, toGolden(c, sts, err))
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(myGoldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(myGoldenFile, marshalGolden(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(myGoldenFile)
	if err != nil {
		t.Fatalf("%v (run go test -run TestMySQLCorpus -update)", err)
	}
	var want []goldenCase
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: %v", myGoldenFile, err)
	}
	wantByName := map[string]goldenCase{}
	for _, w := range want {
		wantByName[w.Name] = w
	}
	for _, g := range got {
		w, ok := wantByName[g.Name]
		if !ok {
			t.Errorf("%s: not in %s (run go test -run TestMySQLCorpus -update and review the diff)", g.Name, filepath.Base(myGoldenFile))
			continue
		}
		if gb, wb := marshalGolden(g), marshalGolden(w); !bytes.Equal(gb, wb) {
			t.Errorf("%s: facts differ from the golden file\ngot:\n%s\nwant:\n%s", g.Name, gb, wb)
		}
		delete(wantByName, g.Name)
	}
	for name := range wantByName {
		t.Errorf("%s: in the golden file but not in the corpus", name)
	}
}

// checkMySQLInvariants is checkInvariants (corpus_test.go) for MySQL
// facts. The one difference: SET STATEMENT ... FOR keeps the facts of its
// statement (so that rules on DELETE still see a DELETE) and adds the
// escape and the setting of SET STATEMENT, on a kind that is not set.
func checkMySQLInvariants(st airlock.Statement) string {
	if mySetStatementText(st.Text) {
		st.Escape, st.Setting, st.Value = airlock.EscapeNone, "", ""
	}
	if msg := checkInvariants(st); msg != "" {
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
