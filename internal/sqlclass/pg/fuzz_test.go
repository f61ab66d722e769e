package pg

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/sqlclass"
	"airlock/internal/sqlclass/corpus"
)

// FuzzClassify checks that no text makes the classifier panic, that the
// facts it returns always hold together (checkInvariants) and that the fast
// walk finds what the reflection walk finds. Seeds are the
// corpus; crashers found are kept under testdata/fuzz/FuzzClassify.
func FuzzClassify(f *testing.F) {
	for _, c := range corpus.Read(f, pgCorpusFile) {
		f.Add(c.Text)
	}
	p := New(WithoutCache())
	cached := New()
	f.Fuzz(func(t *testing.T, text string) {
		sts, err := p.Classify(text)
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
			if msg := corpus.CheckInvariants(st); msg != "" {
				t.Fatalf("statement %d of %q: %s", i, text, msg)
			}
			if st.Kind == airlock.KindEmpty && len(sts) != 1 {
				t.Fatalf("empty statement among %d", len(sts))
			}
			if !strings.Contains(text, st.Text) {
				t.Fatalf("statement text %q is not part of %q", st.Text, text)
			}
		}
		for range 2 { // the second time from the cache, if it keeps the text
			again, err := cached.Classify(text)
			if err != nil || !reflect.DeepEqual(again, sts) {
				t.Fatalf("classification with the cache differs: %+v, %v", again, err)
			}
		}
		slowWalk = true // the reflection walk must find the same facts
		slow, err := p.Classify(text)
		slowWalk = false
		if err != nil || !reflect.DeepEqual(slow, sts) {
			t.Fatalf("reflection walk differs: %+v, %v; fast walk %+v", slow, err, sts)
		}
	})
}
