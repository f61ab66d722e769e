package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"airlock"
)

// Store is a store as a gateway uses it (internal/server.Store): every
// record, retention of audit events, and whether it takes writes now.
type Store interface {
	airlock.Store
	DeleteEventsBefore(ctx context.Context, id int64) (int64, error)
	CheckWritable(ctx context.Context) error
}

// Faulty wraps a Store and fails its writes on demand, for the tests of
// what airlock does when its store refuses events (SPEC §12): while
// SetFailWrites holds an error, every write method (Create*, Update*,
// Delete*, Revoke*, End*, Save*, Set*, Mark*, AppendEvents) returns it
// without reaching the wrapped store, and CheckWritable fails; reads keep
// working. Methods a store has beyond Store (the PostgreSQL store's
// cluster methods) are not wrapped: reach them through Unwrap.
type Faulty struct {
	Store
	fail atomic.Pointer[error]
}

// WithFaults wraps st; its writes work until SetFailWrites is given an
// error.
func WithFaults(st Store) *Faulty { return &Faulty{Store: st} }

// Unwrap returns the wrapped store.
func (f *Faulty) Unwrap() airlock.Store { return f.Store }

// SetFailWrites makes every write fail with err; nil restores normal
// operation. It is safe to call concurrently with the store's methods.
func (f *Faulty) SetFailWrites(err error) {
	if err == nil {
		f.fail.Store(nil)
		return
	}
	f.fail.Store(&err)
}

// injected returns the error set by SetFailWrites, if any.
func (f *Faulty) injected() error {
	if p := f.fail.Load(); p != nil {
		return *p
	}
	return nil
}

// CheckWritable fails while writes fail, else asks the wrapped store.
func (f *Faulty) CheckWritable(ctx context.Context) error {
	if err := f.injected(); err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	return f.Store.CheckWritable(ctx)
}

// AppendEvents implements airlock.EventStore.
func (f *Faulty) AppendEvents(ctx context.Context, evs []*airlock.Event) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.AppendEvents(ctx, evs)
}

// DeleteEventsBefore is the retention of audit events.
func (f *Faulty) DeleteEventsBefore(ctx context.Context, id int64) (int64, error) {
	if err := f.injected(); err != nil {
		return 0, err
	}
	return f.Store.DeleteEventsBefore(ctx, id)
}

// CreateUser implements airlock.UserStore.
func (f *Faulty) CreateUser(ctx context.Context, u *airlock.User) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.CreateUser(ctx, u)
}

// UpdateUser implements airlock.UserStore.
func (f *Faulty) UpdateUser(ctx context.Context, u *airlock.User) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.UpdateUser(ctx, u)
}

// DeleteUser implements airlock.UserStore.
func (f *Faulty) DeleteUser(ctx context.Context, name string) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.DeleteUser(ctx, name)
}

// CreateToken implements airlock.TokenStore.
func (f *Faulty) CreateToken(ctx context.Context, t *airlock.Token) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.CreateToken(ctx, t)
}

// RevokeToken implements airlock.TokenStore.
func (f *Faulty) RevokeToken(ctx context.Context, id string, at time.Time, by string) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.RevokeToken(ctx, id, at, by)
}

// CreateSession implements airlock.SessionStore.
func (f *Faulty) CreateSession(ctx context.Context, s *airlock.Session) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.CreateSession(ctx, s)
}

// EndSession implements airlock.SessionStore.
func (f *Faulty) EndSession(ctx context.Context, id string, at time.Time, reason string) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.EndSession(ctx, id, at, reason)
}

// EndOpenSessions implements airlock.SessionStore.
func (f *Faulty) EndOpenSessions(ctx context.Context, at time.Time, reason string) (int, error) {
	if err := f.injected(); err != nil {
		return 0, err
	}
	return f.Store.EndOpenSessions(ctx, at, reason)
}

// CreateRequest implements airlock.RequestStore.
func (f *Faulty) CreateRequest(ctx context.Context, r *airlock.Request) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.CreateRequest(ctx, r)
}

// UpdateRequest implements airlock.RequestStore.
func (f *Faulty) UpdateRequest(ctx context.Context, r *airlock.Request) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.UpdateRequest(ctx, r)
}

// CreateGrant implements airlock.GrantStore.
func (f *Faulty) CreateGrant(ctx context.Context, g *airlock.Grant) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.CreateGrant(ctx, g)
}

// RevokeGrant implements airlock.GrantStore.
func (f *Faulty) RevokeGrant(ctx context.Context, id string, at time.Time, by string) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.RevokeGrant(ctx, id, at, by)
}

// SaveUndo implements airlock.UndoStore.
func (f *Faulty) SaveUndo(ctx context.Context, r *airlock.UndoRecord) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.SaveUndo(ctx, r)
}

// SetUndoState implements airlock.UndoStore.
func (f *Faulty) SetUndoState(ctx context.Context, ids []string, state string, from ...string) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.SetUndoState(ctx, ids, state, from...)
}

// MarkApplied implements airlock.UndoStore.
func (f *Faulty) MarkApplied(ctx context.Context, id, by string) error {
	if err := f.injected(); err != nil {
		return err
	}
	return f.Store.MarkApplied(ctx, id, by)
}

// DeleteUndoBefore implements airlock.UndoStore.
func (f *Faulty) DeleteUndoBefore(ctx context.Context, t time.Time) (int64, error) {
	if err := f.injected(); err != nil {
		return 0, err
	}
	return f.Store.DeleteUndoBefore(ctx, t)
}

// MarkSeen implements airlock.SeenStore.
func (f *Faulty) MarkSeen(ctx context.Context, key string, at time.Time) (bool, error) {
	if err := f.injected(); err != nil {
		return false, err
	}
	return f.Store.MarkSeen(ctx, key, at)
}
