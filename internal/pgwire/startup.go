package pgwire

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"airlock"
	"airlock/internal/auth"
	"airlock/internal/gateway"

	"github.com/jackc/pgx/v5/pgproto3"
)

// startupError is a startup failure the client is told about with FATAL.
type startupError struct {
	code, msg string
	err       error // internal cause, for the log only
}

func (e *startupError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func fatal(code, format string, args ...any) *startupError {
	return &startupError{code: code, msg: fmt.Sprintf(format, args...)}
}

// startup runs the startup phase: TLS negotiation, the StartupMessage,
// authentication. It returns the startup parameters, the user and the
// token that authenticated.
func (c *conn) startup(ctx context.Context) (map[string]string, *airlock.User, *airlock.Token, error) {
	sslDone, gssDone := false, false
	for {
		code, body, err := c.cr.startup()
		if err != nil {
			return nil, nil, nil, err
		}
		switch code {
		case codeSSLRequest:
			if sslDone || len(body) != 0 {
				return nil, nil, nil, fatal("08P01", "unexpected SSLRequest")
			}
			sslDone = true
			if c.srv.tls == nil {
				c.client.Write([]byte{'N'})
				if c.cr.buffered() > 0 {
					return nil, nil, nil, errUnencryptedAfter("SSL")
				}
				continue
			}
			if c.cr.buffered() > 0 {
				return nil, nil, nil, errUnencryptedAfter("SSL")
			}
			c.client.Write([]byte{'S'})
			tc := tls.Server(c.client, c.srv.tls)
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, nil, nil, fmt.Errorf("tls handshake: %w", err)
			}
			c.setClientConn(tc)
			c.tls = true
		case codeGSSENCRequest:
			if gssDone || len(body) != 0 {
				return nil, nil, nil, fatal("08P01", "unexpected GSSENCRequest")
			}
			gssDone = true
			c.client.Write([]byte{'N'})
			if c.cr.buffered() > 0 {
				return nil, nil, nil, errUnencryptedAfter("GSSAPI encryption")
			}
		case codeCancel:
			if len(body) != 8 {
				return nil, nil, nil, errors.New("malformed cancel request")
			}
			c.srv.cancel(binary.BigEndian.Uint32(body[:4]), body[4:8])
			return nil, nil, nil, errCancelHandled
		default:
			if code>>16 != 3 {
				return nil, nil, nil, fatal("0A000", "unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", code>>16, code&0xffff)
			}
			if c.srv.requireTLS && !c.tls {
				return nil, nil, nil, errTLSRequired
			}
			params, err := parseStartupParams(body)
			if err != nil {
				return nil, nil, nil, fatal("08P01", "invalid startup packet: %v", err)
			}
			c.negotiate(code&0xffff, params)
			u, t, err := c.authenticate(ctx, params)
			return params, u, t, err
		}
	}
}

var errCancelHandled = errors.New("cancel request handled")

// checkParams checks what authentication needs; the settings among the
// parameters are decided once the session is known (params.go).
func (c *conn) checkParams(params map[string]string) error {
	if params["user"] == "" {
		return fatal("28000", "no user name given in the startup packet")
	}
	return nil
}

// authenticate checks the client's token for the user of the startup packet.
func (c *conn) authenticate(ctx context.Context, params map[string]string) (*airlock.User, *airlock.Token, error) {
	if err := c.checkParams(params); err != nil {
		return nil, nil, err
	}
	user := params["user"]
	if c.srv.clear {
		if !c.tls && !isLoopback(c.remote) {
			return nil, nil, fatal("28000", "airlock: cleartext authentication needs TLS or a loopback connection")
		}
		c.send(encode(nil, &pgproto3.AuthenticationCleartextPassword{}))
		if err := c.flush(); err != nil {
			return nil, nil, err
		}
		typ, body, err := c.cr.next()
		if err != nil {
			return nil, nil, err
		}
		if typ != 'p' {
			return nil, nil, fatal("08P01", "expected a password message, got %q", typ)
		}
		pw, _, err := cstring(body)
		if err != nil {
			return nil, nil, fatal("08P01", "malformed password message")
		}
		u, t, err := c.srv.gw.CheckSecret(ctx, user, pw)
		if errors.Is(err, gateway.ErrBadCredentials) {
			return nil, nil, badPassword(user)
		}
		return u, t, err
	}
	return c.scram(ctx, user)
}

func badPassword(user string) error {
	return fatal("28P01", "password authentication failed for user %q", user)
}

// scram runs SCRAM-SHA-256 against every live token of user. An unknown
// user goes through the same exchange with a salt derived from its name,
// so that the exchange does not tell whether the user exists.
func (c *conn) scram(ctx context.Context, user string) (*airlock.User, *airlock.Token, error) {
	u, toks, err := c.srv.gw.Verifiers(ctx, user)
	if err != nil && !errors.Is(err, gateway.ErrBadCredentials) {
		return nil, nil, err
	}
	salt := c.fakeSalt(user)
	if u != nil {
		salt = u.ScramSalt
	}
	c.send(encode(nil, &pgproto3.AuthenticationSASL{AuthMechanisms: []string{auth.ScramMechanism}}))
	if err := c.flush(); err != nil {
		return nil, nil, err
	}
	typ, body, err := c.cr.next()
	if err != nil {
		return nil, nil, err
	}
	if typ != 'p' {
		return nil, nil, fatal("08P01", "expected a SASL response, got %q", typ)
	}
	var init pgproto3.SASLInitialResponse
	if err := init.Decode(body); err != nil {
		return nil, nil, fatal("08P01", "malformed SASL initial response")
	}
	if init.AuthMechanism != auth.ScramMechanism {
		return nil, nil, fatal("28000", "unsupported SASL mechanism %q", init.AuthMechanism)
	}
	srv := auth.NewScramServer(salt, auth.Iterations)
	first, err := srv.First(string(init.Data))
	if err != nil {
		return nil, nil, fatal("08P01", "%v", err)
	}
	c.send(encode(nil, &pgproto3.AuthenticationSASLContinue{Data: []byte(first)}))
	if err := c.flush(); err != nil {
		return nil, nil, err
	}
	typ, body, err = c.cr.next()
	if err != nil {
		return nil, nil, err
	}
	if typ != 'p' {
		return nil, nil, fatal("08P01", "expected a SASL response, got %q", typ)
	}
	verifiers := make([]auth.ScramVerifier, len(toks))
	for i, t := range toks {
		verifiers[i] = auth.ScramVerifier{StoredKey: t.StoredKey, ServerKey: t.ServerKey}
	}
	idx, final, err := srv.Final(string(body), verifiers)
	if errors.Is(err, auth.ErrScramProof) || (err == nil && u == nil) {
		return nil, nil, badPassword(user)
	}
	if err != nil {
		return nil, nil, fatal("08P01", "%v", err)
	}
	c.send(encode(nil, &pgproto3.AuthenticationSASLFinal{Data: []byte(final)}))
	return u, toks[idx], nil
}

func (c *conn) fakeSalt(user string) []byte {
	m := hmac.New(sha256.New, c.srv.fakeKey)
	io.WriteString(m, user)
	return m.Sum(nil)[:16]
}

func isLoopback(addr net.Addr) bool {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.IsLoopback()
	}
	_, isUnix := addr.(*net.UnixAddr)
	return isUnix
}
