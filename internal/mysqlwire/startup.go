package mysqlwire

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"airlock"
	"airlock/internal/auth"
	"airlock/internal/gateway"
)

// startupError is a connection-phase failure the client is told about
// with an ERR packet before the connection closes.
type startupError struct {
	code  uint16
	state string
	msg   string
	err   error // internal cause, for the log only
}

func (e *startupError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func refuse(code uint16, state, format string, args ...any) *startupError {
	return &startupError{code: code, state: state, msg: fmt.Sprintf(format, args...)}
}

// handshakeResponse is a client's HandshakeResponse41.
type handshakeResponse struct {
	caps      uint32
	ext       uint32 // MariaDB extended capabilities
	maxPacket uint32
	collation byte
	user      string
	auth      []byte
	db        string
	plugin    string
	attrs     map[string]string
}

// sslRequestLen is the length of an SSLRequest: a handshake response cut
// after its fixed part.
const sslRequestLen = 32

// parseHandshakeResponse decodes a HandshakeResponse41.
func parseHandshakeResponse(p []byte) (*handshakeResponse, error) {
	if len(p) < sslRequestLen {
		return nil, errMalformed
	}
	r := &handshakeResponse{
		caps:      binary.LittleEndian.Uint32(p),
		maxPacket: binary.LittleEndian.Uint32(p[4:]),
		collation: p[8],
		ext:       binary.LittleEndian.Uint32(p[28:]),
	}
	if r.caps&capProtocol41 == 0 {
		return nil, errors.New("the client does not speak protocol 4.1")
	}
	rest := p[sslRequestLen:]
	var err error
	if r.user, rest, err = cstring(rest); err != nil {
		return nil, err
	}
	switch {
	case r.caps&capPluginAuthLenenc != 0:
		s, null, n, err := readLenencString(rest)
		if err != nil || null {
			return nil, errMalformed
		}
		r.auth, rest = s, rest[n:]
	case r.caps&capSecureConnection != 0:
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return nil, errMalformed
		}
		r.auth, rest = rest[1:1+int(rest[0])], rest[1+int(rest[0]):]
	default:
		var s string
		if s, rest, err = cstring(rest); err != nil {
			return nil, err
		}
		r.auth = []byte(s)
	}
	r.auth = bytes.Clone(r.auth)
	if r.caps&capConnectWithDB != 0 && len(rest) > 0 {
		if r.db, rest, err = cstring(rest); err != nil {
			return nil, err
		}
	}
	if r.caps&capPluginAuth != 0 && len(rest) > 0 {
		if r.plugin, rest, err = cstring(rest); err != nil {
			// Some clients leave the terminator out of the last field.
			r.plugin, rest = string(rest), nil
		}
	}
	if r.caps&capConnectAttrs != 0 && len(rest) > 0 {
		total, n := readLenenc(rest)
		if n == 0 || uint64(len(rest)-n) < total {
			return nil, errMalformed
		}
		kv := rest[n : n+int(total)]
		r.attrs = map[string]string{}
		for len(kv) > 0 {
			k, _, n, err := readLenencString(kv)
			if err != nil {
				return nil, err
			}
			kv = kv[n:]
			v, _, n, err := readLenencString(kv)
			if err != nil {
				return nil, err
			}
			kv = kv[n:]
			if len(r.attrs) < 64 {
				r.attrs[string(k)] = string(v)
			}
		}
	}
	return r, nil
}

// newNonce returns 20 random printable bytes, as MySQL servers send them
// (some clients treat the scramble as a C string).
func newNonce() []byte {
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = 0x21 + b[i]%0x5e
	}
	return b
}

// greeting encodes the HandshakeV10 packet.
func (c *conn) greeting(nonce []byte) []byte {
	caps, ext, version := serverCaps, uint32(0), publicVersion(c.srv.serverVersion())
	if c.srv.tls != nil {
		caps |= capSSL
	}
	if strings.Contains(version, "MariaDB") {
		caps, ext = caps&^capLongPassword, serverExt
	}
	b := []byte{10}
	b = append(b, version...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint32(b, c.id)
	b = append(b, nonce[:8]...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(caps))
	b = append(b, 45) // utf8mb4_general_ci
	b = binary.LittleEndian.AppendUint16(b, statusAutocommit)
	b = binary.LittleEndian.AppendUint16(b, uint16(caps>>16))
	b = append(b, byte(len(nonce)+1))
	b = append(b, make([]byte, 6)...)
	b = binary.LittleEndian.AppendUint32(b, ext)
	b = append(b, nonce[8:]...)
	b = append(b, 0)
	b = append(b, pluginSHA2...)
	return append(b, 0)
}

// maxHandshake bounds the packets of the connection phase.
const maxHandshake = 64 << 10

// handshake runs the connection phase up to a verified token: greeting,
// optional TLS, handshake response, authentication. The caller sends the
// final OK once the session and its upstream connection are open.
func (c *conn) handshake(ctx context.Context) (*handshakeResponse, *airlock.User, *airlock.Token, error) {
	nonce := newNonce()
	c.cseq = 0
	writePacket(c.cw, &c.cseq, c.greeting(nonce))
	if err := c.flush(); err != nil {
		return nil, nil, nil, err
	}
	p, err := c.readAuth()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(p) == sslRequestLen && binary.LittleEndian.Uint32(p)&capSSL != 0 {
		if c.srv.tls == nil {
			return nil, nil, nil, refuse(erHandshake, "08S01", "airlock: TLS is not configured on this listener")
		}
		// The client starts the TLS handshake right after its request:
		// what is buffered already belongs to it.
		tc := tls.Server(bufferedConn{Conn: c.client, r: c.cr.r}, c.srv.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, nil, fmt.Errorf("tls handshake: %w", err)
		}
		c.setClientConn(tc)
		c.tls = true
		if p, err = c.readAuth(); err != nil {
			return nil, nil, nil, err
		}
	}
	if c.srv.requireTLS && !c.tls {
		return nil, nil, nil, errTLSRequired
	}
	resp, err := parseHandshakeResponse(p)
	if err != nil {
		return nil, nil, nil, refuse(erHandshake, "08S01", "bad handshake: %v", err)
	}
	if resp.caps&capSSL != 0 && !c.tls {
		return nil, nil, nil, refuse(erHandshake, "08S01", "bad handshake: TLS asked for but not negotiated")
	}
	c.caps = resp.caps & (serverCaps | capSSL)
	if c.caps&capLongPassword == 0 {
		c.ext = resp.ext & serverExt // only offered to clients of MariaDB
	}
	u, tok, err := c.authenticate(ctx, resp, nonce)
	return resp, u, tok, err
}

// readAuth reads one connection-phase packet and sets the sequence of
// the answer.
func (c *conn) readAuth() ([]byte, error) {
	if err := c.flush(); err != nil {
		return nil, err
	}
	p, seq, err := c.cr.nextFrom(maxHandshake, c.cseq)
	if errors.Is(err, errTooLarge) {
		return nil, refuse(erHandshake, "08S01", "bad handshake: packet too large")
	}
	if errors.Is(err, errOutOfOrder) {
		return nil, refuse(erOutOfOrder, "08S01", "Got packets out of order")
	}
	if err != nil {
		return nil, err
	}
	c.cseq = seq + 1
	return bytes.Clone(p), nil
}

// bufferedConn reads through a reader that may hold bytes already read
// from the connection.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (b bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// authenticate checks the client's token.
//
// The greeting proposes caching_sha2_password. A scramble is checked
// against each live token's verifier (mysql_native_password or the
// caching_sha2_password fast path); when none matches (a wrong token, a
// token whose verifiers the store lacks, an unknown user), the client is
// asked for full authentication, which sends the token itself: in
// cleartext over TLS, or encrypted with airlock's RSA key otherwise. The
// token is then checked like an API bearer token. Unknown users go
// through the same exchange and get the same error as bad tokens.
func (c *conn) authenticate(ctx context.Context, resp *handshakeResponse, nonce []byte) (*airlock.User, *airlock.Token, error) {
	user := resp.user
	u, toks, err := c.srv.gw.Verifiers(ctx, user)
	if err != nil && !errors.Is(err, gateway.ErrBadCredentials) {
		return nil, nil, &startupError{code: erUnknown, state: "HY000", msg: "airlock: cannot check credentials now; try again shortly", err: err}
	}
	plugin, data := resp.plugin, resp.auth
	if plugin == "" {
		plugin = pluginNative
	}
	if c.srv.clear {
		if !c.tls && !isLoopback(c.remote) {
			return nil, nil, refuse(erAccessDenied, "28000", "airlock: cleartext authentication needs TLS or a loopback connection")
		}
		if plugin != pluginClear {
			if data, err = c.authSwitch(pluginClear, nil); err != nil {
				return nil, nil, err
			}
		}
		c.auth = "cleartext"
		return c.checkSecret(ctx, user, data)
	}
	switch plugin {
	case pluginNative:
		if len(data) == 0 {
			// A client whose plugin is not the one proposed sends an
			// empty answer and waits to be switched to its own.
			nonce = newNonce()
			if data, err = c.authSwitch(pluginNative, nonce); err != nil {
				return nil, nil, err
			}
			if len(data) == 0 {
				return nil, nil, c.denied(user, false)
			}
		}
		for _, t := range toks {
			if u != nil && auth.CheckNativeScramble(t.MySQLNative, nonce, data) {
				c.auth = "native"
				return u, t, nil
			}
		}
		nonce = newNonce()
		if data, err = c.authSwitch(pluginSHA2, nonce); err != nil {
			return nil, nil, err
		}
	case pluginClear:
		if !c.tls && !isLoopback(c.remote) {
			return nil, nil, refuse(erAccessDenied, "28000", "airlock: cleartext authentication needs TLS or a loopback connection")
		}
		c.auth = "cleartext"
		return c.checkSecret(ctx, user, data)
	case pluginSHA2:
	default:
		nonce = newNonce()
		if data, err = c.authSwitch(pluginSHA2, nonce); err != nil {
			return nil, nil, err
		}
	}
	// caching_sha2_password.
	if len(data) == 0 {
		return nil, nil, c.denied(user, false)
	}
	for _, t := range toks {
		if u != nil && auth.CheckSHA2Scramble(t.MySQLSHA2, nonce, data) {
			c.writeAuth(append([]byte{hdrAuthMore}, sha2FastOK))
			c.auth = "sha2"
			return u, t, nil
		}
	}
	c.writeAuth([]byte{hdrAuthMore, sha2FullAuth})
	p, err := c.readAuth()
	if err != nil {
		return nil, nil, err
	}
	if c.tls {
		c.auth = "full-tls"
		return c.checkSecret(ctx, user, p)
	}
	if len(p) != 1 || p[0] != sha2PublicKey {
		return nil, nil, refuse(erAccessDenied, "28000", "Access denied for user '%s'@'%s' (using password: YES): the scramble matched no live token, and the client did not send the token itself, which needs TLS or a client that fetches airlock's RSA public key (allowPublicKeyRetrieval=true, --get-server-public-key)", user, hostOf(c.remote))
	}
	key, err := c.srv.rsaKey()
	if err != nil {
		return nil, nil, &startupError{code: erUnknown, state: "HY000", msg: "airlock: cannot authenticate now", err: err}
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	c.writeAuth(append([]byte{hdrAuthMore}, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...))
	if p, err = c.readAuth(); err != nil {
		return nil, nil, err
	}
	plain, err := rsa.DecryptOAEP(sha1.New(), nil, key, p, nil)
	if err != nil {
		return nil, nil, c.denied(user, true)
	}
	for i := range plain {
		plain[i] ^= nonce[i%len(nonce)]
	}
	c.auth = "full-rsa"
	return c.checkSecret(ctx, user, plain)
}

// authSwitch asks the client to authenticate with plugin and returns its
// answer.
func (c *conn) authSwitch(plugin string, nonce []byte) ([]byte, error) {
	b := []byte{hdrEOF}
	b = append(b, plugin...)
	b = append(b, 0)
	if nonce != nil {
		b = append(b, nonce...)
		b = append(b, 0)
	}
	c.writeAuth(b)
	return c.readAuth()
}

func (c *conn) writeAuth(p []byte) { writePacket(c.cw, &c.cseq, p) }

// checkSecret checks a token sent as a password (NUL-terminated or not).
func (c *conn) checkSecret(ctx context.Context, user string, pw []byte) (*airlock.User, *airlock.Token, error) {
	pw = bytes.TrimSuffix(pw, []byte{0})
	if len(pw) == 0 {
		return nil, nil, c.denied(user, false)
	}
	u, t, err := c.srv.gw.CheckSecret(ctx, user, string(pw))
	if errors.Is(err, gateway.ErrBadCredentials) {
		return nil, nil, c.denied(user, true)
	}
	if err != nil {
		return nil, nil, &startupError{code: erUnknown, state: "HY000", msg: "airlock: cannot check credentials now; try again shortly", err: err}
	}
	return u, t, nil
}

// denied is MySQL's answer to a bad password.
func (c *conn) denied(user string, withPassword bool) error {
	using := "NO"
	if withPassword {
		using = "YES"
	}
	return refuse(erAccessDenied, "28000", "Access denied for user '%s'@'%s' (using password: %s)", user, hostOf(c.remote), using)
}

func isLoopback(addr net.Addr) bool {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.IsLoopback()
	}
	_, isUnix := addr.(*net.UnixAddr)
	return isUnix
}

func hostOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	return a.String()
}
