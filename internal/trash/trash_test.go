package trash

import (
	"strings"
	"testing"
	"time"
)

// TestDoBlockQuote: the DO block is quoted with a tag made from the item
// id, and a name that contains that tag (which would end the quote and
// let the rest run as SQL of its own) is refused.
func TestDoBlockQuote(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name   string
		tables []string
		ok     bool
	}{
		{"plain", []string{`"public"."items"`}, true},
		{"dollar in a name", []string{`"public"."a$b$"`}, true},
		{"the block's tag in a name", []string{`"public"."x$airlock_tr_abc$; ALTER SYSTEM SET fsync = off; --"`}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, build := range []func() (string, error){
				func() (string, error) { return Drop(tc.tables, false, true, "tr_abc", "dana", at) },
				func() (string, error) { return Truncate(tc.tables, "tr_abc", "dana", at) },
			} {
				sql, err := build()
				if tc.ok != (err == nil) {
					t.Fatalf("err = %v, want ok %v", err, tc.ok)
				}
				if err != nil {
					continue
				}
				if !strings.HasPrefix(sql, "DO $airlock_tr_abc$\n") || !strings.HasSuffix(sql, "$airlock_tr_abc$") || strings.Count(sql, "$airlock_tr_abc$") != 2 {
					t.Fatalf("quoted as:\n%s", sql)
				}
			}
		})
	}
}
