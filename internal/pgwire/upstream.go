package pgwire

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/listen"

	"github.com/jackc/pgx/v5/pgconn"
)

// upstream is a hijacked connection to the database server.
type upstream struct {
	conn   net.Conn
	params map[string]string // ParameterStatus values at connect time
	addr   string            // host:port, for cancel requests
	pid    uint32
	secret []byte
	level  airlock.Level // the credential's level
}

// dialUpstream connects to db with the credential of level, sending
// runtime parameters in the startup packet.
// replay, when not nil, runs on the new connection before it is handed
// over (to carry a session's state across a change of credential).
func dialUpstream(ctx context.Context, db *config.Database, cred config.Credential, level airlock.Level, runtime map[string]string, replay func(context.Context, *pgconn.PgConn) error) (*upstream, error) {
	connStr, err := db.PGConnString(cred.User)
	if err != nil {
		return nil, err
	}
	cfg, err := pgconn.ParseConfig(connStr)
	if err != nil {
		return nil, fmt.Errorf("upstream config: %w", err)
	}
	cfg.Password = cred.Password
	cfg.RuntimeParams = runtime
	cfg.DialFunc = listen.Dialer(10 * time.Second).DialContext
	for _, fb := range cfg.Fallbacks {
		fb.Host = cfg.Host
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if replay != nil {
		if err := replay(ctx, pc); err != nil {
			pc.Close(context.Background())
			return nil, err
		}
	}
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(context.Background())
		return nil, err
	}
	hj, err := pc.Hijack()
	if err != nil {
		pc.Close(context.Background())
		return nil, err
	}
	return &upstream{conn: hj.Conn, params: hj.ParameterStatuses, addr: db.Address, pid: hj.PID, secret: hj.SecretKey, level: level}, nil
}

// cancel asks the upstream server to cancel what this connection runs.
func (u *upstream) cancel() error {
	d := net.Dialer{Timeout: 3 * time.Second}
	nc, err := d.Dial("tcp", u.addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(3 * time.Second))
	b := make([]byte, 12, 12+len(u.secret))
	binary.BigEndian.PutUint32(b[0:], uint32(12+len(u.secret)))
	binary.BigEndian.PutUint32(b[4:], codeCancel)
	binary.BigEndian.PutUint32(b[8:], u.pid)
	b = append(b, u.secret...)
	if _, err := nc.Write(b); err != nil {
		return err
	}
	// The server closes the connection when it has handled the request.
	var one [1]byte
	nc.Read(one[:])
	return nil
}
