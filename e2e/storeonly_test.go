package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
)

// TestStoreOnlyCommandsNeedOnlyTheStore: `audit verify --config` and the
// break-glass `tokens issue --config` read the store alone, so they work
// where the database passwords' environment variables are not set (an
// operator's shell, a recovery host).
func TestStoreOnlyCommandsNeedOnlyTheStore(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
	c.Exec(ctx, "SELECT 1")
	c.Close(ctx)
	cfg := filepath.Join(a.Dir, "airlock.yaml")
	// While a gateway runs on the store, break-glass refuses (it could not
	// record the token's event) and says what to do instead.
	if out := run(t, 30*time.Second, "", nil, "sh", "-c", fmt.Sprintf("%s tokens issue --config %s --user alice --ttl 10m 2>&1; echo exit=$?", airlockBin, cfg)); strings.Contains(out, "exit=0") || !strings.Contains(out, "no gateway runs on this store") {
		t.Errorf("break-glass while the gateway runs: %s", out)
	}
	a.Shutdown(ctx, time.Second)

	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.ReplaceAll(string(b), "password: "+a.UpstreamPassword, "password_env: AIRLOCK_E2E_NEVER_SET")
	if !strings.Contains(yaml, "password_env: AIRLOCK_E2E_NEVER_SET") {
		t.Fatalf("no password to replace in\n%s", yaml)
	}
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := func(args string) string {
		return run(t, 30*time.Second, "", nil, "sh", "-c", fmt.Sprintf("unset AIRLOCK_E2E_NEVER_SET; %s %s; echo exit=$?", airlockBin, args))
	}
	// serve still needs them: it connects upstream.
	if out := sh("config check --config " + cfg + " 2>&1 || " + airlockBin + " serve --config " + cfg + " 2>&1 | head -3"); !strings.Contains(out, "AIRLOCK_E2E_NEVER_SET is not set") {
		t.Errorf("serve without the password's variable: %s", out)
	}
	if out := sh("audit verify --config " + cfg); !strings.Contains(out, "ok:") || !strings.Contains(out, "exit=0") {
		t.Errorf("audit verify --config: %s", out)
	}
	out := sh("tokens issue --config " + cfg + " --user alice --ttl 10m")
	if !strings.Contains(out, "exit=0") || !strings.HasPrefix(out, "alk_") {
		t.Errorf("tokens issue --config: %s", out)
	}
}
