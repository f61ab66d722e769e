package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestQuickstartTour runs `examples/quickstart.sh tour` as a newcomer would
// (on ports and in a directory of its own): read, denial, request, approval,
// the write in the same session, its undo, audit verify, the store-only
// commands. The script checks each step and exits non-zero when one does
// not behave as the README says. Then every file it wrote that holds a
// token or a password is private to its owner.
func TestQuickstartTour(t *testing.T) {
	dir := t.TempDir()
	env := []string{"QUICKSTART_DIR=" + dir}
	for _, name := range []string{"QUICKSTART_PG_PORT", "QUICKSTART_MYSQL_PORT", "QUICKSTART_HTTP_PORT"} {
		env = append(env, name+"="+strconv.Itoa(freePort(t)))
	}
	script := filepath.Join("..", "examples", "quickstart.sh")
	t.Cleanup(func() { run(t, time.Minute, "", env, "bash", script, "stop") })
	out := run(t, 5*time.Minute, "", env, "bash", "-c", script+" tour; echo exit=$?")
	t.Logf("%s", out)
	if !strings.Contains(out, "The tour passed.") || !strings.HasSuffix(out, "exit=0\n") || strings.Contains(out, "FAILED") {
		t.Fatal("the quickstart tour did not pass")
	}
	for _, step := range []string{"denied with airlock's rule", "the write ran in the session that was denied before", "customer 1 is back", "audit verify --config"} {
		if !strings.Contains(out, "ok: "+step) {
			t.Errorf("the tour did not check %q", step)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	secrets := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		holds := strings.Contains(string(b), "alk_") || strings.HasSuffix(e.Name(), ".pw")
		if holds {
			secrets++
		}
		if holds && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s holds a secret and is mode %v", e.Name(), info.Mode().Perm())
		}
	}
	if secrets < 5 { // admin, alice and bob tokens; three upstream passwords
		t.Errorf("found %d files holding secrets in %s, expected the tokens and passwords", secrets, dir)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
