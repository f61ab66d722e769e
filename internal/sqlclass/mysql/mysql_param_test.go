package mysql

import (
	"testing"

	"airlock"
)

// TestMySQLParameterSettings: a setting given by a prepared statement's
// parameter is not known when the statement is decided, so pinned and
// read-only settings set that way are escapes (a parameter read as NULL
// would let NO_BACKSLASH_ESCAPES in behind the classifier's back).
func TestMySQLParameterSettings(t *testing.T) {
	for _, tc := range []struct {
		sql    string
		escape airlock.Escape
	}{
		{"SET sql_mode = ?", airlock.EscapePinned},
		{"SET SESSION sql_mode = ?", airlock.EscapePinned},
		{"SET character_set_client = ?", airlock.EscapePinned},
		{"SET transaction_read_only = ?", airlock.EscapeReadOnly},
		{"SET time_zone = ?", airlock.EscapeNone},
	} {
		sts, err := New().Classify(tc.sql)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if sts[0].Escape != tc.escape || sts[0].Value != "?" {
			t.Errorf("%s: escape %q value %q, want escape %q", tc.sql, sts[0].Escape, sts[0].Value, tc.escape)
		}
	}
}
