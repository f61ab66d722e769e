package gateway

import (
	"context"

	"airlock"
	"airlock/internal/config"
)

// LevelOf returns the level user holds on db now (what a session opened
// now would get), for listings such as the MCP server's list_databases.
func (g *Gateway) LevelOf(ctx context.Context, u *airlock.User, db *config.Database) (airlock.Level, error) {
	a, err := g.accessFor(ctx, u, db)
	return a.level, err
}

// UndoID returns the undo record a guarded check captured, or "" with the
// reason it is not reversible ("" too when it changed nothing captured).
func (c *Check) UndoID() (id, note string) {
	if c.undo != nil {
		return c.undo.ID, ""
	}
	if c.undoWhy != "" {
		return "", "not reversible: " + c.undoWhy
	}
	return "", ""
}

// RowsChangedCount returns the rows a guarded check changed, as reported
// to RowsChanged.
func (c *Check) RowsChangedCount() int64 { return c.changed }
