package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"airlock"
	"airlock/internal/audit/seglog"
	"airlock/internal/config"
	"airlock/internal/store/postgres"
	"airlock/internal/store/sqlite"
)

// Store is what a gateway needs of its store: every record, retention of
// audit events, and whether it takes writes now.
type Store interface {
	airlock.Store
	DeleteEventsBefore(ctx context.Context, id int64) (int64, error)
	// CheckWritable reports whether the store accepts writes now (/readyz).
	CheckWritable(ctx context.Context) error
}

// OpenStore opens the store of cfg: the SQLite file of "sqlite:PATH"
// (creating its directory) or the PostgreSQL database of a postgres://
// URL. gateway identifies this process to a shared store (the sessions
// it creates belong to it); "" for commands that only manage records.
func OpenStore(ctx context.Context, cfg *config.Config, gateway string) (Store, error) {
	if cfg.PostgresStore() {
		st, err := postgres.Open(ctx, cfg.Store, postgres.Options{Gateway: gateway})
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	path := cfg.StorePath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store directory: %w", err)
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	dir := SegmentDir(path)
	seg, err := seglog.Open(ctx, dir, st, seglog.Options{})
	if errors.Is(err, seglog.ErrLocked) {
		// A running gateway writes this store: what it has indexed can
		// be read, nothing can be recorded.
		return &segStore{DB: st, busy: err}, nil
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &segStore{DB: st, seg: seg}, nil
}

// SegmentDir is the directory of the audit segment log in front of the
// SQLite store at path.
func SegmentDir(path string) string { return path + ".audit" }

// segStore is the SQLite store with the audit segment log in front of its
// events and undo records: an event is durable once its segment is fdatasynced (one sync
// shared by a batch, far cheaper than a SQLite commit), and the log indexes
// events into SQLite behind. SQLite keeps synchronous=FULL, so a segment is
// deleted only once SQLite has its events durably. The PostgreSQL store
// writes directly: several gateways share its chain head.
type segStore struct {
	*sqlite.DB
	seg *seglog.Log
	// busy is set instead of seg when another process holds the segment
	// log: events are read from SQLite as far as it was indexed, and
	// recording fails.
	busy error
}

func (s *segStore) refused() error {
	return airlock.Errorf(airlock.EUNAVAILABLE, "audit events cannot be recorded here: %v", s.busy)
}

func (s *segStore) AppendEvents(ctx context.Context, evs []*airlock.Event) error {
	if s.seg == nil {
		return s.refused()
	}
	return s.seg.AppendEvents(ctx, evs)
}

func (s *segStore) LastEvent(ctx context.Context) (*airlock.Event, error) {
	if s.seg == nil {
		return s.DB.LastEvent(ctx)
	}
	return s.seg.LastEvent(ctx)
}

func (s *segStore) ListEvents(ctx context.Context, f airlock.EventFilter) ([]*airlock.Event, error) {
	if s.seg == nil {
		return s.DB.ListEvents(ctx, f)
	}
	return s.seg.ListEvents(ctx, f)
}

func (s *segStore) ScanEvents(ctx context.Context, f airlock.EventFilter, fn func(*airlock.Event) error) error {
	if s.seg == nil {
		return s.DB.ScanEvents(ctx, f, fn)
	}
	return s.seg.ScanEvents(ctx, f, fn)
}

// SaveUndo logs the record in the segment log (a write, not a commit of
// its own): it is durable with the next sync, which the statement's
// outcome event, and so its transaction's COMMIT, waits for; the log
// stores it into SQLite with the events around it. Its ID is not checked
// here: records are named by fresh random IDs, and a record whose ID
// exists is left as it was when the log applies it.
func (s *segStore) SaveUndo(ctx context.Context, r *airlock.UndoRecord) error {
	if s.seg == nil {
		return s.DB.SaveUndo(ctx, r)
	}
	return s.seg.AppendUndo(ctx, &airlock.UndoChange{Save: r})
}

// SetUndoState logs the change in the segment log, in order after the
// records it names.
func (s *segStore) SetUndoState(ctx context.Context, ids []string, state string, from ...string) error {
	if s.seg == nil {
		return s.DB.SetUndoState(ctx, ids, state, from...)
	}
	if len(ids) == 0 {
		return nil
	}
	return s.seg.AppendUndo(ctx, &airlock.UndoChange{IDs: ids, State: state, From: from})
}

// flushed waits until SQLite holds every undo change logged so far, for
// the readers and direct writers of undo records.
func (s *segStore) flushed(ctx context.Context) error {
	if s.seg == nil {
		return nil
	}
	return s.seg.Flush(ctx)
}

func (s *segStore) GetUndo(ctx context.Context, id string) (*airlock.UndoRecord, error) {
	if err := s.flushed(ctx); err != nil {
		return nil, err
	}
	return s.DB.GetUndo(ctx, id)
}

func (s *segStore) ListUndo(ctx context.Context, f airlock.UndoFilter) ([]*airlock.UndoRecord, error) {
	if err := s.flushed(ctx); err != nil {
		return nil, err
	}
	return s.DB.ListUndo(ctx, f)
}

func (s *segStore) MarkApplied(ctx context.Context, id, by string) error {
	if err := s.flushed(ctx); err != nil {
		return err
	}
	return s.DB.MarkApplied(ctx, id, by)
}

func (s *segStore) DeleteUndoBefore(ctx context.Context, t time.Time) (int64, error) {
	if err := s.flushed(ctx); err != nil {
		return 0, err
	}
	return s.DB.DeleteUndoBefore(ctx, t)
}

func (s *segStore) UndoBytes(ctx context.Context, sessionID string) (int64, error) {
	if err := s.flushed(ctx); err != nil {
		return 0, err
	}
	return s.DB.UndoBytes(ctx, sessionID)
}

// CheckWritable fails while the segment log refuses events (its backlog
// over the bound) or SQLite refuses writes.
func (s *segStore) CheckWritable(ctx context.Context) error {
	if s.seg == nil {
		return fmt.Errorf("store not writable: %w", s.refused())
	}
	if err := s.seg.Err(); err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	return s.DB.CheckWritable(ctx)
}

// Close lets the segment log hand SQLite what it lacks (bounded; the rest
// is replayed at the next start), then closes SQLite.
func (s *segStore) Close() error {
	var err error
	if s.seg != nil {
		err = s.seg.Close()
	}
	return errors.Join(err, s.DB.Close())
}

// sharedStore returns the PostgreSQL store gateways share, when st is one
// or wraps one (a store of the tests, Options.WrapStore).
func sharedStore(st Store) (*postgres.DB, bool) {
	var s airlock.Store = st
	for {
		switch v := s.(type) {
		case *postgres.DB:
			return v, true
		case interface{ Unwrap() airlock.Store }:
			s = v.Unwrap()
		default:
			return nil, false
		}
	}
}

// stateDir is where a gateway keeps files beside its store (the generated
// bootstrap token): the SQLite file's directory, or the config's for a
// PostgreSQL store.
func stateDir(cfg *config.Config) string {
	if p := cfg.StorePath(); p != "" {
		return filepath.Dir(p)
	}
	return cfg.Dir()
}
