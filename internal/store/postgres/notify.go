package postgres

import (
	"context"
)

// channel is the LISTEN/NOTIFY channel of the gateways sharing a store.
const channel = "airlock"

// Topics of notifications: a payload is "topic:id".
const (
	topicToken   = "token"   // a token was revoked
	topicGrant   = "grant"   // a grant was created or revoked
	topicRequest = "request" // a request was created or decided
	topicUser    = "user"    // a user was created, changed or deleted
	topicKill    = "kill"    // an admin asked to end a session
)

// notify tells every gateway listening on the store that the record id of
// topic changed. A lost notification is not an error: listeners poll when
// their connection was down (see Listen).
func (db *DB) notify(ctx context.Context, topic, id string) {
	db.pool.Exec(context.WithoutCancel(ctx), `SELECT pg_notify($1, $2)`, channel, topic+":"+id)
}
