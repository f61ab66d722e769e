package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"airlock"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// channel is the LISTEN/NOTIFY channel of the gateways sharing a store.
const channel = "airlock"

// Topics of notifications: a payload is "topic:id".
const (
	TopicToken   = "token"   // a token was revoked; id: the token
	TopicGrant   = "grant"   // a grant was created or revoked; id: the grant
	TopicRequest = "request" // a request was created or decided; id: the request
	TopicUser    = "user"    // a user was created, changed or deleted; id: the name
	TopicKill    = "kill"    // an admin asked to end a session; id: the session
)

// Unexported aliases used by the write methods.
const (
	topicToken   = TopicToken
	topicGrant   = TopicGrant
	topicRequest = TopicRequest
	topicUser    = TopicUser
)

// notify tells every gateway listening on the store that the record id of
// topic changed. A lost notification is not an error: listeners catch up
// when their connection comes back (see Listen).
func (db *DB) notify(ctx context.Context, topic, id string) {
	db.pool.Exec(context.WithoutCancel(ctx), `SELECT pg_notify($1, $2)`, channel, topic+":"+id)
}

// RequestKill asks the gateway that owns the open session id to end it,
// killed by admin: it records the request on the session (so that the
// owner finds it even if it missed the notification) and notifies.
// ENOTFOUND when no open session has the ID.
func (db *DB) RequestKill(ctx context.Context, id, admin string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE sessions SET kill_by = $2 WHERE id = $1 AND ended_at IS NULL`, id, admin)
	if err != nil {
		return fmt.Errorf("kill session: %w", err)
	}
	if err := mustAffect(tag, "open session", id); err != nil {
		return err
	}
	if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, TopicKill+":"+id); err != nil {
		return fmt.Errorf("kill session: %w", err)
	}
	return nil
}

// KillRequests returns the open sessions of this store's gateway that an
// admin asked to end, with the admin's name.
func (db *DB) KillRequests(ctx context.Context) (map[string]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, kill_by FROM sessions
		WHERE gateway = $1 AND ended_at IS NULL AND kill_by IS NOT NULL`, db.gateway)
	if err != nil {
		return nil, fmt.Errorf("kill requests: %w", err)
	}
	out := map[string]string{}
	defer rows.Close()
	for rows.Next() {
		var id, by string
		if err := rows.Scan(&id, &by); err != nil {
			return nil, fmt.Errorf("kill requests: %w", err)
		}
		out[id] = by
	}
	return out, rows.Err()
}

// Heartbeat renews this store's gateway lease until now+ttl. A gateway
// whose lease expired is taken for dead: EndLostSessions ends its sessions.
func (db *DB) Heartbeat(ctx context.Context, now time.Time, ttl time.Duration) error {
	if db.gateway == "" {
		return errors.New("heartbeat: the store has no gateway ID")
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO gateways (id, started_at, lease_until) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until`,
		db.gateway, now.UnixNano(), now.Add(ttl).UnixNano())
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// Release gives up this store's gateway lease (a clean shutdown, after its
// sessions ended).
func (db *DB) Release(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM gateways WHERE id = $1`, db.gateway); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// EndLostSessions marks ended, with reason, the open sessions of other
// gateways whose lease expired before now, and returns them. Gateways
// running it at once end each session once. Leases expired for a day
// are forgotten.
func (db *DB) EndLostSessions(ctx context.Context, now time.Time, reason string) ([]*airlock.Session, error) {
	at := now.UnixNano()
	rows, err := db.pool.Query(ctx, `UPDATE sessions SET ended_at = $1, end_reason = $2
		WHERE ended_at IS NULL AND gateway <> '' AND gateway <> $3
		AND gateway NOT IN (SELECT id FROM gateways WHERE lease_until > $1)
		RETURNING `+sessionColumns, at, reason, db.gateway)
	if err != nil {
		return nil, fmt.Errorf("end lost sessions: %w", err)
	}
	ss, err := collect(rows, scanSession)
	if err != nil {
		return nil, fmt.Errorf("end lost sessions: %w", err)
	}
	db.pool.Exec(ctx, `DELETE FROM gateways WHERE lease_until < $1`, now.Add(-24*time.Hour).UnixNano())
	return ss, nil
}

// Listen delivers the store's notifications to fn (topic, id) until ctx
// ends, on a connection of its own. When that connection is lost it
// reconnects (retrying every second), and after every (re)connection
// calls resync, so that the caller catches up by polling on what it may
// have missed meanwhile; while the connection stays down it calls resync
// every second as well. Listen returns when ctx ends.
func (db *DB) Listen(ctx context.Context, log *slog.Logger, fn func(topic, id string), resync func(ctx context.Context)) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := db.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "airlock listener"
	down := false
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			if _, err = conn.Exec(ctx, `LISTEN `+channel); err != nil {
				conn.Close(context.Background())
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !down {
				log.Warn("store notifications lost; polling until they are back", "err", err)
				down = true
			}
			resync(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if down {
			log.Info("store notifications are back")
			down = false
		}
		resync(ctx)
		for {
			n, err := waitNotification(ctx, conn)
			if err != nil {
				conn.Close(context.Background())
				if ctx.Err() == nil {
					log.Warn("store notifications lost; polling until they are back", "err", err)
					down = true
				}
				break
			}
			topic, id, ok := strings.Cut(n.Payload, ":")
			if ok {
				fn(topic, id)
			}
		}
	}
}

// listenPing is how long the listening connection may stay silent before
// Listen checks that the server still answers (a connection cut without a
// reset, as a network partition cuts it, would otherwise wait forever).
var listenPing = 30 * time.Second

// waitNotification waits for the next notification on conn, pinging the
// server after listenPing of silence; an error means the connection is lost.
func waitNotification(ctx context.Context, conn *pgx.Conn) (*pgconn.Notification, error) {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err == nil || ctx.Err() != nil || wctx.Err() == nil {
			return n, err
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return nil, err
		}
	}
}
