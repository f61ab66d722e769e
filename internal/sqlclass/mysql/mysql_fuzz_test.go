package mysql

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/sqlclass"
	"airlock/internal/sqlclass/corpus"
)

// FuzzClassifyMySQL checks that no text makes the MySQL classifier panic,
// that the facts it returns always hold together (checkMySQLInvariants),
// that it is deterministic, and that each statement's own text, classified
// alone, gives the same facts. Seeds are the corpus; crashers found are
// kept under testdata/fuzz/FuzzClassifyMySQL.
//
//	go test ./internal/sqlclass/mysql -run '^$' -fuzz FuzzClassifyMySQL -fuzztime 2m
func FuzzClassifyMySQL(f *testing.F) {
	for _, c := range corpus.Read(f, myCorpusFile) {
		f.Add(c.Text)
	}
	for _, c := range corpus.Read(f, mariaValidFile) {
		f.Add(c.Text)
	}
	for _, s := range []string{"SELECT MEDIAN(x) WITHIN GROUP (ORDER BY) OVER ()", "VALUES (", "SELECT * FROM t FOR SYSTEM_TIME AS OF", "EXECUTE q USING -", "SELECT JSON_TABLE(j COLUMNS"} {
		f.Add(s)
	}
	m := New()
	f.Fuzz(func(t *testing.T, text string) {
		sts, err := m.Classify(text)
		if err != nil {
			var pe *sqlclass.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *sqlclass.ParseError", err, err)
			}
			if sts != nil {
				t.Fatalf("statements %v returned with an error", sts)
			}
			return
		}
		if len(sts) == 0 {
			t.Fatal("no statement and no error")
		}
		for i, st := range sts {
			if msg := checkMySQLInvariants(st); msg != "" {
				t.Fatalf("statement %d of %q: %s", i, text, msg)
			}
			if st.Kind == airlock.KindEmpty && len(sts) != 1 {
				t.Fatalf("empty statement among %d", len(sts))
			}
			// Bytes that are not UTF-8 (inside strings) read as '?'.
			if !strings.Contains(myValidCopy(text), st.Text) {
				t.Fatalf("statement text %q is not part of %q", st.Text, text)
			}
		}
		again, err := m.Classify(text)
		if err != nil || !reflect.DeepEqual(again, sts) {
			t.Fatalf("second classification differs: %+v, %v", again, err)
		}
		if len(sts) == 1 {
			return
		}
		for i, st := range sts {
			alone, err := m.Classify(st.Text)
			if err != nil || len(alone) != 1 {
				t.Fatalf("statement %d %q alone: %+v, %v", i, st.Text, alone, err)
			}
			if !reflect.DeepEqual(alone[0], st) {
				t.Fatalf("statement %d %q alone: %+v, in the text: %+v", i, st.Text, alone[0], st)
			}
		}
	})
}
