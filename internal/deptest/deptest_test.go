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
	"airlock/internal/sqlclass",
	"github.com/jackc/pgx/",
	"github.com/go-sql-driver/",
	"github.com/go-mysql-org/",
	"github.com/pganalyze/pg_query_go/",
	"github.com/pingcap/",
}

// core lists the packages behind the fence, with the banned prefixes each one
// may still use because it is that dependency's one owner.
var core = []struct {
	pattern string
	allow   []string
}{
	{pattern: "airlock"},
	{pattern: "airlock/internal/policy"},
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
	match := func(list []string) bool {
		for _, p := range list {
			if strings.HasSuffix(p, "/") && strings.HasPrefix(dep, p) ||
				dep == p || strings.HasPrefix(dep, p+"/") {
				return true
			}
		}
		return false
	}
	return match(banned) && !match(allow)
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
				if isBanned(d, c.allow) {
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
		{"wire subpackage", "airlock/internal/sqlclass/pg", nil, true},
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
