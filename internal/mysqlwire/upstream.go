package mysqlwire

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/listen"
)

// upstream is airlock's connection to the database server, authenticated
// with the credential of one level.
type upstream struct {
	conn      net.Conn
	r         *pktReader
	w         *bufio.Writer
	seq       byte
	threadID  uint32
	caps      uint32 // in effect on this connection
	ext       uint32 // MariaDB extended capabilities in effect
	version   string
	level     airlock.Level
	status    uint16 // server status of the last OK or EOF
	maxPacket int    // the server's max_allowed_packet
	// rollbackOnTimeout is innodb_rollback_on_timeout: a lock wait
	// timeout rolls the whole transaction back.
	rollbackOnTimeout bool
	// latin1 is set while the connection reads the client's text as latin1
	// (clientText transcodes it for the classifier).
	latin1 bool
	tls    bool
	// stmtTimeout is the session's statement timeout (limits.go).
	stmtTimeout time.Duration
}

// dialOptions say how to open an upstream connection.
type dialOptions struct {
	db    *config.Database
	cred  config.Credential
	level airlock.Level
	// caps are the client's capabilities; the mirrored ones are asked for,
	// and so are the MariaDB extended ones in ext.
	caps      uint32
	ext       uint32
	collation byte
	attrs     map[string]string
}

// baseUpstreamCaps are what airlock always asks of the upstream.
const baseUpstreamCaps = capLongPassword | capLongFlag | capProtocol41 | capTransactions |
	capSecureConnection | capPluginAuth | capPluginAuthLenenc | capConnectWithDB | capConnectAttrs

// greetingInfo is what a server's HandshakeV10 says.
type greetingInfo struct {
	version  string
	threadID uint32
	nonce    []byte
	caps     uint32
	ext      uint32 // MariaDB extended capabilities
	status   uint16
	plugin   string
}

func parseGreeting(p []byte) (*greetingInfo, error) {
	if len(p) > 0 && p[0] == hdrERR {
		return nil, parseERR(p)
	}
	if len(p) < 1 || p[0] != 10 {
		return nil, errors.New("not a MySQL protocol 10 server")
	}
	g := &greetingInfo{}
	var rest []byte
	var err error
	if g.version, rest, err = cstring(p[1:]); err != nil {
		return nil, err
	}
	if len(rest) < 4+8+1+2 {
		return nil, errMalformed
	}
	g.threadID = binary.LittleEndian.Uint32(rest)
	g.nonce = append([]byte(nil), rest[4:12]...)
	g.caps = uint32(binary.LittleEndian.Uint16(rest[13:]))
	rest = rest[15:]
	if len(rest) >= 16 {
		g.status = binary.LittleEndian.Uint16(rest[1:])
		g.caps |= uint32(binary.LittleEndian.Uint16(rest[3:])) << 16
		dataLen := int(rest[5])
		if g.caps&capLongPassword == 0 {
			g.ext = binary.LittleEndian.Uint32(rest[12:])
		}
		rest = rest[16:]
		if g.caps&capSecureConnection != 0 {
			n := max(13, dataLen-8)
			if len(rest) < n {
				return nil, errMalformed
			}
			g.nonce = append(g.nonce, bytes.TrimRight(rest[:n], "\x00")...)
			rest = rest[n:]
		}
		if g.caps&capPluginAuth != 0 {
			g.plugin, _, err = cstring(rest)
			if err != nil {
				g.plugin = string(rest)
			}
		}
	}
	if g.plugin == "" {
		g.plugin = pluginNative
	}
	return g, nil
}

// dialUpstream connects and authenticates to the database.
func dialUpstream(ctx context.Context, o dialOptions) (*upstream, error) {
	nc, err := listen.Dialer(10*time.Second).DialContext(ctx, "tcp", o.db.Address)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	u := &upstream{conn: nc, r: newPktReader(nc, upReadBuf), w: bufio.NewWriterSize(nc, upWriteBuf), level: o.level, maxPacket: defaultMaxPacket}
	if err := u.connect(o); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return u, nil
}

func (u *upstream) connect(o dialOptions) error {
	p, seq, err := u.r.next(maxHandshake)
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	g, err := parseGreeting(p)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	u.seq = seq + 1
	u.threadID, u.version, u.status = g.threadID, g.version, g.status
	if g.caps&capProtocol41 == 0 {
		return errors.New("the server does not speak protocol 4.1")
	}
	want := baseUpstreamCaps | o.caps&mirroredCaps
	caps := want & g.caps
	if caps&mirroredCaps != want&mirroredCaps {
		return fmt.Errorf("the server lacks capabilities %#x that the client uses", (want&^caps)&mirroredCaps)
	}
	ext := o.ext & g.ext
	if ext != o.ext {
		return fmt.Errorf("the server lacks MariaDB capabilities %#x that the client uses", o.ext&^ext)
	}
	host, _, _ := net.SplitHostPort(o.db.Address)
	var tcfg *tls.Config
	switch o.db.TLSMode {
	case "prefer":
		if g.caps&capSSL != 0 {
			tcfg = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
		}
	case "require":
		tcfg = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	case "verify-full":
		tcfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if tcfg != nil {
		if g.caps&capSSL == 0 {
			return errors.New("the server does not support TLS, which the database's tls setting requires")
		}
		caps |= capSSL
		hdr := binary.LittleEndian.AppendUint32(nil, caps)
		hdr = binary.LittleEndian.AppendUint32(hdr, 1<<24)
		hdr = append(hdr, o.collation)
		hdr = append(hdr, make([]byte, 19)...)
		hdr = binary.LittleEndian.AppendUint32(hdr, ext)
		writePacket(u.w, &u.seq, hdr)
		if err := u.w.Flush(); err != nil {
			return err
		}
		tc := tls.Client(u.conn, tcfg)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		u.conn, u.tls = tc, true
		u.r = newPktReader(tc, upReadBuf)
		u.w.Reset(tc)
	}
	plugin := g.plugin
	resp, err := u.authData(plugin, g.nonce, o.cred.Password)
	if err != nil {
		// The account may use another plugin, which the server will
		// switch to.
		plugin = pluginNative
		if resp, err = u.authData(plugin, g.nonce, o.cred.Password); err != nil {
			return err
		}
	}
	b := binary.LittleEndian.AppendUint32(nil, caps)
	b = binary.LittleEndian.AppendUint32(b, 1<<24)
	b = append(b, o.collation)
	b = append(b, make([]byte, 19)...)
	b = binary.LittleEndian.AppendUint32(b, ext)
	b = append(b, o.cred.User...)
	b = append(b, 0)
	b = appendLenenc(b, uint64(len(resp)))
	b = append(b, resp...)
	b = append(b, o.db.Database...)
	b = append(b, 0)
	b = append(b, plugin...)
	b = append(b, 0)
	var attrs []byte
	for k, v := range o.attrs {
		attrs = appendLenencString(attrs, k)
		attrs = appendLenencString(attrs, v)
	}
	b = appendLenenc(b, uint64(len(attrs)))
	b = append(b, attrs...)
	writePacket(u.w, &u.seq, b)
	if err := u.w.Flush(); err != nil {
		return err
	}
	nonce := g.nonce
	for {
		p, seq, err := u.r.next(maxHandshake)
		if err != nil {
			return fmt.Errorf("authenticate: %w", err)
		}
		u.seq = seq + 1
		if len(p) == 0 {
			return errMalformed
		}
		switch p[0] {
		case hdrOK:
			ok, err := parseOK(p)
			if err != nil {
				return err
			}
			u.status, u.caps, u.ext = ok.status, caps, ext
			return nil
		case hdrERR:
			return parseERR(p)
		case hdrEOF: // AuthSwitchRequest
			name, rest, err := cstring(p[1:])
			if err != nil {
				return fmt.Errorf("auth switch: %w", err)
			}
			plugin, nonce = name, bytes.TrimSuffix(rest, []byte{0})
			resp, err := u.authData(plugin, nonce, o.cred.Password)
			if err != nil {
				return err
			}
			u.write(resp)
		case hdrAuthMore:
			more := p[1:]
			switch {
			case plugin == pluginSHA2 && len(more) == 1 && more[0] == sha2FastOK:
				// The OK follows.
			case plugin == pluginSHA2 && len(more) == 1 && more[0] == sha2FullAuth:
				if u.tls {
					u.write(append([]byte(o.cred.Password), 0))
				} else {
					u.write([]byte{sha2PublicKey})
				}
			case plugin == pluginSHA2 || plugin == pluginSHA256:
				enc, err := encryptPassword(o.cred.Password, nonce, more)
				if err != nil {
					return err
				}
				u.write(enc)
			default:
				return fmt.Errorf("unexpected authentication data for %s", plugin)
			}
		default:
			return fmt.Errorf("unexpected packet %#x during authentication", p[0])
		}
		if err := u.w.Flush(); err != nil {
			return err
		}
	}
}

func (u *upstream) write(p []byte) { writePacket(u.w, &u.seq, p) }

// authData computes the first authentication answer for plugin.
func (u *upstream) authData(plugin string, nonce []byte, password string) ([]byte, error) {
	if password == "" {
		return nil, nil
	}
	switch plugin {
	case pluginNative:
		if len(nonce) < 20 {
			return nil, errors.New("short scramble")
		}
		return nativeScramble(nonce[:20], password), nil
	case pluginSHA2:
		return sha2Scramble(nonce, password), nil
	case pluginSHA256:
		if u.tls {
			return append([]byte(password), 0), nil
		}
		return []byte{1}, nil // ask for the public key
	case pluginClear:
		if !u.tls {
			return nil, errors.New("the server asks for a cleartext password without TLS; set tls: require on the database")
		}
		return append([]byte(password), 0), nil
	}
	return nil, fmt.Errorf("authentication plugin %q is not supported for upstream connections", plugin)
}

func nativeScramble(nonce []byte, password string) []byte {
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	h := sha1.New()
	h.Write(nonce)
	h.Write(h2[:])
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= h1[i]
	}
	return out
}

func sha2Scramble(nonce []byte, password string) []byte {
	h1 := sha256.Sum256([]byte(password))
	h2 := sha256.Sum256(h1[:])
	h := sha256.New()
	h.Write(h2[:])
	h.Write(nonce)
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= h1[i]
	}
	return out
}

// encryptPassword encrypts password for the server's RSA key, as
// caching_sha2_password and sha256_password do without TLS.
func encryptPassword(password string, nonce, pemKey []byte) ([]byte, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return nil, errors.New("the server sent no RSA public key")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("server public key: %w", err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("the server's public key is not RSA")
	}
	plain := append([]byte(password), 0)
	for i := range plain {
		plain[i] ^= nonce[i%len(nonce)]
	}
	return rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, plain, nil)
}

// quit says goodbye and closes the connection.
func (u *upstream) quit() {
	u.conn.SetWriteDeadline(time.Now().Add(time.Second))
	u.seq = 0
	writePacket(u.w, &u.seq, []byte{comQuit})
	u.w.Flush()
	u.conn.Close()
}

// killQuery cancels what the upstream connection runs now, from a new
// connection with the same credential (KILL QUERY works on one's own
// threads without privileges).
func killQuery(ctx context.Context, db *config.Database, cred config.Credential, level airlock.Level, threadID uint32) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	k, err := dialUpstream(ctx, dialOptions{db: db, cred: cred, level: level, collation: 45})
	if err != nil {
		return err
	}
	defer k.quit()
	k.conn.SetDeadline(time.Now().Add(3 * time.Second))
	_, err = k.query(fmt.Sprintf("KILL QUERY %d", threadID))
	return err
}
