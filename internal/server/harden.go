package server

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"airlock/internal/listen"
)

// HTTP bounds: how long a client may take to send its request's headers,
// its body, and how long an idle keep-alive connection is kept; the
// largest request body and header block accepted.
const (
	httpHeaderTimeout = 10 * time.Second
	httpBodyTimeout   = 30 * time.Second
	httpIdleTimeout   = 60 * time.Second
	httpMaxBody       = 1 << 20
	httpMaxHeader     = 64 << 10
)

// listenerShares splits the descriptor limit between the listeners
// configured, so that a flood on one cannot starve the others.
func (s *Server) listenerShares() listen.Shares {
	n := 0
	if s.Config.Listen.Postgres.Address != "" {
		n++
	}
	if s.Config.Listen.MySQL.Address != "" {
		n++
	}
	limit, err := listen.DescriptorLimit()
	if err != nil {
		s.log.Warn("read the descriptor limit; assuming 1024", "err", err)
		limit = 1024
	}
	sh := listen.SharesFor(limit, s.Config.Listen.HTTP != "", n)
	s.log.Info("connection caps from the descriptor limit", "descriptors", limit, "http", sh.HTTP, "per_database_listener", sh.Database)
	return sh
}

// newHTTP returns the HTTP server and the listener it serves: capped at
// limit connections, with TLS when listen.http_tls is set, and with
// timeouts on headers, bodies and idle connections.
func (s *Server) newHTTP(h http.Handler, ln net.Listener, limit int, tlsCfg *tls.Config) (*http.Server, net.Listener) {
	s.httpLn = listen.Limit(ln, limit, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 40\r\n\r\nairlock: too many HTTP connections now\r\n")
	})
	var out net.Listener = s.httpLn
	if s.Config.Listen.HTTPTLS && tlsCfg != nil {
		out = tls.NewListener(s.httpLn, tlsCfg)
	}
	srv := &http.Server{
		Handler:           boundBody(h),
		ReadHeaderTimeout: httpHeaderTimeout,
		ReadTimeout:       httpHeaderTimeout + httpBodyTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeader,
	}
	return srv, out
}

// boundBody limits a request body to httpMaxBody bytes. The server's
// ReadTimeout bounds reading the request; once the body is read (at once
// for a request without one) the read deadline is lifted, so that long
// answers (the live event stream, an export) are not cut.
func boundBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			rc.SetReadDeadline(time.Time{})
		} else {
			r.Body = &eofHook{ReadCloser: http.MaxBytesReader(w, r.Body, httpMaxBody), eof: func() { rc.SetReadDeadline(time.Time{}) }}
		}
		h.ServeHTTP(w, r)
	})
}

type eofHook struct {
	io.ReadCloser
	eof  func()
	done bool
}

func (b *eofHook) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		b.eof()
	}
	return n, err
}

// health wraps the health check: it fails while a listener is not
// accepting connections (out of descriptors, say), then asks next.
func (s *Server) health(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down := s.listenersDown(); len(down) > 0 {
			http.Error(w, fmt.Sprintf("not accepting connections: %s\n", strings.Join(down, ", ")), http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// listenersDown names the listeners whose accept loop is failing.
func (s *Server) listenersDown() []string {
	var down []string
	if s.pg != nil && !s.pg.Accepting() {
		down = append(down, "postgres")
	}
	if s.my != nil && !s.my.Accepting() {
		down = append(down, "mysql")
	}
	if s.httpLn != nil && !s.httpLn.Accepting() {
		down = append(down, "http")
	}
	return down
}

// warnPermissions warns when a file holding secrets or the audit can be
// read by other users of the machine: the config (it may hold upstream
// passwords), the TLS key, the HMAC key, the store and the audit file.
func (s *Server) warnPermissions() {
	c := s.Config
	files := []struct{ what, path string }{
		{"config", c.Path},
		{"store", c.StorePath()},
		{"audit.file", c.Audit.File},
		{"audit.hmac_key_file", c.Audit.HMACKeyFile},
	}
	if c.TLS != nil {
		files = append(files, struct{ what, path string }{"tls.key_file", c.TLS.KeyFile})
	}
	for _, db := range c.Databases {
		for lvl, cr := range db.RawCreds {
			if cr.PasswordFile != "" {
				files = append(files, struct{ what, path string }{"databases." + db.Name + ".credentials." + lvl + ".password_file", c.Rel(cr.PasswordFile)})
			}
		}
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		fi, err := os.Stat(f.path)
		if err != nil {
			continue
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			s.log.Warn("file is readable or writable by other users; chmod 600 it", "file", f.path, "what", f.what, "mode", fmt.Sprintf("%04o", mode))
		}
	}
}
