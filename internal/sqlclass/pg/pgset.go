package pg

import (
	"strings"

	"airlock"
)

// Session settings (SPEC §2): a setting PostgreSQL lets any user change
// (pg_settings.context = 'user', listed in the generated pgsettings.go) may
// be changed at any level, except the ones singled out here and below:
// the read-only settings, the pinned lexing settings and the identity
// switches. Settings of other contexts need a superuser or a restart and
// are admin. The list is PostgreSQL's own classification, checked against
// the test server by TestPGUserSettings, rather than a list of our own.

// pgRefusedUserSettings are user settings that act outside the session's
// own view: local_preload_libraries loads server-side code at connection
// start.
var pgRefusedUserSettings = map[string]bool{
	"local_preload_libraries": true,
}

// pgExtraSettings are settings the transaction statements set that
// pg_settings does not list under those names.
var pgExtraSettings = map[string]bool{
	"transaction_isolation":  true,
	"transaction_deferrable": true,
}

// pgUserSetting reports whether name (lower-case) is a setting any user may
// change that airlock lets through.
func pgUserSetting(name string) bool {
	if pgRefusedUserSettings[name] {
		return false
	}
	_, ok := pgUserSettings[name]
	return ok || pgExtraSettings[name]
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
	case pgIdentitySettings[c.Name] && identityNoOp(c):
		return airlock.LevelRead, subject + " keeps the session's own identity (airlock never lets it switch)", airlock.EscapeNone
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
	case pgRefusedUserSettings[c.Name]:
		return airlock.LevelAdmin, subject + " loads server-side code", airlock.EscapeNone
	case pgUserSetting(c.Name):
		return airlock.LevelRead, subject + " changes a session setting", airlock.EscapeNone
	}
	return airlock.LevelAdmin, subject + " is not a setting PostgreSQL lets every user change", airlock.EscapeNone
}

// identityNoOp reports whether a change of an identity setting goes back
// to the session's own identity: RESET ROLE, SET ROLE NONE, SET SESSION
// AUTHORIZATION DEFAULT, RESET SESSION AUTHORIZATION. Since airlock refuses
// every switch (in SET, set_config and the startup packet), a session is
// always at its own identity, so these change nothing.
func identityNoOp(c settingChange) bool {
	if c.Reset {
		return true
	}
	return c.Known && c.Name == "role" && strings.EqualFold(c.Value, "none")
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
