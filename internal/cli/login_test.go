package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"airlock/internal/cli"
	"airlock/internal/testenv"
)

func TestLogin(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	run := func(dir string, args ...string) (int, string) {
		var out, errb buf
		app := &cli.App{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			if k == "XDG_CONFIG_HOME" {
				return dir
			}
			return ""
		}}
		return cli.Execute(app, args), errb.String()
	}

	t.Run("with a token", func(t *testing.T) {
		dir := t.TempDir()
		token := a.Token("alice", 0)
		code, errs := run(dir, "login", "--server", a.HTTPURL(), "--token", token)
		if code != 0 || !strings.Contains(errs, "as alice") {
			t.Fatalf("exit %d: %s", code, errs)
		}
		b, err := os.ReadFile(filepath.Join(dir, "airlock", "login.json"))
		if err != nil {
			t.Fatal(err)
		}
		var saved struct{ Server, Token string }
		json.Unmarshal(b, &saved)
		if saved.Server != a.HTTPURL() || saved.Token != token {
			t.Fatalf("saved %+v", saved)
		}
		if st, _ := os.Stat(filepath.Join(dir, "airlock", "login.json")); st.Mode().Perm() != 0o600 {
			t.Fatalf("login.json mode %v", st.Mode())
		}
		if code, errs := run(dir, "whoami"); code != 0 {
			t.Fatalf("whoami with the saved login: %d %s", code, errs)
		}
	})

	t.Run("no identity provider configured", func(t *testing.T) {
		code, errs := run(t.TempDir(), "login", "--server", a.HTTPURL())
		if code == 0 || !strings.Contains(errs, "has no identity provider sign-in configured") {
			t.Fatalf("exit %d: %s", code, errs)
		}
		code, errs = run(t.TempDir(), "login", "--device", "--server", a.HTTPURL())
		if code == 0 || !strings.Contains(errs, "has no identity provider sign-in configured") {
			t.Fatalf("device: exit %d: %s", code, errs)
		}
	})
}
