// Package corpus holds what the tests of both SQL dialects share: the
// corpus file format (one case per "-- name:" header), the golden file of
// facts with the level decision they lead to at each session level, and the
// invariants any statement's facts hold. It is imported by tests only.
package corpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"airlock"
)

// Case is one entry of a corpus file: a "-- name: NAME" header and the SQL
// text up to the next header.
type Case struct {
	Name string
	Text string
}

// Read reads a corpus file. Trailing blank lines of a case are not part of
// its text; lines before the first header are ignored.
func Read(t testing.TB, path string) []Case {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []Case
	seen := map[string]bool{}
	var cur *Case
	var lines []string
	flush := func() {
		if cur != nil {
			cur.Text = strings.TrimRight(strings.Join(lines, "\n"), "\n")
			cases = append(cases, *cur)
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "-- name: "); ok {
			flush()
			name = strings.TrimSpace(name)
			if seen[name] {
				t.Fatalf("%s: case %q appears twice", path, name)
			}
			seen[name] = true
			cur, lines = &Case{Name: name}, nil
			continue
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return cases
}

// Golden is what the golden file records for a corpus case.
type Golden struct {
	Name       string       `json:"name"`
	Error      string       `json:"error,omitempty"`
	Statements []GoldenStmt `json:"statements,omitempty"`
}

// GoldenStmt is airlock.Statement as reviewers read it, with the decision
// at each session level. Text is recorded only when it is not the whole
// case text.
type GoldenStmt struct {
	Kind        airlock.Kind   `json:"kind"`
	Level       airlock.Level  `json:"level"`
	Why         string         `json:"why"`
	Decisions   string         `json:"decisions"`
	Command     string         `json:"command"`
	Name        string         `json:"name,omitempty"`
	Tables      []string       `json:"tables,omitempty"`
	WriteTables []string       `json:"write_tables,omitempty"`
	Functions   []string       `json:"functions,omitempty"`
	HasWhere    bool           `json:"has_where,omitempty"`
	HasLimit    bool           `json:"has_limit,omitempty"`
	Escape      airlock.Escape `json:"escape,omitempty"`
	Setting     string         `json:"setting,omitempty"`
	Value       string         `json:"value,omitempty"`
	Txn         string         `json:"txn,omitempty"`
	Text        string         `json:"text,omitempty"`
}

var txnNames = map[airlock.TxnEffect]string{
	airlock.TxnNone: "", airlock.TxnBegin: "begin", airlock.TxnCommit: "commit", airlock.TxnRollback: "rollback",
	airlock.TxnSavepoint: "savepoint", airlock.TxnRelease: "release", airlock.TxnRollbackTo: "rollback_to",
}

var sessionLevels = []airlock.Level{airlock.LevelRead, airlock.LevelWrite, airlock.LevelDDL, airlock.LevelAdmin}

// allowedAt is the level decision the corpus expects the policy to take on
// these facts (SPEC §2, §5 escape): a statement runs in a session when its
// level is not above the session's and it is no escape, or only a
// read-only escape in a session above read.
func allowedAt(st airlock.Statement, session airlock.Level) bool {
	if st.Level > session {
		return false
	}
	switch st.Escape {
	case airlock.EscapeNone:
		return true
	case airlock.EscapeReadOnly:
		return session > airlock.LevelRead
	}
	return false
}

// Decisions renders the level decision at every session level:
// "read:deny write:allow ...".
func Decisions(st airlock.Statement) string {
	parts := make([]string, 0, len(sessionLevels))
	for _, l := range sessionLevels {
		d := "deny"
		if allowedAt(st, l) {
			d = "allow"
		}
		parts = append(parts, l.String()+":"+d)
	}
	return strings.Join(parts, " ")
}

// ToGolden records the classification of a case.
func ToGolden(c Case, sts []airlock.Statement, err error) Golden {
	g := Golden{Name: c.Name}
	if err != nil {
		g.Error = err.Error()
		return g
	}
	for _, st := range sts {
		gs := GoldenStmt{
			Kind: st.Kind, Level: st.Level, Why: st.Why, Decisions: Decisions(st), Command: st.Command,
			Name: st.Name, Tables: st.Tables, WriteTables: st.WriteTables, Functions: st.Functions,
			HasWhere: st.HasWhere, HasLimit: st.HasLimit, Escape: st.Escape, Setting: st.Setting,
			Value: st.Value, Txn: txnNames[st.Txn],
		}
		if st.Text != strings.TrimSpace(c.Text) {
			gs.Text = st.Text
		}
		g.Statements = append(g.Statements, gs)
	}
	return g
}

// Marshal encodes v as the golden files are written.
func Marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// Compare compares the cases classified now with the golden file, or
// rewrites the golden file when update is set. test names the test that
// rewrites it (go test -run test -update).
func Compare(t *testing.T, got []Golden, goldenFile, test string, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, Marshal(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, test)
	}
	var want []Golden
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	wantByName := map[string]Golden{}
	for _, w := range want {
		wantByName[w.Name] = w
	}
	for _, g := range got {
		w, ok := wantByName[g.Name]
		if !ok {
			t.Errorf("%s: not in %s (run go test -run %s -update and review the diff)", g.Name, filepath.Base(goldenFile), test)
			continue
		}
		if gb, wb := Marshal(g), Marshal(w); !bytes.Equal(gb, wb) {
			t.Errorf("%s: facts differ from the golden file\ngot:\n%s\nwant:\n%s", g.Name, gb, wb)
		}
		delete(wantByName, g.Name)
	}
	for name := range wantByName {
		t.Errorf("%s: in the golden file but not in the corpus", name)
	}
}

// CheckInvariants returns what is wrong with a statement's facts, or "".
// It holds for any text, so the fuzzers check it too.
func CheckInvariants(st airlock.Statement) string {
	switch {
	case !validKinds[st.Kind]:
		return fmt.Sprintf("invalid kind %q", st.Kind)
	case st.Level < airlock.LevelRead || st.Level > airlock.LevelAdmin:
		return fmt.Sprintf("invalid level %d", st.Level)
	case st.Kind == airlock.KindUnknown && st.Level != airlock.LevelAdmin:
		return fmt.Sprintf("unknown kind at level %s, want admin", st.Level)
	case st.Why == "":
		return "no Why"
	case st.Kind != airlock.KindEmpty && st.Command == "":
		return "no Command"
	case st.Command != strings.ToUpper(st.Command):
		return fmt.Sprintf("command %q is not upper-case", st.Command)
	case st.Tables == nil || st.WriteTables == nil || st.Functions == nil:
		return "nil list"
	case dmlKinds[st.Kind] && st.Level < airlock.LevelWrite:
		return fmt.Sprintf("%s at level %s", st.Kind, st.Level)
	case (st.Kind == airlock.KindDDL || st.Kind == airlock.KindDrop || st.Kind == airlock.KindTruncate) && st.Level < airlock.LevelDDL:
		return fmt.Sprintf("%s at level %s", st.Kind, st.Level)
	case st.Escape != airlock.EscapeNone && !escapeKinds[st.Kind] && !hasSetConfig(st):
		return fmt.Sprintf("escape %q on kind %s without set_config", st.Escape, st.Kind)
	case st.Txn != airlock.TxnNone && st.Kind != airlock.KindTransaction:
		return fmt.Sprintf("transaction effect on kind %s", st.Kind)
	case st.Setting != "" && st.Kind != airlock.KindSet && !hasSetConfig(st):
		return fmt.Sprintf("setting %q on kind %s without set_config", st.Setting, st.Kind)
	}
	for _, w := range st.WriteTables {
		if !contains(st.Tables, w) {
			return fmt.Sprintf("write table %q not in tables %q", w, st.Tables)
		}
	}
	for _, list := range [][]string{st.Tables, st.WriteTables, st.Functions} {
		for i, n := range list {
			if n == "" || contains(list[:i], n) {
				return fmt.Sprintf("empty or repeated name in %q", list)
			}
		}
	}
	return ""
}

var validKinds = map[airlock.Kind]bool{
	airlock.KindSelect: true, airlock.KindInsert: true, airlock.KindUpdate: true, airlock.KindDelete: true,
	airlock.KindMerge: true, airlock.KindCopyFrom: true, airlock.KindCopyTo: true, airlock.KindDDL: true,
	airlock.KindDrop: true, airlock.KindTruncate: true, airlock.KindCall: true, airlock.KindDo: true,
	airlock.KindSet: true, airlock.KindShow: true, airlock.KindExplain: true, airlock.KindTransaction: true,
	airlock.KindLock: true, airlock.KindGrant: true, airlock.KindUtility: true, airlock.KindUnknown: true,
	airlock.KindEmpty: true,
}

// dmlKinds are the kinds that change rows, so need at least write.
var dmlKinds = map[airlock.Kind]bool{
	airlock.KindInsert: true, airlock.KindUpdate: true, airlock.KindMerge: true, airlock.KindDelete: true,
}

// escapeKinds may be escapes by themselves; any other kind only through a
// set_config call.
var escapeKinds = map[airlock.Kind]bool{airlock.KindSet: true, airlock.KindTransaction: true}

func hasSetConfig(st airlock.Statement) bool {
	for _, f := range st.Functions {
		if f == "set_config" || f == "pg_catalog.set_config" {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
