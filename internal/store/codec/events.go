package codec

import (
	"math"
	"time"

	"airlock"
)

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// FilterTime is t as the stores compare times in filters: Unix
// nanoseconds, clamped to the int64 range.
func FilterTime(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// EventMatches reports whether e passes f: an empty filter field matches
// anything, a set one only an equal value; Since and Until compare clamped
// times and never match an event without one; Contains is a substring of
// the text, case-insensitive for ASCII letters only. Stores that keep
// events in batches filter a batch's events with it, so that a listing
// means the same in every store.
func EventMatches(e *airlock.Event, f *airlock.EventFilter) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	if !eq(f.User, e.User) || !eq(f.Database, e.Database) || !eq(f.SessionID, e.SessionID) ||
		!eq(f.Rule, e.Rule) || !eq(f.Type, e.Type) || !eq(f.StatementKind, e.StatementKind) ||
		!eq(f.Decision, e.Decision) {
		return false
	}
	if f.AfterID != 0 && e.ID <= f.AfterID || f.BeforeID != 0 && e.ID >= f.BeforeID {
		return false
	}
	if !f.Since.IsZero() && (e.Time.IsZero() || FilterTime(e.Time) < FilterTime(f.Since)) {
		return false
	}
	if !f.Until.IsZero() && (e.Time.IsZero() || FilterTime(e.Time) >= FilterTime(f.Until)) {
		return false
	}
	return f.Contains == "" || containsFoldASCII(e.Text, f.Contains)
}

// containsFoldASCII reports whether sub is in s, ASCII letters matching
// either case and every other byte only itself.
func containsFoldASCII(s, sub string) bool {
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
outer:
	for i := 0; i+len(sub) <= len(s); i++ {
		for j := 0; j < len(sub); j++ {
			if lower(s[i+j]) != lower(sub[j]) {
				continue outer
			}
		}
		return true
	}
	return false
}
