package pg

import (
	"errors"
	"testing"

	"airlock/internal/sqlclass"
	"airlock/internal/sqlclass/corpus"
)

const (
	pgCorpusFile = "testdata/pg/corpus.sql"
	pgGoldenFile = "testdata/pg/corpus.golden.json"
)

// TestCorpus classifies every case of the corpus and compares the facts
// (and the decisions they lead to) with the golden file; -update rewrites
// the golden file, to be reviewed in the diff.
func TestCorpus(t *testing.T) {
	cases := corpus.Read(t, pgCorpusFile)
	if len(cases) < 200 {
		t.Fatalf("corpus has %d cases, want at least 200", len(cases))
	}
	p := New()
	got := make([]corpus.Golden, 0, len(cases))
	for _, c := range cases {
		sts, err := p.Classify(c.Text)
		if err != nil {
			var pe *sqlclass.ParseError
			if !errors.As(err, &pe) {
				t.Errorf("%s: error %T is not a *sqlclass.ParseError", c.Name, err)
			}
		}
		for i, st := range sts {
			if msg := corpus.CheckInvariants(st); msg != "" {
				t.Errorf("%s: statement %d: %s", c.Name, i, msg)
			}
		}
		got = append(got, corpus.ToGolden(c, sts, err))
	}

	corpus.Compare(t, got, pgGoldenFile, "TestCorpus", *update)
}
