package engines

import (
	"strings"
	"testing"

	"airlock"
	"airlock/internal/sqlclass/mysql"
	"airlock/internal/sqlclass/pg"
)

// TestFor: each engine gets its own dialect, told apart by text only one
// of them reads; an unknown engine is an error that names the known ones.
func TestFor(t *testing.T) {
	for _, tc := range []struct {
		engine, text string
		kind         airlock.Kind
	}{
		{"postgres", `SELECT "a b" FROM t`, airlock.KindSelect},
		{"mysql", "REPLACE INTO `t` VALUES (1)", airlock.KindInsert},
	} {
		c, err := For(airlock.Engine(tc.engine))
		if err != nil {
			t.Fatalf("For(%q): %v", tc.engine, err)
		}
		switch c.(type) {
		case *pg.Postgres:
			if tc.engine != "postgres" {
				t.Errorf("For(%q) is %T", tc.engine, c)
			}
		case *mysql.MySQL:
			if tc.engine != "mysql" {
				t.Errorf("For(%q) is %T", tc.engine, c)
			}
		default:
			t.Errorf("For(%q) is %T", tc.engine, c)
		}
		sts, err := c.Classify(tc.text)
		if err != nil || len(sts) != 1 || sts[0].Kind != tc.kind {
			t.Errorf("%s: %q: %+v, %v; want one %s", tc.engine, tc.text, sts, err, tc.kind)
		}
	}
	// Each dialect refuses what only the other reads.
	for engine, text := range map[airlock.Engine]string{"postgres": "REPLACE INTO `t` VALUES (1)", "mysql": "SELECT 1::int"} {
		c, _ := For(engine)
		if _, err := c.Classify(text); err == nil {
			t.Errorf("%s classified %q", engine, text)
		}
	}
	for _, name := range Names() {
		if _, err := For(name); err != nil {
			t.Errorf("For(%q): %v", name, err)
		}
	}
	for _, bad := range []airlock.Engine{"", "sqlite", "Postgres", "mariadb"} {
		c, err := For(bad)
		if err == nil || c != nil {
			t.Errorf("For(%q) = %v, %v; want an error", bad, c, err)
		} else if !strings.Contains(err.Error(), "postgres, mysql") {
			t.Errorf("For(%q): %v; want the known engines named", bad, err)
		}
	}
}
