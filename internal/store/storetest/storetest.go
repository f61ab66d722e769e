// Package storetest is the conformance suite of airlock.Store: every store
// implementation (internal/store/sqlite, a future PostgreSQL store) runs Run
// from its own tests and so honours the same contract — the error codes of
// the interface comments, the orders, the filters and the exact round trip of
// every field.
//
// The suite expects times in UTC (with nanoseconds) to come back equal, byte
// slices and string slices to come back equal when non-empty, and it does not
// depend on how nil and empty slices are told apart. Beyond the interface
// comments it also holds stores to what the sqlite store does and callers
// may rely on: creating a token, session or event whose ID (or token hash)
// exists fails with ECONFLICT; ending an ended session keeps the first end;
// EventFilter.Since is inclusive and Until exclusive; Contains ignores ASCII
// case and treats % and _ literally; a Limit of 0 means no limit; a
// ScanEvents callback may call the store.
package storetest

import (
	"reflect"
	"testing"
	"time"

	"airlock"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call; Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) airlock.Store) {
	s := &suite{open: open}
	t.Run("users", s.users)
	t.Run("tokens", s.tokens)
	t.Run("sessions", s.sessions)
	t.Run("events", s.events)
	t.Run("request scripts", s.requestScripts)
}

type suite struct {
	open func(t *testing.T) airlock.Store
}

// store opens a fresh store closed at the end of t.
func (s *suite) store(t *testing.T) airlock.Store {
	t.Helper()
	st := s.open(t)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return st
}

// base is the time the fixtures start from: UTC, with nanoseconds.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// wantCode fails t unless err carries the airlock error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := airlock.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

// must fails t on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// equal fails t unless got and want are deeply equal.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// allSet fails t when a field of the struct *v is zero, so that a field
// added to a domain type cannot escape the round-trip tests.
func allSet(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Fatalf("the fixture leaves %s.%s unset", rv.Type().Name(), rv.Type().Field(i).Name)
		}
	}
}
