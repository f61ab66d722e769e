package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	db := `databases:
  - name: a
    engine: postgres
    address: "127.0.0.1:5432"
    credentials:
      read: {user: ro, password: x}
  - name: b
    engine: mysql
    address: "127.0.0.1:3306"
    limits: {max_statement_bytes: 2048, statement_timeout: 30s}
    credentials:
      read: {user: ro, password: x}
`
	for _, tc := range []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *Config)
		err   string
	}{
		{name: "defaults", yaml: db, check: func(t *testing.T, c *Config) {
			l := c.LimitsFor(c.DB("a"))
			if l.MaxStatementBytes != 16<<20 || l.StatementTimeout.D() != 5*time.Minute || l.AuthTimeout.D() != time.Minute {
				t.Errorf("defaults = %+v", l)
			}
			if c.Audit.MaxTextBytes != 64<<10 {
				t.Errorf("audit.max_text_bytes default = %d", c.Audit.MaxTextBytes)
			}
		}},
		{name: "per database override", yaml: db + "limits: {max_statement_bytes: 4096, statement_timeout: 2m}\n", check: func(t *testing.T, c *Config) {
			if l := c.LimitsFor(c.DB("a")); l.MaxStatementBytes != 4096 || l.StatementTimeout.D() != 2*time.Minute {
				t.Errorf("global limits on a = %+v", l)
			}
			if l := c.LimitsFor(c.DB("b")); l.MaxStatementBytes != 2048 || l.StatementTimeout.D() != 30*time.Second {
				t.Errorf("override on b = %+v", l)
			}
		}},
		{name: "too small", yaml: db + "limits: {max_statement_bytes: 10}\n", err: "limits.max_statement_bytes: must be at least 1024"},
		{name: "auth_timeout per database", yaml: strings.Replace(db, "statement_timeout: 30s}", "auth_timeout: 5s}", 1), err: "databases[1].limits.auth_timeout: is global only"},
		{name: "text bytes", yaml: db + "audit: {max_text_bytes: 10}\n", err: "audit.max_text_bytes: must be at least 256"},
		{name: "http_tls without tls", yaml: db + "listen: {http: \"127.0.0.1:0\", http_tls: true}\n", err: "listen.http_tls: needs the tls block"},
		{name: "tls require", yaml: db + "tls: {cert_file: a.crt, key_file: a.key, require: true}\n", check: func(t *testing.T, c *Config) {
			if !c.TLS.Require {
				t.Error("tls.require not read")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			c, err := Load(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
