// Package deptest fences the layers of the module: the domain, policy, audit,
// store, access and gateway packages must never link a wire protocol, a
// database driver or a SQL parser. The fence is a test so that a change which
// crosses it fails in review instead of being found in a binary.
package deptest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// banned lists the import paths (exact, or a prefix ending in "/") that the
// core packages must not reach, directly or through another package.
var banned = []string{
	"airlock/internal/pgwire",
	"airlock/internal/mysqlwire",
	// The SQL classifiers: what the dialects share, each dialect's parser
	// and the constructor by engine that knows them all.
	"airlock/internal/sqlclass",
	"airlock/internal/sqlclass/pg",
	"airlock/internal/sqlclass/mysql",
	"airlock/internal/sqlclass/engines",
	"github.com/jackc/pgx/",
	"github.com/go-sql-driver/",
	"github.com/go-mysql-org/",
	"github.com/pganalyze/pg_query_go/",
	"github.com/pingcap/",
}

// core lists the packages behind the fence, with the banned prefixes each one
// may still use because it is that dependency's one owner, and the paths it
// must not reach besides the banned ones.
var core = []struct {
	pattern string
	allow   []string
	deny    []string
}{
	{pattern: "airlock"},
	// Decisions take the domain's policies, rules and databases, never
	// the config file's structs.
	{pattern: "airlock/internal/policy", deny: []string{"airlock/internal/config"}},
	{pattern: "airlock/internal/audit"},
	{pattern: "airlock/internal/audit/seglog"},
	{pattern: "airlock/internal/access"},
	{pattern: "airlock/internal/gateway"},
	{pattern: "airlock/internal/store/codec"},
	{pattern: "airlock/internal/store/sqlite"},
	{pattern: "airlock/internal/store/storecopy"},
	{pattern: "airlock/internal/store/storetest"},
	// The PostgreSQL store talks to its own database with pgx; it still
	// must not reach wire or parser packages.
	{pattern: "airlock/internal/store/postgres", allow: []string{"github.com/jackc/pgx/"}},
}

// isBanned reports whether dep matches one of the banned paths, unless allow
// covers it.
func isBanned(dep string, allow []string) bool {
	return matches(dep, banned) && !matches(dep, allow)
}

// matches reports whether dep is one of the paths of list (exact, below
// it, or under a prefix ending in "/").
func matches(dep string, list []string) bool {
	for _, p := range list {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(dep, p) ||
			dep == p || strings.HasPrefix(dep, p+"/") {
			return true
		}
	}
	return false
}

// listDeps runs go list -deps on pattern and returns the import paths of the
// non-test dependencies, pattern included.
func listDeps(t *testing.T, pattern string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath", pattern)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, stderr.String())
	}
	var deps []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		deps = append(deps, p.ImportPath)
	}
	if len(deps) == 0 {
		t.Fatalf("go list -deps %s listed nothing", pattern)
	}
	return deps
}

// TestCoreDeps checks that no core package links a wire, driver or parser
// package.
func TestCoreDeps(t *testing.T) {
	for _, c := range core {
		t.Run(c.pattern, func(t *testing.T) {
			deps := listDeps(t, c.pattern)
			if deps[len(deps)-1] != c.pattern {
				t.Fatalf("go list -deps %s ended with %q; the package was not found", c.pattern, deps[len(deps)-1])
			}
			for _, d := range deps {
				if isBanned(d, c.allow) || matches(d, c.deny) {
					t.Errorf("%s depends on %s", c.pattern, d)
				}
			}
		})
	}
}

// TestDialectsApart checks that each SQL dialect links only its own parser
// and not the other dialect, and that what they share links no parser.
func TestDialectsApart(t *testing.T) {
	for _, c := range []struct {
		pattern string
		banned  []string
	}{
		{"airlock/internal/sqlclass", []string{"airlock/internal/sqlclass/", "github.com/pganalyze/pg_query_go/", "github.com/pingcap/"}},
		{"airlock/internal/sqlclass/corpus", []string{"airlock/internal/sqlclass/pg", "airlock/internal/sqlclass/mysql", "github.com/pganalyze/pg_query_go/", "github.com/pingcap/"}},
		{"airlock/internal/sqlclass/pg", []string{"airlock/internal/sqlclass/mysql", "airlock/internal/sqlclass/engines", "github.com/pingcap/"}},
		{"airlock/internal/sqlclass/mysql", []string{"airlock/internal/sqlclass/pg", "airlock/internal/sqlclass/engines", "github.com/pganalyze/pg_query_go/"}},
	} {
		t.Run(c.pattern, func(t *testing.T) {
			deps := listDeps(t, c.pattern)
			if deps[len(deps)-1] != c.pattern {
				t.Fatalf("go list -deps %s ended with %q; the package was not found", c.pattern, deps[len(deps)-1])
			}
			for _, d := range deps {
				if matches(d, c.banned) {
					t.Errorf("%s depends on %s", c.pattern, d)
				}
			}
		})
	}
}

// TestIsBanned pins the matching rules so that the fence above cannot pass
// by matching nothing.
func TestIsBanned(t *testing.T) {
	tests := []struct {
		name  string
		dep   string
		allow []string
		want  bool
	}{
		{"wire package", "airlock/internal/pgwire", nil, true},
		{"postgres classifier", "airlock/internal/sqlclass/pg", nil, true},
		{"mysql classifier", "airlock/internal/sqlclass/mysql", nil, true},
		{"classifier by engine", "airlock/internal/sqlclass/engines", nil, true},
		{"shared classifier types", "airlock/internal/sqlclass", nil, true},
		{"wire subpackage", "airlock/internal/pgwire/sub", nil, true},
		{"driver subpackage", "github.com/jackc/pgx/v5/pgconn", nil, true},
		{"mysql driver", "github.com/go-sql-driver/mysql", nil, true},
		{"parser", "github.com/pganalyze/pg_query_go/v6", nil, true},
		{"allowed driver", "github.com/jackc/pgx/v5", []string{"github.com/jackc/pgx/"}, false},
		{"similar name", "airlock/internal/pgwirefake", nil, false},
		{"core package", "airlock/internal/policy", nil, false},
		{"standard library", "database/sql", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isBanned(tt.dep, tt.allow); got != tt.want {
				t.Errorf("isBanned(%q, %v) = %v, want %v", tt.dep, tt.allow, got, tt.want)
			}
		})
	}
}
