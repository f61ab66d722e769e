package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "airlock test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	cert, key = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}

// TestTLSAndCleartext: with a certificate, clients that ask for TLS get it
// (psql sslmode=require, pgx verify-full); the cleartext listener accepts
// the token as a password over TLS and from loopback.
func TestTLSAndCleartext(t *testing.T) {
	db := testenv.NewDB(t)
	cert, key := selfSigned(t, t.TempDir())
	a := testenv.Start(t, db, testenv.Options{Extra: fmt.Sprintf("tls: {cert_file: %q, key_file: %q}\n", cert, key)})
	tok := a.Token("alice", 0)
	out := run(t, 30*time.Second, "", []string{"PGPASSWORD=" + tok, "PGSSLMODE=require"}, "psql", "-X", "-h", a.Host(), "-p", a.Port(), "-U", "alice", "-d", "app",
		"-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", "-c", `\conninfo`)
	if !strings.Contains(out, "SSL connection") {
		t.Fatalf("psql over TLS:\n%s", out)
	}
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://alice:%s@%s/app?sslmode=verify-full&sslrootcert=%s", tok, a.PostgresAddr, cert))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgx verify-full: %v", err)
	}
	c.Close(ctx)

	// The cleartext listener: loopback and TLS clients only.
	b := testenv.Start(t, db, testenv.Options{Listen: `{postgres: {address: "127.0.0.1:0", auth: cleartext}, http: "127.0.0.1:0"}`})
	btok := b.Token("alice", 0)
	c, err = pgx.Connect(ctx, b.URL("alice", btok, "app"))
	if err != nil {
		t.Fatalf("cleartext from loopback: %v", err)
	}
	c.Close(ctx)
	if _, err := pgx.Connect(ctx, b.URL("alice", "alk_"+testenv.RandHex(22), "app")); pgCode(err) != "28P01" {
		t.Fatalf("cleartext with a wrong token: %v", err)
	}
}
