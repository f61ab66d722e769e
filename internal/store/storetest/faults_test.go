package storetest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/store/sqlite"
	"airlock/internal/store/storetest"
)

func openFaulty(t *testing.T) (*storetest.Faulty, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "airlock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return storetest.WithFaults(db), db
}

// TestFaultyConforms: without an injected error the wrapper is the store.
func TestFaultyConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) airlock.Store {
		f, _ := openFaulty(t)
		return f
	})
}

// TestFaultyWrapsEveryWrite: every method of Store that writes is the
// wrapper's own, so none reaches the wrapped store while writes fail. A
// wrapper around no store at all answers each with the injected error
// instead of calling through (which would panic).
func TestFaultyWrapsEveryWrite(t *testing.T) {
	injected := errors.New("injected")
	f := storetest.WithFaults(nil)
	f.SetFailWrites(injected)
	st := reflect.TypeOf((*storetest.Store)(nil)).Elem()
	writes := 0
	for i := range st.NumMethod() {
		m := st.Method(i)
		write := false
		for _, p := range []string{"Create", "Update", "Delete", "Revoke", "End", "Save", "Set", "Mark", "Append", "CheckWritable"} {
			write = write || strings.HasPrefix(m.Name, p)
		}
		if !write {
			continue
		}
		writes++
		fn := reflect.ValueOf(f).MethodByName(m.Name)
		args := make([]reflect.Value, fn.Type().NumIn())
		for j := range args {
			args[j] = reflect.Zero(fn.Type().In(j))
		}
		args[0] = reflect.ValueOf(context.Background())
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s reached the wrapped store while writes fail", m.Name)
				}
			}()
			var out []reflect.Value
			if fn.Type().IsVariadic() {
				out = fn.CallSlice(args)
			} else {
				out = fn.Call(args)
			}
			err, _ := out[len(out)-1].Interface().(error)
			if !errors.Is(err, injected) {
				t.Errorf("%s with failing writes: %v, want the injected error", m.Name, err)
			}
		}()
	}
	if writes < 20 {
		t.Fatalf("%d write methods found, want at least 20", writes)
	}
}

// TestFaultyFailWrites: while writes fail nothing reaches the file and
// reads keep working; afterwards writes work again.
func TestFaultyFailWrites(t *testing.T) {
	f, db := openFaulty(t)
	ctx := t.Context()
	now := time.Now().UTC()
	if err := f.CreateUser(ctx, &airlock.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	tok := &airlock.Token{ID: "tok_1", User: "alice", Hash: []byte("h1"), CreatedAt: now}
	if err := f.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := f.CreateSession(ctx, &airlock.Session{ID: "s_1", User: "alice", StartedAt: now}); err != nil {
		t.Fatal(err)
	}
	ev := func(id int64) []*airlock.Event {
		return []*airlock.Event{{ID: id, Time: now, Type: airlock.EventSystem, Hash: "x"}}
	}
	if err := f.AppendEvents(ctx, ev(1)); err != nil {
		t.Fatal(err)
	}
	if err := f.CheckWritable(ctx); err != nil {
		t.Fatalf("CheckWritable: %v", err)
	}
	walSize := func() int64 {
		fi, err := os.Stat(db.Path() + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := walSize()

	injected := errors.New("disk on fire")
	f.SetFailWrites(injected)
	writes := map[string]func() error{
		"CreateUser": func() error { return f.CreateUser(ctx, &airlock.User{Name: "bob"}) },
		"UpdateUser": func() error { return f.UpdateUser(ctx, &airlock.User{Name: "alice", Roles: []string{"admin"}}) },
		"DeleteUser": func() error { return f.DeleteUser(ctx, "alice") },
		"CreateToken": func() error {
			return f.CreateToken(ctx, &airlock.Token{ID: "tok_2", User: "alice", Hash: []byte("h2"), CreatedAt: now})
		},
		"RevokeToken":   func() error { return f.RevokeToken(ctx, "tok_1", now, "admin") },
		"CreateSession": func() error { return f.CreateSession(ctx, &airlock.Session{ID: "s_2", StartedAt: now}) },
		"EndSession":    func() error { return f.EndSession(ctx, "s_1", now, "x") },
		"EndOpenSessions": func() error {
			_, err := f.EndOpenSessions(ctx, now, "x")
			return err
		},
		"AppendEvents": func() error { return f.AppendEvents(ctx, ev(2)) },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, injected) {
			t.Errorf("%s with failing writes: %v, want the injected error", name, err)
		}
	}
	if err := f.CheckWritable(ctx); !errors.Is(err, injected) {
		t.Errorf("CheckWritable with failing writes: %v, want the injected error", err)
	}
	if got := walSize(); got != before {
		t.Errorf("failing writes touched the file: WAL %d bytes, was %d", got, before)
	}
	// Reads still work and see nothing of the refused writes.
	if u, err := f.GetUser(ctx, "alice"); err != nil || len(u.Roles) != 0 {
		t.Errorf("GetUser: %+v, %v", u, err)
	}
	if last, err := f.LastEvent(ctx); err != nil || last.ID != 1 {
		t.Errorf("LastEvent: %+v, %v", last, err)
	}
	if s, err := f.GetSession(ctx, "s_1"); err != nil || s.EndedAt != nil {
		t.Errorf("GetSession: %+v, %v", s, err)
	}

	f.SetFailWrites(nil)
	for name, write := range writes {
		if name == "DeleteUser" {
			continue // would cascade to the tokens the others use
		}
		if err := write(); err != nil {
			t.Errorf("%s after SetFailWrites(nil): %v", name, err)
		}
	}
	if err := writes["DeleteUser"](); err != nil {
		t.Errorf("DeleteUser after SetFailWrites(nil): %v", err)
	}
	if err := f.CheckWritable(ctx); err != nil {
		t.Errorf("CheckWritable after SetFailWrites(nil): %v", err)
	}
}
