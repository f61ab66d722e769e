package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"airlock"
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
	return st, nil
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
