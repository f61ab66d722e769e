// Package npm installs the Node.js clients that airlock's tests drive,
// each pinned to the exact version tested.
//
// package.json beside this file is the one place that names them and their
// versions; package-lock.json pins everything they depend on (with the
// integrity hash of each package, and no registry address: npm uses the
// one it is configured with). A registry release can therefore never
// change what a test runs. To add or move a client:
//
//	cd internal/testenv/npm && npm install --save-exact --package-lock-only NAME@VERSION
//
// then drop the "resolved" fields from package-lock.json (the test below
// fails while any is there).
package npm

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

//go:embed package.json
var manifest []byte

//go:embed package-lock.json
var lock []byte

// NodeModules returns a directory holding node_modules with every pinned
// client, installed with `npm ci` on first use. The installation is shared
// by every test and test process of this machine (keyed by the lock
// file's hash, under the user cache directory) and made once: concurrent
// callers wait for the first. A failed installation fails the test.
func NodeModules(t testing.TB) string {
	t.Helper()
	dir, err := install()
	if err != nil {
		t.Fatalf("installing the pinned Node.js clients: %v", err)
	}
	return dir
}

// install makes the shared installation if it is not there yet.
func install() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(append(append([]byte{}, manifest...), lock...))
	root := filepath.Join(cache, "airlock-test-npm")
	dir := filepath.Join(root, hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	// One installer at a time across processes: go test runs packages in
	// parallel, each may ask.
	f, err := os.OpenFile(filepath.Join(root, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(root, "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for name, b := range map[string][]byte{"package.json": manifest, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return "", err
		}
	}
	var out []byte
	for attempt := 0; attempt < 3; attempt++ { // a registry hiccup is not a test failure
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--silent")
		cmd.Dir = tmp
		if out, err = cmd.CombinedOutput(); err == nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 2 * time.Second)
	}
	if err != nil {
		return "", fmt.Errorf("npm ci: %w\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(dir) // an incomplete earlier attempt
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}
