package mysqlwire

import "testing"

// mayKill must say yes to every text killQueryRE matches: it only spares
// the regular expression on queries that cannot match.
func TestMayKill(t *testing.T) {
	for _, text := range []string{
		"KILL QUERY 12", "kill query 12", " \t\n\f\rKiLl  Query 7 ; ", "KILL SOFT QUERY 3;",
		"\u212aILL QUERY 5", // the Kelvin sign folds to k
	} {
		if !killQueryRE.MatchString(text) {
			t.Fatalf("%q: the expression does not match; the case is wrong", text)
		}
		if !mayKill(text) {
			t.Errorf("mayKill(%q) = false, but the expression matches", text)
		}
	}
	for _, text := range []string{"SELECT 1", "", "   ", "\vKILL QUERY 1", "/* x */ KILL QUERY 1", "BEGIN"} {
		if killQueryRE.MatchString(text) {
			t.Fatalf("%q: the expression matches; the case is wrong", text)
		}
		if mayKill(text) {
			t.Errorf("mayKill(%q) = true for a text that does not start with K", text)
		}
	}
}

func FuzzMayKill(f *testing.F) {
	for _, s := range []string{"KILL QUERY 1", "\u212aill query 2", " kill hard query 3;", "SELECT 1", "\x0bKILL QUERY 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if killQueryRE.MatchString(text) && !mayKill(text) {
			t.Errorf("mayKill(%q) = false, but the expression matches", text)
		}
	})
}
