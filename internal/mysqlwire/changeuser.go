package mysqlwire

import (
	"errors"
	"strings"

	"airlock/internal/gateway"
)

// COM_CHANGE_USER (a driver's changeUser, to switch identity or database)
// is handled as the server handles it: the new identity authenticates
// with its own token (the client is switched to the same authentication
// as at connection start, with a fresh nonce), the old session ends and a
// new one opens (both audited), its level decided anew, and the session
// state is reset: a new upstream connection with the credential of that
// level replaces the old one. A change that fails authentication or
// access is answered with the server's error, and the connection closes,
// as MariaDB closes it.

// changeUser handles COM_CHANGE_USER.
func (c *conn) changeUser(p []byte) error {
	user, dbName, coll, err := parseChangeUser(p[1:], c.caps)
	if err != nil {
		return &protocolError{"malformed COM_CHANGE_USER"}
	}
	fail := func(err error) error {
		var se *startupError
		if errors.As(err, &se) {
			c.sendERR(se.code, se.state, se.msg)
		} else {
			c.sendERR(erUnknown, "HY000", "airlock: cannot change user now")
			c.log.Warn("change user", "err", err)
		}
		c.flush()
		return errQuit
	}
	// Authenticate as at connection start: an empty answer makes the
	// exchange switch the client to airlock's method with a new nonce.
	u, tok, err := c.authenticate(c.ctx, &handshakeResponse{user: user}, newNonce())
	if err != nil {
		return fail(err)
	}
	if dbName == "" {
		dbName = c.sess.Database().Name
	}
	db, err := c.srv.gw.Database(dbName, "mysql")
	if err != nil {
		return fail(refuse(erBadDB, "42000", "Unknown database '%s'", dbName))
	}
	old := c.session()
	// The new session acts on the connection once it has replaced the
	// old one (armed below).
	adapter := gateway.Arming(c)
	sess, err := c.srv.gw.Open(c.ctx, gateway.Login{User: u, Token: tok, Database: db, ClientAddr: hostOf(c.remote), Application: old.Info().Application, Adapter: adapter})
	switch {
	case errors.Is(err, gateway.ErrNoAccess):
		return fail(refuse(erDBAccessDenied, "42000", "airlock: user %q has no access to database %q", u.Name, db.Name))
	case errors.Is(err, gateway.ErrShuttingDown):
		return fail(refuse(erServerShutdown, "08S01", "airlock is shutting down"))
	case err != nil:
		return fail(err)
	}
	if coll != 0 {
		c.coll = coll
	}
	c.sessMu.Lock()
	c.sess = sess
	c.sessMu.Unlock()
	up, err := c.dial(sess.Level())
	if err != nil {
		old.Close()
		return fail(err)
	}
	oldUp := c.up
	c.setUpstream(up)
	oldUp.quit()
	old.Close()
	adapter.Arm()
	c.stmts = map[uint32]*stmt{}
	c.state = sessionState{}
	clear(c.tables)
	c.schema = ""
	c.log = c.srv.log.With("client", c.remote.String(), "session", sess.ID(), "user", u.Name, "database", db.Name)
	c.log.Info("user changed", "level", sess.Level())
	c.emit(nil, appendOK(nil, 0, 0, up.status, 0), -1)
	return nil
}

// parseChangeUser decodes COM_CHANGE_USER's body: user, auth data, the
// database, then (when present) the collation, the auth plugin and the
// connection attributes, which airlock does not need.
func parseChangeUser(b []byte, caps uint32) (user, db string, coll byte, err error) {
	if user, b, err = cstring(b); err != nil {
		return
	}
	if caps&capSecureConnection != 0 {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return "", "", 0, errMalformed
		}
		b = b[1+int(b[0]):]
	} else if _, b, err = cstring(b); err != nil {
		return
	}
	if db, b, err = cstring(b); err != nil {
		// Some clients end the packet with the database, unterminated.
		db, b, err = strings.TrimRight(string(b), "\x00"), nil, nil
	}
	if len(b) >= 2 {
		coll = b[0]
	}
	return user, db, coll, nil
}
