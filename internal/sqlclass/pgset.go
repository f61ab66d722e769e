package sqlclass

import (
	"strings"

	"airlock"
)

// pgAllowedSettings may be changed at any level (SPEC §2): they change
// nothing but the session's own view.
var pgAllowedSettings = map[string]bool{
	"search_path":                         true,
	"statement_timeout":                   true,
	"lock_timeout":                        true,
	"idle_in_transaction_session_timeout": true,
	"application_name":                    true,
	"datestyle":                           true,
	"timezone":                            true,
	"intervalstyle":                       true,
	"extra_float_digits":                  true,
	"client_min_messages":                 true,
	"bytea_output":                        true,
	"row_security":                        true,
	"check_function_bodies":               true,
	"xmloption":                           true,
	"synchronize_seqscans":                true,
	"restrict_nonsystem_relation_kind":    true,
	"work_mem":                            true,
	"transaction_isolation":               true,
	"default_transaction_isolation":       true,
	// SET TRANSACTION [NOT] DEFERRABLE is a transaction setting like the
	// isolation level; these are its SET spellings.
	"transaction_deferrable":         true,
	"default_transaction_deferrable": true,
}

// pgReadOnlySettings turn read-only off unless set to a true value.
var pgReadOnlySettings = map[string]bool{
	"default_transaction_read_only": true,
	"transaction_read_only":         true,
}

// pgIdentitySettings switch the database identity.
var pgIdentitySettings = map[string]bool{
	"role":                  true,
	"session_authorization": true,
}

// pgPinned are the settings that change how text is lexed, with the test
// for their pinned value.
var pgPinned = map[string]func(string) bool{
	"standard_conforming_strings": func(v string) bool { b, ok := pgParseBool(v); return ok && b },
	"client_encoding":             isUTF8Name,
	"backslash_quote":             func(v string) bool { return strings.EqualFold(v, "safe_encoding") },
}

// settingChange is one change of a run-time setting by SET, RESET or
// set_config.
type settingChange struct {
	Verb  string // "SET", "RESET", "set_config of"
	Name  string // lower-case
	Value string // "" when reset to the default
	Reset bool   // RESET, SET ... TO DEFAULT, set_config(name, NULL)
	Known bool   // Value is a literal (always true for Reset)
}

// judgeSetting returns the level a setting change needs, why, and the escape
// it is (SPEC §2 allow-list, §5 escape rule).
func judgeSetting(c settingChange) (airlock.Level, string, airlock.Escape) {
	subject := c.Verb + " " + c.Name
	switch {
	case pgIdentitySettings[c.Name]:
		return airlock.LevelRead, subject + " switches the database identity", airlock.EscapeIdentity
	case pgReadOnlySettings[c.Name]:
		if !c.Reset && c.Known {
			if b, ok := pgParseBool(c.Value); ok && b {
				return airlock.LevelRead, subject + " keeps the transaction read-only", airlock.EscapeNone
			}
		}
		return airlock.LevelRead, subject + " would turn read-only off", airlock.EscapeReadOnly
	case pgPinned[c.Name] != nil:
		if !c.Reset && c.Known && pgPinned[c.Name](c.Value) {
			return airlock.LevelRead, subject + " keeps its pinned value", airlock.EscapeNone
		}
		return airlock.LevelRead, subject + " changes how text is lexed (pinned setting)", airlock.EscapePinned
	case pgAllowedSettings[c.Name]:
		return airlock.LevelRead, subject + " changes a session setting", airlock.EscapeNone
	}
	return airlock.LevelAdmin, subject + " is not an allow-listed setting", airlock.EscapeNone
}

// pgParseBool parses a boolean as PostgreSQL's parse_bool does: true, false,
// yes, no and their unique prefixes, on, off, 1, 0, case-insensitive.
func pgParseBool(s string) (value, ok bool) {
	l := strings.ToLower(s)
	switch {
	case l == "":
		return false, false
	case strings.HasPrefix("true", l) || strings.HasPrefix("yes", l) || l == "1":
		return true, true
	case strings.HasPrefix("false", l) || strings.HasPrefix("no", l) || l == "0":
		return false, true
	case l == "on":
		return true, true
	case len(l) >= 2 && strings.HasPrefix("off", l):
		return false, true
	}
	return false, false
}

// isUTF8Name reports whether an encoding name means UTF8 to PostgreSQL,
// which ignores case and non-alphanumeric characters (clean_encoding_name)
// and knows UTF8 also as UNICODE.
func isUTF8Name(v string) bool {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		}
	}
	n := b.String()
	return n == "utf8" || n == "unicode"
}
